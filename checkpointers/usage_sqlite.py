"""The usage table in SQLite: the Postgres table's rows, in the checkpoints' own file.

Times are stored as UTC ISO-8601 text (which sorts and compares like the times themselves);
the file is in WAL mode with a busy timeout, so several processes can share it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from checkpointers.side_tables import SqliteSideTables
from checkpointers.usage import UsageRecord
from checkpointers.usage_postgres import (
    COLUMNS,
    TOTALS,
    USAGE_TABLE,
    filter_clause,
    record_from,
    totals_from,
    values,
)

__all__ = ["SqliteUsageLog"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {USAGE_TABLE} (
    call_id       TEXT    PRIMARY KEY,
    thread_id     TEXT    NOT NULL,
    run_id        TEXT,
    user_id       TEXT,
    role          TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens  INTEGER NOT NULL,
    cost_usd      REAL,
    estimated     INTEGER NOT NULL DEFAULT 0,
    checkpoint_ns TEXT    NOT NULL DEFAULT '',
    call_index    INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 1,
    recorded_at   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS {USAGE_TABLE}_thread ON {USAGE_TABLE} (thread_id);
CREATE INDEX IF NOT EXISTS {USAGE_TABLE}_user ON {USAGE_TABLE} (user_id, recorded_at);
"""
_INSERT = f"""
INSERT INTO {USAGE_TABLE} ({COLUMNS})
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (call_id) DO NOTHING
"""
_ATTEMPT = f"UPDATE {USAGE_TABLE} SET attempts = attempts + 1 WHERE call_id = ?"


def _text(value: Any) -> Any:
    """A datetime as UTC ISO text (how the table stores times); anything else as is."""
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


class SqliteUsageLog:
    """The usage table in a SQLite file (see `checkpointers.usage`).

    Args:
        path: the SQLite file, usually the checkpointer's own.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        tables = SqliteSideTables(path, _SCHEMA)
        self._conn, self._lock = tables.conn, tables.lock

    def record(self, row: UsageRecord) -> bool:
        """Write a row (see `UsageLog.record`)."""
        params = tuple(_text(v) for v in values(row))
        with self._lock:
            inserted = self._conn.execute(_INSERT, params).rowcount == 1
            if not inserted:
                self._conn.execute(_ATTEMPT, (row.call_id,))
        return inserted

    def rows(self, **filters: Any) -> list[UsageRecord]:
        """Matching rows, oldest first (see `UsageLog.rows`)."""
        where, params = filter_clause("?", **filters)
        query = f"SELECT {COLUMNS} FROM {USAGE_TABLE}{where} ORDER BY recorded_at, call_id"
        with self._lock:
            found = self._conn.execute(query, [_text(p) for p in params]).fetchall()
        records = []
        for row in found:
            fields = dict(row)
            fields["recorded_at"] = datetime.fromisoformat(fields["recorded_at"])
            records.append(record_from(fields))
        return records

    def totals(self, **filters: Any) -> dict[str, Any]:
        """Totals of the matching rows, summed in the database (see `UsageLog.totals`)."""
        where, params = filter_clause("?", **filters)
        with self._lock:
            row = self._conn.execute(TOTALS + where, [_text(p) for p in params]).fetchone()
        return totals_from(dict(row))

    def close(self) -> None:
        """Close the log's own connection."""
        self._conn.close()
