"""Token and cost totals in state: the ``usage`` field every pattern's state has.

`nodes.ask.invoke_model` adds one `UsageTotals` per model call to the ``usage`` channel of the
graph that made the call; `add_usage` sums them, so ``state["usage"]`` holds the thread's
totals (every run of the thread, the calls of the graph's own nodes). The value is a plain,
JSON-safe dict.

``cost_usd`` is the sum over the calls whose model has a price (see `nodes.usage_prices`);
``unpriced_calls`` counts the others, whose cost is unknown. So ``cost_usd`` is None while no
call was priced, and a lower bound whenever ``unpriced_calls`` is above zero: never a made-up 0.

Example:
    >>> one = usage_delta(input_tokens=10, output_tokens=5, cost_usd=0.001)
    >>> add_usage(add_usage({}, one), usage_delta(input_tokens=1, output_tokens=1))
    {'calls': 2, 'input_tokens': 11, 'output_tokens': 6, 'total_tokens': 17, 'cost_usd': 0.001, 'unpriced_calls': 1}
"""  # noqa: E501

from __future__ import annotations

from typing_extensions import TypedDict

__all__ = ["UsageTotals", "add_usage", "usage_delta"]

_COST_DIGITS = 9
"""Costs are rounded to a billionth of a dollar, so float sums stay readable."""


class UsageTotals(TypedDict, total=False):
    """Totals of some model calls (one call, a thread, a run).

    Attributes:
        calls: how many model calls.
        input_tokens: prompt tokens, as the provider reported (or the offline estimate).
        output_tokens: completion tokens.
        total_tokens: as the provider reported (usually input + output).
        cost_usd: the cost of the priced calls in US dollars; None when none was priced.
        unpriced_calls: calls whose model has no price (their cost is unknown).
    """

    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float | None
    unpriced_calls: int


def usage_delta(
    *,
    input_tokens: int,
    output_tokens: int,
    total_tokens: int | None = None,
    cost_usd: float | None = None,
) -> UsageTotals:
    """The totals of one model call (what `invoke_model` writes to state).

    Args:
        input_tokens: prompt tokens.
        output_tokens: completion tokens.
        total_tokens: the provider's total; None adds input and output.
        cost_usd: the call's cost; None when its model has no price.
    """
    total = input_tokens + output_tokens if total_tokens is None else total_tokens
    return {
        "calls": 1,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total,
        "cost_usd": None if cost_usd is None else round(cost_usd, _COST_DIGITS),
        "unpriced_calls": 0 if cost_usd is not None else 1,
    }


def add_usage(left: UsageTotals | None, right: UsageTotals | None) -> UsageTotals:
    """The reducer of ``usage``: add two totals (a missing or empty side counts as zero).

    Args:
        left: the totals so far.
        right: the totals to add (usually one call's).
    """
    left, right = left or {}, right or {}
    costs = [c for c in (left.get("cost_usd"), right.get("cost_usd")) if c is not None]
    summed: UsageTotals = {
        "calls": left.get("calls", 0) + right.get("calls", 0),
        "input_tokens": left.get("input_tokens", 0) + right.get("input_tokens", 0),
        "output_tokens": left.get("output_tokens", 0) + right.get("output_tokens", 0),
        "total_tokens": left.get("total_tokens", 0) + right.get("total_tokens", 0),
        "cost_usd": round(sum(costs), _COST_DIGITS) if costs else None,
        "unpriced_calls": left.get("unpriced_calls", 0) + right.get("unpriced_calls", 0),
    }
    return summed
