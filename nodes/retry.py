"""Retrying retriable failures: `call_with_retry`, its delays, and the nodes' retry policies.

Which failures are worth retrying is decided in one place, `nodes.error_classes.classify`
(``"retriable"``: timeouts, rate limits, 5xx, connection resets). How often and how long to
wait comes from a `nodes.controls.RetrySettings` (per tool, per model role), never from code:
`retry_delay_s` computes the n-th wait (exponential backoff with jitter, the provider's
``Retry-After`` when longer) and `call_with_retry` runs a call under those settings. Both the
tool node and the model-call path use them.

Example:
    >>> from nodes.controls import RetrySettings
    >>> settings = RetrySettings(initial_delay_s=1.0, multiplier=2.0, jitter=0.0)
    >>> [retry_delay_s(settings, n, TimeoutError(), rng=lambda: 0.5) for n in (1, 2, 3)]
    [1.0, 2.0, 4.0]
    >>> waits = []
    >>> def flaky(state={"n": 0}):
    ...     state["n"] += 1
    ...     if state["n"] < 3:
    ...         raise TimeoutError("slow")
    ...     return "ok"
    >>> call_with_retry(flaky, settings, sleep=waits.append)
    'ok'
    >>> waits
    [1.0, 2.0]
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from langgraph.types import RetryPolicy

from nodes.controls import RetrySettings
from nodes.error_classes import ErrorClass, classify, retry_after_s

__all__ = [
    "MODEL_RETRY",
    "TRANSIENT_RETRY",
    "call_with_retries",
    "call_with_retry",
    "is_transient_error",
    "retry_delay_s",
]

T = TypeVar("T")

OnRetry = Callable[[int, BaseException, float], None]
"""Called before each retry's wait: ``(retry_number, the failure, seconds to wait)``."""


def is_transient_error(exc: BaseException) -> bool:
    """True for failures a retry can cure (`classify` says ``"retriable"``).

    Programming errors, invalid arguments, authentication and permission errors are not
    retried: they would fail the same way again.
    """
    return classify(exc) == "retriable"


TRANSIENT_RETRY = RetryPolicy(
    max_attempts=3,
    initial_interval=0.5,
    backoff_factor=2.0,
    max_interval=10.0,
    retry_on=is_transient_error,
)
"""Nodes that call a model or a store: three attempts with backoff, retriable errors only."""

MODEL_RETRY = TRANSIENT_RETRY
"""The policy model nodes carry (`TRANSIENT_RETRY`)."""


def retry_delay_s(
    settings: RetrySettings,
    retry_number: int,
    exc: BaseException | None = None,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retry number `retry_number` (1 is the first retry).

    The computed wait is ``min(max_delay_s, initial_delay_s * multiplier ** (n - 1))``
    spread by ``jitter`` (``rng()`` in ``[0, 1)`` maps to ``[1 - jitter, 1 + jitter)``). A
    ``Retry-After`` the failure carries (`nodes.error_classes.retry_after_s`) wins when it
    is longer.

    Args:
        settings: the retry settings.
        retry_number: which retry this is, from 1.
        exc: the failure being retried (read for ``Retry-After``), if any.
        rng: the source of jitter.

    Returns:
        The wait in seconds, or None when the provider asked for a wait longer than
        ``max_retry_after_s``: give up retrying now.
    """
    if retry_number < 1:
        raise ValueError(f"retry_number counts from 1, got {retry_number}")
    base = min(
        settings.max_delay_s, settings.initial_delay_s * settings.multiplier ** (retry_number - 1)
    )
    delay = max(base * (1.0 - settings.jitter + 2.0 * settings.jitter * rng()), 0.0)
    asked = retry_after_s(exc) if exc is not None else None
    if asked is None:
        return delay
    if asked > settings.max_retry_after_s:
        return None
    return max(delay, asked)


def call_with_retry(
    func: Callable[[], T],
    settings: RetrySettings,
    *,
    classify: Callable[[BaseException], ErrorClass] = classify,
    sleep: Callable[[float], object] = time.sleep,
    rng: Callable[[], float] = random.random,
    on_retry: OnRetry | None = None,
) -> T:
    """Call `func`, retrying its retriable failures as `settings` say.

    Only a failure `classify` calls ``"retriable"`` is retried, at most
    ``settings.max_attempts`` attempts in all; the last failure (or the first that is not
    retriable, or one whose ``Retry-After`` is too long to wait for) is raised.

    Args:
        func: the call (no arguments).
        settings: attempts and waits.
        classify: the error classifier (default: `nodes.error_classes.classify`).
        sleep: how to wait (tests pass a recorder).
        rng: the source of jitter.
        on_retry: called before each wait with the retry number, the failure and the wait.

    Returns:
        What `func` returned.
    """
    for attempt in range(1, settings.max_attempts + 1):
        try:
            return func()
        except Exception as exc:
            if attempt == settings.max_attempts or classify(exc) != "retriable":
                raise
            delay = retry_delay_s(settings, attempt, exc, rng)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable: max_attempts is at least 1")


def call_with_retries(
    func: Callable[[], T],
    *,
    attempts: int = 3,
    initial_interval: float = 0.2,
    backoff_factor: float = 2.0,
    retry_on: Callable[[BaseException], bool] = is_transient_error,
) -> T:
    """Call `func`, retrying failures `retry_on` accepts (kept for existing callers).

    New code passes a `RetrySettings` to `call_with_retry` instead.
    """
    settings = RetrySettings(
        max_attempts=attempts,
        initial_delay_s=initial_interval,
        multiplier=backoff_factor,
        max_delay_s=max(initial_interval * backoff_factor ** max(attempts - 1, 0), 0.0),
        jitter=0.0,
    )
    return call_with_retry(
        func, settings, classify=lambda exc: "retriable" if retry_on(exc) else "terminal"
    )
