"""The ledger in SQLite: the same two records as in Postgres, in the checkpoints' own file.

A SQLite checkpointer (the demo's default, and `langgraph dev`'s without ``DATABASE_URL``)
keeps threads across restarts; its ledger must too, or a decision bound just before a restart
would be lost (the call then fails safe: not run) and a refund cut short could not be told
from one never started. `SqliteLedger` writes both tables into the checkpoint file, in WAL
mode with a busy timeout, so several processes can share it (SQLite serialises the writers).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from checkpointers.ledger import (
    LedgerEntry,
    LedgerStatus,
    args_hash,
    same_call,
    storable_text,
)
from checkpointers.ledger_postgres import DECISIONS_TABLE, EFFECTS_TABLE
from checkpointers.side_tables import SqliteSideTables

__all__ = ["SqliteLedger"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (
    thread_id     TEXT    NOT NULL,
    tool_call_id  TEXT    NOT NULL,
    tool          TEXT    NOT NULL,
    args          TEXT    NOT NULL,
    args_hash     TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    started_at    TEXT    NOT NULL,
    result        TEXT,
    result_status TEXT,
    completed_at  TEXT,
    PRIMARY KEY (thread_id, tool_call_id)
);
CREATE TABLE IF NOT EXISTS {DECISIONS_TABLE} (
    thread_id     TEXT NOT NULL,
    tool_call_id  TEXT NOT NULL,
    args_hash     TEXT NOT NULL,
    record        TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    PRIMARY KEY (thread_id, tool_call_id)
);
"""
_BEGIN = f"""
INSERT INTO {EFFECTS_TABLE} (thread_id, tool_call_id, tool, args, args_hash, status, started_at)
VALUES (?, ?, ?, ?, ?, 'started', ?)
ON CONFLICT (thread_id, tool_call_id) DO UPDATE
   SET attempts = attempts
       + CASE WHEN status = 'started' AND args_hash IN ('', excluded.args_hash) THEN 1 ELSE 0 END
RETURNING *
"""
_FINISH = f"""
UPDATE {EFFECTS_TABLE} SET status = ?, result = ?, result_status = ?, completed_at = ?
 WHERE thread_id = ? AND tool_call_id = ?
"""
_DECIDE = f"""
INSERT INTO {DECISIONS_TABLE} (thread_id, tool_call_id, args_hash, record, decided_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (thread_id, tool_call_id) DO UPDATE
   SET args_hash = excluded.args_hash, record = excluded.record, decided_at = excluded.decided_at
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _entry(row: sqlite3.Row) -> LedgerEntry:
    return LedgerEntry(
        thread_id=row["thread_id"],
        tool_call_id=row["tool_call_id"],
        tool=row["tool"],
        args=json.loads(row["args"]),
        status=row["status"],
        attempts=row["attempts"],
        started_at=row["started_at"],
        result=row["result"],
        result_status=row["result_status"],
        completed_at=row["completed_at"],
        args_hash=row["args_hash"] or "",
    )


class SqliteLedger:
    """The ledger's tables in a SQLite file (see `checkpointers.ledger`).

    Args:
        path: the SQLite file, usually the checkpointer's own.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        tables = SqliteSideTables(path, _SCHEMA)
        self._conn, self._lock = tables.conn, tables.lock

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt (see `EffectLedger.begin`)."""
        digest = args_hash(args)
        text = json.dumps(args, sort_keys=True, ensure_ascii=True, default=str)
        with self._lock:
            # fetchall: a RETURNING statement commits only once it has been stepped to the end
            [row] = self._conn.execute(
                _BEGIN, (thread_id, tool_call_id, tool, text, digest, _now())
            ).fetchall()
        return same_call(_entry(row), tool, digest)

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome (see `EffectLedger.finish`)."""
        values = (status, storable_text(result), result_status, _now(), thread_id, tool_call_id)
        with self._lock:
            self._conn.execute(_FINISH, values)

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""
        query, params = f"SELECT * FROM {EFFECTS_TABLE}", ()
        if thread_id is not None:
            query, params = query + " WHERE thread_id = ?", (thread_id,)  # type: ignore[assignment]
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY started_at, tool_call_id", params)
            return [_entry(row) for row in rows.fetchall()]

    def record_decision(self, thread_id: str, decision: dict[str, Any]) -> None:
        """Bind a decision to its call (see `EffectLedger.record_decision`)."""
        record = json.dumps(decision, ensure_ascii=True, default=str)
        call_id, digest = str(decision["tool_call_id"]), str(decision["args_hash"])
        with self._lock:
            self._conn.execute(_DECIDE, (thread_id, call_id, digest, record, _now()))

    def decision(self, thread_id: str, tool_call_id: str) -> dict[str, Any] | None:
        """The decision bound to a tool call, or None."""
        query = f"SELECT record FROM {DECISIONS_TABLE} WHERE thread_id = ? AND tool_call_id = ?"
        with self._lock:
            row = self._conn.execute(query, (thread_id, tool_call_id)).fetchone()
        return None if row is None else {**json.loads(row["record"]), "thread_id": thread_id}

    def decisions(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions of one thread (or all), oldest first."""
        query, params = f"SELECT * FROM {DECISIONS_TABLE}", ()
        if thread_id is not None:
            query, params = query + " WHERE thread_id = ?", (thread_id,)  # type: ignore[assignment]
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY decided_at, tool_call_id", params)
            found = rows.fetchall()
        return [{**json.loads(r["record"]), "thread_id": r["thread_id"]} for r in found]

    def close(self) -> None:
        """Close the ledger's own connection."""
        self._conn.close()
