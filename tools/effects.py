"""Where the demo tools' side effects land, so runs (and tests) can see what really happened.

By default effects are kept in this process's memory. Set ``AGENT_PATTERNS_EFFECTS_LOG`` to a
file path to append them as JSON lines instead: that makes effects visible across processes,
which is how the crash-and-resume tests count that a refund was issued exactly once.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["EFFECTS_LOG_ENV", "clear_effects", "read_effects", "record_effect"]

EFFECTS_LOG_ENV = "AGENT_PATTERNS_EFFECTS_LOG"

_memory: list[dict[str, Any]] = []
_lock = threading.Lock()


def _log_path() -> Path | None:
    value = os.environ.get(EFFECTS_LOG_ENV)
    return Path(value) if value else None


def record_effect(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Record one side effect and return the record.

    Args:
        kind: what happened, e.g. ``"refund"``.
        payload: the effect's details (JSON-serialisable).

    Returns:
        The record as stored: ``{"kind", "at", **payload}``.
    """
    record = {"kind": kind, "at": datetime.now(UTC).isoformat(), **payload}
    path = _log_path()
    with _lock:
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
    path = _log_path()
    with _lock:
        if path is None:
            records = list(_memory)
        elif path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            records = [json.loads(line) for line in lines if line.strip()]
        else:
            records = []
    return [r for r in records if kind is None or r["kind"] == kind]


def clear_effects() -> None:
    """Forget every recorded effect (tests and demos start clean)."""
    path = _log_path()
    with _lock:
        _memory.clear()
        if path is not None and path.exists():
            path.unlink()
