"""Compensations: how a side-effecting tool's effect is undone, declared next to the tool.

A saga (`nodes.saga`) undoes the effects a failed run already had, newest first. What undoing
means is the tool's business, so the tool says it where it declares its side effects::

    @agent_tool(args_schema=ReverseArgs, side_effects=True, idempotent=True)
    def reverse_refund(refund_id: str, order_id: str, reason: str) -> dict: ...

    @agent_tool(
        args_schema=RefundArgs,
        side_effects=True,
        compensation=Compensation(
            reverse_refund,
            lambda args, result: {
                "refund_id": result["refund_id"],
                "order_id": args["order_id"],
                "reason": "compensation",
            },
        ),
    )
    def issue_refund(order_id: str, amount: float, reason: str) -> dict: ...

The compensating call is an ordinary tool call: it passes the approval gate under the run's
approval policy, and the tool node runs it exactly once through the effect ledger. Its
arguments are computed from the original call's arguments and its recorded result (the
ledger's, parsed as JSON when it is JSON), never from anything a client wrote into state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool

__all__ = ["COMPENSATION_KEY", "Compensation", "compensation_of", "with_compensation"]

COMPENSATION_KEY = "compensation"
"""The tool metadata key holding its `Compensation`."""

CompensationArgs = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]
"""``(original call's args, its result) -> the compensating call's args``."""


@dataclass(frozen=True)
class Compensation:
    """How to undo one effect of a tool.

    Attributes:
        tool: the compensating tool (it has side effects of its own: it passes the gate).
        args: builds the compensating call's arguments from the original call's arguments
            and its result (a dict when the tool returned JSON, else the result's text).
        description: what undoing means, for the saga's report (default: the tool's name).
    """

    tool: BaseTool
    args: CompensationArgs
    description: str = ""

    def call_args(self, args: Mapping[str, Any], result_text: str | None) -> dict[str, Any]:
        """The compensating call's arguments for an effect with this recorded result.

        Raises:
            ValueError: the declared builder failed or returned something that is not a
                mapping (the saga reports the effect as not undone, with this reason).
        """
        result: Any = result_text
        if result_text:
            try:
                result = json.loads(result_text)
            except ValueError:
                result = result_text
        try:
            built = self.args(dict(args), result)
        except Exception as exc:  # noqa: BLE001 - a declaration's bug is reported, not raised
            raise ValueError(f"the compensation of this call could not be built: {exc}") from exc
        if not isinstance(built, Mapping):
            raise ValueError(f"the compensation builder returned {type(built).__name__}")
        return dict(built)


def compensation_of(tool: BaseTool | None) -> Compensation | None:
    """The compensation a tool declares, or None."""
    if tool is None:
        return None
    found = (tool.metadata or {}).get(COMPENSATION_KEY)
    return found if isinstance(found, Compensation) else None


def with_compensation(tool: BaseTool, compensation: Compensation) -> BaseTool:
    """A copy of a side-effecting tool that declares `compensation` (for tools not made here).

    Raises:
        ValueError: the tool declares no side effects (nothing to undo).
    """
    metadata = dict(tool.metadata or {})
    if metadata.get("side_effects") is False:
        raise ValueError(f"{tool.name} has no side effects, so there is nothing to compensate")
    return tool.model_copy(update={"metadata": {**metadata, COMPENSATION_KEY: compensation}})
