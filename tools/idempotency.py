"""The idempotency key of the side-effecting call being executed.

The tool node (`nodes.tool_execution`) sets it around each side-effecting call: the thread id
and the call's unique id. A tool declared ``idempotent`` passes it to the system it calls (as
a payment API's idempotency key), so a call replayed after a crash returns the first result
instead of acting twice.

Example:
    >>> with using_idempotency_key("thread-1:call-7"):
    ...     idempotency_key()
    'thread-1:call-7'
    >>> idempotency_key() is None
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["idempotency_key", "using_idempotency_key"]

_current_key: ContextVar[str | None] = ContextVar("idempotency_key", default=None)


def idempotency_key() -> str | None:
    """The key of the side-effecting call being executed, if the tool node set one."""
    return _current_key.get()


@contextmanager
def using_idempotency_key(key: str) -> Iterator[None]:
    """Run a block with `idempotency_key()` returning `key`."""
    token = _current_key.set(key)
    try:
        yield
    finally:
        _current_key.reset(token)
