"""Which failures are worth retrying, and the retry policies the patterns' nodes carry."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from langgraph.types import RetryPolicy

__all__ = ["MODEL_RETRY", "TRANSIENT_RETRY", "call_with_retries", "is_transient_error"]

T = TypeVar("T")

_TRANSIENT_NAMES = frozenset(
    {
        # openai SDK (langchain-openai): network trouble, timeouts, throttling, 5xx
        "APIConnectionError",
        "APITimeoutError",
        "RateLimitError",
        "InternalServerError",
        "ServiceUnavailableError",
        # httpx transport errors
        "ConnectError",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "RemoteProtocolError",
    }
)


def is_transient_error(exc: BaseException) -> bool:
    """True for failures a retry can cure: network errors, timeouts, throttling, 5xx.

    Programming errors, bad requests (4xx other than 429), authentication and validation errors
    are not retried: they would fail the same way again.
    """
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__):
        return True
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return isinstance(status, int) and (status == 429 or 500 <= status < 600)


TRANSIENT_RETRY = RetryPolicy(
    max_attempts=3,
    initial_interval=0.5,
    backoff_factor=2.0,
    max_interval=10.0,
    retry_on=is_transient_error,
)
"""Nodes that call a model or a store: three attempts with backoff, transient errors only."""

MODEL_RETRY = TRANSIENT_RETRY
"""The policy model nodes carry (`TRANSIENT_RETRY`)."""


def call_with_retries(
    func: Callable[[], T],
    *,
    attempts: int = 3,
    initial_interval: float = 0.2,
    backoff_factor: float = 2.0,
    retry_on: Callable[[BaseException], bool] = is_transient_error,
) -> T:
    """Call `func`, retrying transient failures with exponential backoff."""
    delay = initial_interval
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except Exception as exc:
            if attempt == attempts or not retry_on(exc):
                raise
            time.sleep(delay)
            delay *= backoff_factor
    raise AssertionError("unreachable")
