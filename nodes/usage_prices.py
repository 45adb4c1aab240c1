"""What a model call costs: a price table keyed by model spec or model name.

Prices are US dollars per million tokens, input and output apart. `DEFAULT_PRICES` is a
**snapshot** of OpenAI's list prices for a few common models (taken in 2025; prices change,
so it may be stale): an operator sets the real ones with ``AGENT_PATTERNS_MODEL_PRICES``,
either JSON or the path of a JSON file, mapping a model to its prices::

    {"gpt-4o-mini": {"input": 0.15, "output": 0.60}, "openai:my-tune": {"input": 1, "output": 2}}

Those entries replace or extend the defaults. A model is looked up by its exact name or spec
(``"openai:gpt-4o"``), then without its ``provider:`` prefix, then without a date suffix
(``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``). A model found nowhere has no price:
`price_for` returns None and its calls are recorded with cost None (unknown), never 0.

Example:
    >>> call_cost(price_for("openai:gpt-4o-mini-2024-07-18"), 1_000_000, 1_000)
    0.1506
    >>> price_for("my-local-llama") is None
    True
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_PRICES",
    "PRICES_ENV",
    "ModelPrice",
    "PriceTableError",
    "call_cost",
    "price_for",
    "price_table",
]

PRICES_ENV = "AGENT_PATTERNS_MODEL_PRICES"
"""The operator's price table: JSON, or the path of a JSON file (see the module docs)."""


@dataclass(frozen=True)
class ModelPrice:
    """A model's list price in US dollars per million tokens."""

    input: float
    output: float


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "o1": ModelPrice(15.00, 60.00),
    "o3": ModelPrice(2.00, 8.00),
    "o3-mini": ModelPrice(1.10, 4.40),
    "o4-mini": ModelPrice(1.10, 4.40),
}
"""A 2025 snapshot of OpenAI list prices (USD per 1M tokens); may be stale, override it."""

_DATE_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


class PriceTableError(ValueError):
    """``AGENT_PATTERNS_MODEL_PRICES`` is not a valid price table."""


def _price(model: str, value: Any) -> ModelPrice:
    if not isinstance(value, dict) or set(value) != {"input", "output"}:
        raise PriceTableError(
            f'{PRICES_ENV}: the price of {model!r} must be {{"input": <USD per 1M tokens>, '
            f'"output": <USD per 1M tokens>}}, got {value!r}'
        )
    for side in ("input", "output"):
        number = value[side]
        valid = isinstance(number, int | float) and not isinstance(number, bool)
        if not valid or not math.isfinite(number) or number < 0:
            raise PriceTableError(
                f"{PRICES_ENV}: the {side} price of {model!r} must be a number >= 0 "
                f"(USD per 1M tokens), got {number!r}"
            )
    return ModelPrice(float(value["input"]), float(value["output"]))


@functools.lru_cache(maxsize=8)
def _parse(raw: str) -> dict[str, ModelPrice]:
    text = raw.strip()
    if not text.startswith(("{", "[")):
        path = Path(text).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PriceTableError(
                f"{PRICES_ENV} is neither JSON nor a readable file: {raw!r} ({exc.strerror})"
            ) from None
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PriceTableError(f"{PRICES_ENV} is not valid JSON: {exc}") from None
    if not isinstance(table, dict):
        raise PriceTableError(
            f"{PRICES_ENV} must be a JSON object mapping model to prices, got "
            f"{type(table).__name__}"
        )
    return {str(model): _price(str(model), value) for model, value in table.items()}


def price_table() -> dict[str, ModelPrice]:
    """The prices in force: the defaults, with the operator's table over them.

    Raises:
        PriceTableError: ``AGENT_PATTERNS_MODEL_PRICES`` is set but not a valid table.
    """
    raw = os.environ.get(PRICES_ENV, "")
    if not raw.strip():
        return DEFAULT_PRICES
    return {**DEFAULT_PRICES, **_parse(raw)}


def price_for(model: str) -> ModelPrice | None:
    """The price of `model` (a spec or a name), or None when it has none (see module docs).

    Raises:
        PriceTableError: ``AGENT_PATTERNS_MODEL_PRICES`` is set but not a valid table.
    """
    table = price_table()
    bare = model.split(":", 1)[1] if ":" in model else model
    for name in (model, bare, _DATE_SUFFIX.sub("", model), _DATE_SUFFIX.sub("", bare)):
        if name in table:
            return table[name]
    return None


def call_cost(price: ModelPrice | None, input_tokens: int, output_tokens: int) -> float | None:
    """A call's cost in US dollars, or None when the model has no price."""
    if price is None:
        return None
    cost = (input_tokens * price.input + output_tokens * price.output) / 1_000_000
    return round(cost, 9)
