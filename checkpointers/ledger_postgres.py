"""The ledger in Postgres: two tables next to the checkpoints; every write commits at once.

``agent_patterns_effect_ledger`` holds the effect entries and
``agent_patterns_approval_decisions`` the bound decisions (see `checkpointers.ledger`). A
client of the LangGraph server has no route that writes either table.
"""

from __future__ import annotations

import json
from typing import Any

from checkpointers.ledger import (
    LedgerEntry,
    LedgerStatus,
    args_hash,
    same_call,
    storable_text,
)
from checkpointers.side_tables import PostgresSideTables

__all__ = ["DECISIONS_TABLE", "EFFECTS_TABLE", "PostgresLedger"]

EFFECTS_TABLE = "agent_patterns_effect_ledger"
DECISIONS_TABLE = "agent_patterns_approval_decisions"

_SCHEMA = [
    f"""
    CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (
        thread_id     text        NOT NULL,
        tool_call_id  text        NOT NULL,
        tool          text        NOT NULL,
        args          text        NOT NULL,
        status        text        NOT NULL,
        attempts      integer     NOT NULL DEFAULT 1,
        started_at    timestamptz NOT NULL DEFAULT now(),
        result        text,
        result_status text,
        completed_at  timestamptz,
        PRIMARY KEY (thread_id, tool_call_id)
    )""",
    # Tables created before arguments were hashed (and stored as jsonb, which refuses NUL).
    f"ALTER TABLE {EFFECTS_TABLE} ADD COLUMN IF NOT EXISTS args_hash text NOT NULL DEFAULT ''",
    f"""
    DO $$ BEGIN
        IF (SELECT data_type FROM information_schema.columns
             WHERE table_name = '{EFFECTS_TABLE}' AND column_name = 'args') <> 'text' THEN
            ALTER TABLE {EFFECTS_TABLE} ALTER COLUMN args TYPE text USING args::text;
        END IF;
    END $$""",
    f"""
    CREATE TABLE IF NOT EXISTS {DECISIONS_TABLE} (
        thread_id     text        NOT NULL,
        tool_call_id  text        NOT NULL,
        args_hash     text        NOT NULL,
        record        text        NOT NULL,
        decided_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (thread_id, tool_call_id)
    )""",
]
_BEGIN = f"""
INSERT INTO {EFFECTS_TABLE} (thread_id, tool_call_id, tool, args, args_hash, status)
VALUES (%s, %s, %s, %s, %s, 'started')
ON CONFLICT (thread_id, tool_call_id) DO UPDATE
   SET attempts = {EFFECTS_TABLE}.attempts
       + CASE WHEN {EFFECTS_TABLE}.status = 'started'
               AND {EFFECTS_TABLE}.args_hash IN ('', EXCLUDED.args_hash) THEN 1 ELSE 0 END
RETURNING *
"""
_FINISH = f"""
UPDATE {EFFECTS_TABLE} SET status = %s, result = %s, result_status = %s, completed_at = now()
 WHERE thread_id = %s AND tool_call_id = %s
"""
_DECIDE = f"""
INSERT INTO {DECISIONS_TABLE} (thread_id, tool_call_id, args_hash, record)
VALUES (%s, %s, %s, %s)
ON CONFLICT (thread_id, tool_call_id) DO UPDATE
   SET args_hash = EXCLUDED.args_hash, record = EXCLUDED.record, decided_at = now()
"""


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _entry(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        thread_id=row["thread_id"],
        tool_call_id=row["tool_call_id"],
        tool=row["tool"],
        args=json.loads(row["args"]),
        status=row["status"],
        attempts=row["attempts"],
        started_at=_iso(row["started_at"]) or "",
        result=row["result"],
        result_status=row["result_status"],
        completed_at=_iso(row["completed_at"]),
        args_hash=row.get("args_hash") or "",
    )


class PostgresLedger:
    """The ledger's tables in Postgres (see `checkpointers.ledger`).

    Args:
        conninfo: a ``postgresql://`` URL; the ledger opens a small pool of its own.
        pool: or an existing psycopg `ConnectionPool` (e.g. the sync Postgres saver's).
    """

    def __init__(self, conninfo: str | None = None, *, pool: Any = None) -> None:
        self._tables = PostgresSideTables(_SCHEMA, _LOCK_KEY, conninfo, pool=pool)
        self._connection = self._tables.connection

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt (see `EffectLedger.begin`)."""
        digest = args_hash(args)
        text = json.dumps(args, sort_keys=True, ensure_ascii=True, default=str)
        with self._connection() as conn:
            row = conn.execute(_BEGIN, (thread_id, tool_call_id, tool, text, digest)).fetchone()
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
        values = (status, storable_text(result), result_status, thread_id, tool_call_id)
        with self._connection() as conn:
            conn.execute(_FINISH, values)

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""
        query = f"SELECT * FROM {EFFECTS_TABLE}"
        params: tuple[str, ...] = ()
        if thread_id is not None:
            query += " WHERE thread_id = %s"
            params = (thread_id,)
        with self._connection() as conn:
            rows = conn.execute(query + " ORDER BY started_at, tool_call_id", params).fetchall()
        return [_entry(row) for row in rows]

    def record_decision(self, thread_id: str, decision: dict[str, Any]) -> None:
        """Bind a decision to its call (see `EffectLedger.record_decision`)."""
        record = json.dumps(decision, ensure_ascii=True, default=str)
        values = (thread_id, str(decision["tool_call_id"]), str(decision["args_hash"]), record)
        with self._connection() as conn:
            conn.execute(_DECIDE, values)

    def decision(self, thread_id: str, tool_call_id: str) -> dict[str, Any] | None:
        """The decision bound to a tool call, or None."""
        query = f"SELECT * FROM {DECISIONS_TABLE} WHERE thread_id = %s AND tool_call_id = %s"
        with self._connection() as conn:
            row = conn.execute(query, (thread_id, tool_call_id)).fetchone()
        return None if row is None else {**json.loads(row["record"]), "thread_id": thread_id}

    def decisions(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions of one thread (or all), oldest first."""
        query = f"SELECT * FROM {DECISIONS_TABLE}"
        params: tuple[str, ...] = ()
        if thread_id is not None:
            query += " WHERE thread_id = %s"
            params = (thread_id,)
        with self._connection() as conn:
            rows = conn.execute(query + " ORDER BY decided_at, tool_call_id", params).fetchall()
        return [{**json.loads(r["record"]), "thread_id": r["thread_id"]} for r in rows]

    def close(self) -> None:
        """Close the pool the ledger opened (a saver's pool stays open)."""
        self._tables.close()


_LOCK_KEY = 0x6C65_6467_6572  # "ledger"
