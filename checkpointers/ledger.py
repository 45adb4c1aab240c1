"""The effect ledger: exactly-once bookkeeping for side-effecting tool calls.

Checkpoints make a graph resume from its last completed step, but a step that was cut short is
run again, and a tool inside it would act twice. The ledger prevents that. The tool node writes
an entry keyed by ``(thread_id, tool_call_id)`` before a side-effecting tool runs and stores the
result after it; on replay (resume, retry, crash recovery, a fork from an old checkpoint):

- a **completed** entry: the tool is not run; its recorded result is returned;
- a **started** entry (the process died inside the tool): a tool that declares it is
  *idempotent* (it passes `tools.effects.idempotency_key()` to the system it calls, which
  de-duplicates) runs again with the same key, so the effect still happens once; any other
  tool is **not** run again and the model is told the outcome is unknown, so a person can
  reconcile it: at most once, never twice.

What is guaranteed: no second effect for the same tool call id in the same thread, given the
tool is idempotent or the ledger shows it started. Not guaranteed: a non-idempotent tool whose
process died mid-call may or may not have acted (the ledger marks it ``unknown``); a new tool
call (a new id, e.g. the model asking again in a later turn) is a new effect.

The ledger lives in Postgres (table ``agent_patterns_effect_ledger``) when the checkpointer is
Postgres, so it survives the process; in memory otherwise.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = [
    "EffectLedger",
    "InMemoryLedger",
    "LedgerEntry",
    "LedgerStatus",
    "PostgresLedger",
    "default_ledger",
]

LedgerStatus = Literal["started", "completed", "unknown"]
TABLE = "agent_patterns_effect_ledger"


@dataclass(frozen=True)
class LedgerEntry:
    """One side-effecting tool call and what became of it."""

    thread_id: str
    tool_call_id: str
    tool: str
    args: dict[str, Any]
    status: LedgerStatus
    attempts: int
    started_at: str
    result: str | None = None
    result_status: str | None = None
    completed_at: str | None = None


class EffectLedger(Protocol):
    """Where side-effecting calls are recorded (see the module docs)."""

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt; returns the entry with the attempt counted (1 on first sight)."""

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome of the attempt."""

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class InMemoryLedger:
    """A ledger in this process's memory, for in-memory and SQLite checkpointers."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], LedgerEntry] = {}
        self._lock = threading.Lock()

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt (see `EffectLedger.begin`)."""
        with self._lock:
            key = (thread_id, tool_call_id)
            entry = self._entries.get(key)
            if entry is None:
                entry = LedgerEntry(thread_id, tool_call_id, tool, dict(args), "started", 1, _now())
            elif entry.status == "started":
                entry = replace(entry, attempts=entry.attempts + 1)
            self._entries[key] = entry
            return entry

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome (see `EffectLedger.finish`)."""
        with self._lock:
            key = (thread_id, tool_call_id)
            self._entries[key] = replace(
                self._entries[key],
                status=status,
                result=result,
                result_status=result_status,
                completed_at=_now(),
            )

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""
        with self._lock:
            found = [e for e in self._entries.values() if thread_id in (None, e.thread_id)]
        return sorted(found, key=lambda e: e.started_at)


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    thread_id     text        NOT NULL,
    tool_call_id  text        NOT NULL,
    tool          text        NOT NULL,
    args          jsonb       NOT NULL,
    status        text        NOT NULL,
    attempts      integer     NOT NULL DEFAULT 1,
    started_at    timestamptz NOT NULL DEFAULT now(),
    result        text,
    result_status text,
    completed_at  timestamptz,
    PRIMARY KEY (thread_id, tool_call_id)
)
"""
_BEGIN = f"""
INSERT INTO {TABLE} (thread_id, tool_call_id, tool, args, status)
VALUES (%s, %s, %s, %s, 'started')
ON CONFLICT (thread_id, tool_call_id) DO UPDATE
   SET attempts = {TABLE}.attempts + CASE WHEN {TABLE}.status = 'started' THEN 1 ELSE 0 END
RETURNING *
"""
_FINISH = f"""
UPDATE {TABLE} SET status = %s, result = %s, result_status = %s, completed_at = now()
 WHERE thread_id = %s AND tool_call_id = %s
"""


def _entry(row: dict[str, Any]) -> LedgerEntry:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return LedgerEntry(
        thread_id=row["thread_id"],
        tool_call_id=row["tool_call_id"],
        tool=row["tool"],
        args=row["args"] if isinstance(row["args"], dict) else json.loads(row["args"]),
        status=row["status"],
        attempts=row["attempts"],
        started_at=iso(row["started_at"]) or "",
        result=row["result"],
        result_status=row["result_status"],
        completed_at=iso(row["completed_at"]),
    )


class PostgresLedger:
    """A ledger table in Postgres, next to the checkpoints; every write commits at once.

    Args:
        conninfo: a ``postgresql://`` URL; the ledger opens a small pool of its own.
        pool: or an existing psycopg `ConnectionPool` (e.g. the sync Postgres saver's).
    """

    def __init__(self, conninfo: str | None = None, *, pool: Any = None) -> None:
        if (conninfo is None) == (pool is None):
            raise ValueError("PostgresLedger needs exactly one of conninfo or pool")
        self._conninfo = conninfo
        self._pool = pool
        self._own_pool: Any = None
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        from psycopg.rows import dict_row

        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                self._own_pool = ConnectionPool(
                    self._conninfo or "",
                    min_size=1,
                    max_size=4,
                    kwargs={"autocommit": True, "row_factory": dict_row},
                    open=True,
                )
                self._pool = self._own_pool
        with self._pool.connection() as conn:
            conn.autocommit = True
            conn.row_factory = dict_row
            if not self._ready:
                _setup(conn)
                self._ready = True
            yield conn

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt (see `EffectLedger.begin`)."""
        with self._connection() as conn:
            row = conn.execute(_BEGIN, (thread_id, tool_call_id, tool, json.dumps(args))).fetchone()
        return _entry(row)

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome (see `EffectLedger.finish`)."""
        with self._connection() as conn:
            conn.execute(_FINISH, (status, result, result_status, thread_id, tool_call_id))

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""
        query = f"SELECT * FROM {TABLE}"
        params: tuple[str, ...] = ()
        if thread_id is not None:
            query += " WHERE thread_id = %s"
            params = (thread_id,)
        with self._connection() as conn:
            rows = conn.execute(query + " ORDER BY started_at, tool_call_id", params).fetchall()
        return [_entry(row) for row in rows]

    def close(self) -> None:
        """Close the pool the ledger opened itself (not a pool it was given)."""
        if self._own_pool is not None:
            self._own_pool.close()


_LOCK_KEY = 0x6C65_6467_6572  # "ledger"


def _setup(conn: Any) -> None:
    """Create the table; concurrent processes take turns (polled advisory lock)."""
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (_LOCK_KEY,)).fetchone()["ok"]:
        time.sleep(0.05)
    try:
        conn.execute(_SCHEMA)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


_saver_ledgers: weakref.WeakKeyDictionary[BaseCheckpointSaver, InMemoryLedger] = (
    weakref.WeakKeyDictionary()
)
_url_ledgers: dict[str, PostgresLedger] = {}


def default_ledger(checkpointer: BaseCheckpointSaver | None) -> EffectLedger:
    """The ledger that goes with a checkpointer.

    - a sync Postgres saver: a ledger on the saver's own pool (or its connection's URL);
    - an async Postgres saver: a ledger on the same database, with a small sync pool;
    - no checkpointer but ``DATABASE_URL`` set to Postgres (how `langgraph dev` and the
      server hook in `server/checkpointer.py` are configured): that database;
    - any other saver: an in-memory ledger for that saver (graphs built on the same saver
      share it); no saver at all: a new in-memory ledger.
    """
    kind = type(checkpointer).__name__ if checkpointer is not None else ""
    conn = getattr(checkpointer, "conn", None)
    if kind == "PostgresSaver" and hasattr(conn, "connection"):
        return PostgresLedger(pool=conn)
    url: str | None = None
    if kind in ("PostgresSaver", "AsyncPostgresSaver") and conn is not None:
        url = getattr(conn, "conninfo", None) or conn.info.dsn
    elif checkpointer is None:
        env_url = os.environ.get("DATABASE_URL", "")
        if env_url.startswith(("postgresql://", "postgres://")):
            url = env_url
    if url:
        if url not in _url_ledgers:
            _url_ledgers[url] = PostgresLedger(url)
        return _url_ledgers[url]
    if checkpointer is None:
        return InMemoryLedger()
    if checkpointer not in _saver_ledgers:
        _saver_ledgers[checkpointer] = InMemoryLedger()
    return _saver_ledgers[checkpointer]
