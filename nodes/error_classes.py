"""What a failed model or tool call is, in one place: `classify`.

Four classes decide what happens next (the model path: `nodes.model_chain`; the tool path:
`nodes.tool_execution`):

- ``retriable``: timeouts, rate limits (429), server errors (5xx), connection resets,
  malformed provider responses. Retried with exponential backoff and jitter, honouring the
  provider's ``Retry-After`` (`retry_after_s`); once the retries are spent the call is treated
  as ``fallback``.
- ``fixable``: the caller can correct it: invalid tool arguments, schema violations. Returned
  to the model with the error, a bounded number of times.
- ``fallback``: the model or tool is unavailable (an open circuit breaker, a model the
  provider cannot serve, a request it refuses as too large): the next entry of the fallback
  chain is tried.
- ``terminal``: retrying or switching cannot help (authentication, permission, not found):
  the run stops cleanly with a clear message.

An exception may declare its class with an ``error_class`` attribute (the framework's own
errors below do); otherwise the class follows from the HTTP status the exception carries
(``status_code``, or ``response.status_code``) and from its type.

Example:
    >>> classify(TimeoutError("read timed out"))
    'retriable'
    >>> classify(PermissionError("no access to /etc"))
    'terminal'
    >>> classify(CircuitOpenError("model:openai:gpt-4o", retry_in_s=12.0))
    'fallback'
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from typing import Literal

from pydantic import ValidationError

__all__ = [
    "ERROR_CLASSES",
    "CallError",
    "CircuitOpenError",
    "ErrorClass",
    "ModelTimeoutError",
    "classify",
    "describe_failure",
    "retry_after_s",
    "status_of",
]

ErrorClass = Literal["retriable", "fixable", "fallback", "terminal"]
ERROR_CLASSES: tuple[ErrorClass, ...] = ("retriable", "fixable", "fallback", "terminal")


class CallError(Exception):
    """A failure the framework raises itself, with its class declared."""

    error_class: ErrorClass = "terminal"


class ModelTimeoutError(CallError, TimeoutError):
    """A model call outlived its timeout (`nodes.controls.Controls.model_timeout_s`)."""

    error_class: ErrorClass = "retriable"


class CircuitOpenError(CallError):
    """A call refused without being made: its circuit breaker is open (fails fast).

    Attributes:
        key: the breaker (``"model:<name>"`` or ``"tool:<name>"``).
        retry_in_s: seconds until the breaker lets a probe call through.
    """

    error_class: ErrorClass = "fallback"

    def __init__(self, key: str, *, retry_in_s: float) -> None:
        super().__init__(f"circuit breaker {key} is open (probe in {max(retry_in_s, 0):.0f} s)")
        self.key = key
        self.retry_in_s = retry_in_s


_RETRIABLE_NAMES = frozenset(
    {
        # openai SDK (langchain-openai): network trouble, timeouts, throttling, 5xx, bad bodies
        "APIConnectionError",
        "APITimeoutError",
        "RateLimitError",
        "InternalServerError",
        "ServiceUnavailableError",
        "APIResponseValidationError",
        # httpx transport errors
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "ReadError",
        "RemoteProtocolError",
    }
)
_TERMINAL_NAMES = frozenset({"AuthenticationError", "PermissionDeniedError", "NotFoundError"})
_FIXABLE_NAMES = frozenset({"ToolInvocationError", "ToolException", "OutputParserException"})


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (its own, or its response's), if any."""
    for holder in (exc, getattr(exc, "response", None)):
        status = getattr(holder, "status_code", None)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
    return None


def _class_by_status(status: int) -> ErrorClass | None:
    if status in (408, 409, 425, 429) or 500 <= status < 600:
        return "retriable"
    if status in (401, 403, 404):
        return "terminal"
    if status in (400, 413, 422):
        return "fallback"  # the request this model refuses another may accept
    return None


def classify(exc: BaseException) -> ErrorClass:
    """The class of a failed call's exception (see the module docs)."""
    declared = getattr(exc, "error_class", None)
    if declared in ERROR_CLASSES:
        return declared
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TERMINAL_NAMES:
        return "terminal"
    if names & _RETRIABLE_NAMES:
        return "retriable"
    status = status_of(exc)
    if status is not None:
        by_status = _class_by_status(status)
        if by_status is not None:
            return by_status
    if isinstance(exc, TimeoutError | ConnectionError | json.JSONDecodeError):
        return "retriable"
    if isinstance(exc, PermissionError):
        return "terminal"
    if isinstance(exc, ValidationError | TypeError) or names & _FIXABLE_NAMES:
        return "fixable"
    return "fallback"


def retry_after_s(exc: BaseException, *, now: float | None = None) -> float | None:
    """Seconds the provider asked to wait before retrying (``Retry-After``), if it said.

    Reads ``retry-after-ms`` and ``retry-after`` (seconds or an HTTP date) from the
    response headers of the exception.
    """
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(float(millis) / 1000.0, 0.0)
        raw = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(str(raw))
        except (TypeError, ValueError):
            return None
        seconds = parsed.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def describe_failure(exc: BaseException) -> str:
    """One line about a failure for state, the stream and messages (no stack, no secrets)."""
    status = status_of(exc)
    text = " ".join(str(exc).split())[:240] or type(exc).__name__
    prefix = f"{type(exc).__name__}" + (f" (HTTP {status})" if status is not None else "")
    return f"{prefix}: {text}" if text != type(exc).__name__ else prefix
