"""Small helpers the shared nodes use at their emission points (timing, error names).

They keep each emission point a line or two long and free when nobody listens
(`observability.events.sinks_active`).

Example:
    >>> started = clock()
    >>> elapsed(started) >= 0
    True
    >>> error_name(ValueError("x"))
    'ValueError'
"""

from __future__ import annotations

import time

__all__ = ["clock", "elapsed", "error_name"]


def clock() -> float:
    """A monotonic start time for `elapsed`."""
    return time.perf_counter()


def elapsed(started: float) -> float:
    """Seconds since `started` (a `clock` value), rounded to the microsecond."""
    return round(time.perf_counter() - started, 6)


def error_name(exc: BaseException | None) -> str | None:
    """The error's class name (never its message, which may hold personal data)."""
    return None if exc is None else type(exc).__name__
