"""Where the demo tools' side effects land, so runs (and tests) can see what really happened.

This plays the part of the outside systems (payment provider, ticket desk) the demo tools
call. By default effects are kept in this process's memory. Set ``AGENT_PATTERNS_EFFECTS_LOG``
to a file path to append them as JSON lines instead: that makes effects visible across
processes, which is how the crash tests count that a refund was issued exactly once.

Like a payment API's idempotency key, `record_effect` de-duplicates on `idempotency_key()`:
the tool node sets it (thread id and tool-call id) around each side-effecting call, so a call
replayed after a crash returns the first record instead of acting twice.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "EFFECTS_LOG_ENV",
    "clear_effects",
    "idempotency_key",
    "read_effects",
    "record_effect",
    "using_idempotency_key",
]

EFFECTS_LOG_ENV = "AGENT_PATTERNS_EFFECTS_LOG"

_memory: list[dict[str, Any]] = []
_lock = threading.Lock()
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


def _log_path() -> Path | None:
    value = os.environ.get(EFFECTS_LOG_ENV)
    return Path(value) if value else None


def record_effect(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Record one side effect and return the record.

    Args:
        kind: what happened, e.g. ``"refund"``.
        payload: the effect's details (JSON-serialisable).

    Returns:
        The record as stored: ``{"kind", "at", "key", **payload}``; when a record with the
        current `idempotency_key()` exists already, that record, and nothing is written.
    """
    key = idempotency_key()
    record = {"kind": kind, "at": datetime.now(UTC).isoformat(), "key": key, **payload}
    path = _log_path()
    with _lock:
        if key is not None:
            earlier = [r for r in _read_unlocked(path) if r.get("key") == key]
            if earlier:
                return earlier[0]
        if path is None:
            _memory.append(record)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    return record


def read_effects(kind: str | None = None) -> list[dict[str, Any]]:
    """Effects recorded so far (of one kind, if given), oldest first."""
    with _lock:
        records = _read_unlocked(_log_path())
    return [r for r in records if kind is None or r["kind"] == kind]


def _read_unlocked(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return list(_memory)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def clear_effects() -> None:
    """Forget every recorded effect (tests and demos start clean)."""
    path = _log_path()
    with _lock:
        _memory.clear()
        if path is not None and path.exists():
            path.unlink()
