"""The demo's outside systems: where the shop tools' side effects land, for runs and tests.

This plays the part of the outside systems (payment provider, ticket desk) the demo tools
call. By default effects are kept in this process's memory. Set ``AGENT_PATTERNS_EFFECTS_LOG``
to a file path to append them as JSON lines instead: that makes effects visible across
processes, which is how the crash tests count that a refund was issued exactly once.

Like a payment API's idempotency key, `record_effect` de-duplicates on `idempotency_key()`:
the tool node sets it (`tools.idempotency`: thread id and tool-call id) around each
side-effecting call, so a call replayed after a crash returns the first record instead of
acting twice.

Like a payment system's business rules, it can also refuse a second effect for the same
business key from *another* call (``unique_on``: one refund per order, whichever thread or
process asks): `DuplicateEffectError` carries the earlier record. Writers to one log file take
an exclusive file lock, so the check holds across processes too.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.idempotency import idempotency_key

__all__ = [
    "EFFECTS_LOG_ENV",
    "DuplicateEffectError",
    "clear_effects",
    "read_effects",
    "record_effect",
]

EFFECTS_LOG_ENV = "AGENT_PATTERNS_EFFECTS_LOG"

_memory: list[dict[str, Any]] = []
_lock = threading.Lock()


def _log_path() -> Path | None:
    value = os.environ.get(EFFECTS_LOG_ENV)
    return Path(value) if value else None


class DuplicateEffectError(RuntimeError):
    """A second effect for a business key that already has one (see `record_effect`).

    Attributes:
        earlier: the record of the first effect.
    """

    def __init__(self, kind: str, field: str, earlier: dict[str, Any]) -> None:
        super().__init__(f"a {kind} for {field} {earlier.get(field)!r} was already recorded")
        self.earlier = earlier


@contextmanager
def _exclusive(path: Path | None) -> Iterator[None]:
    """Hold this process's lock and, for a log file, an exclusive lock on it."""
    with _lock:
        if path is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def record_effect(
    kind: str, payload: dict[str, Any], *, unique_on: str | None = None
) -> dict[str, Any]:
    """Record one side effect and return the record.

    Args:
        kind: what happened, e.g. ``"refund"``.
        payload: the effect's details (JSON-serialisable).
        unique_on: a payload field that may have one effect of this kind only (e.g.
            ``"order_id"`` for refunds), whichever call asks.

    Returns:
        The record as stored: ``{"kind", "at", "key", **payload}``; when a record with the
        current `idempotency_key()` exists already, that record, and nothing is written.

    Raises:
        DuplicateEffectError: another call already recorded an effect of this kind for the
            same ``payload[unique_on]``.
    """
    key = idempotency_key()
    record = {"kind": kind, "at": datetime.now(UTC).isoformat(), "key": key, **payload}
    path = _log_path()
    with _exclusive(path):
        existing = _read_unlocked(path)
        if key is not None:
            earlier = [r for r in existing if r.get("key") == key]
            if earlier:
                return earlier[0]
        if unique_on is not None:
            clash = [
                r for r in existing if r["kind"] == kind and r.get(unique_on) == payload[unique_on]
            ]
            if clash:
                raise DuplicateEffectError(kind, unique_on, clash[0])
        if path is None:
            _memory.append(record)
        else:
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
