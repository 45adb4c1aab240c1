"""The usage table in Postgres, beside the checkpoints: ``agent_patterns_model_usage``.

One row per model call, keyed by ``call_id`` (see `checkpointers.usage`); a second write of
the same key only counts an attempt. Every write commits at once (autocommit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checkpointers.side_tables import PostgresSideTables
from checkpointers.usage import UsageRecord

__all__ = [
    "COLUMNS",
    "TOTALS",
    "USAGE_TABLE",
    "PostgresUsageLog",
    "filter_clause",
    "record_from",
    "totals_from",
    "values",
]

USAGE_TABLE = "agent_patterns_model_usage"

_SCHEMA = [
    f"""
    CREATE TABLE IF NOT EXISTS {USAGE_TABLE} (
        call_id       text             PRIMARY KEY,
        thread_id     text             NOT NULL,
        run_id        text,
        user_id       text,
        role          text             NOT NULL,
        model         text             NOT NULL,
        input_tokens  integer          NOT NULL,
        output_tokens integer          NOT NULL,
        total_tokens  integer          NOT NULL,
        cost_usd      double precision,
        estimated     boolean          NOT NULL DEFAULT false,
        checkpoint_ns text             NOT NULL DEFAULT '',
        call_index    integer          NOT NULL DEFAULT 0,
        attempts      integer          NOT NULL DEFAULT 1,
        recorded_at   timestamptz      NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS {USAGE_TABLE}_thread ON {USAGE_TABLE} (thread_id)",
    f"CREATE INDEX IF NOT EXISTS {USAGE_TABLE}_user ON {USAGE_TABLE} (user_id, recorded_at)",
]
COLUMNS = (
    "call_id, thread_id, run_id, user_id, role, model, input_tokens, output_tokens, "
    "total_tokens, cost_usd, estimated, checkpoint_ns, call_index, attempts, recorded_at"
)
_INSERT = f"""
INSERT INTO {USAGE_TABLE} ({COLUMNS})
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (call_id) DO UPDATE SET attempts = {USAGE_TABLE}.attempts + 1
RETURNING (xmax = 0) AS inserted
"""
TOTALS = f"""
SELECT count(*) AS calls,
       coalesce(sum(input_tokens), 0) AS input_tokens,
       coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(total_tokens), 0) AS total_tokens,
       sum(cost_usd) AS cost_usd,
       coalesce(sum(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END), 0) AS unpriced_calls
  FROM {USAGE_TABLE}"""
"""The totals query (`sum_records` in SQL: the cost is NULL when no row has one)."""
_LOCK_KEY = 0x7573_6167_6531  # "usage1"


def values(row: UsageRecord) -> tuple[Any, ...]:
    """The row's column values, in `COLUMNS` order."""
    return (
        row.call_id,
        row.thread_id,
        row.run_id,
        row.user_id,
        row.role,
        row.model,
        row.input_tokens,
        row.output_tokens,
        row.total_tokens,
        row.cost_usd,
        row.estimated,
        row.checkpoint_ns,
        row.call_index,
        row.attempts,
        row.recorded_at,
    )


def filter_clause(
    placeholder: str,
    thread_id: str | None = None,
    run_id: str | None = None,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, list[Any]]:
    """A ``WHERE`` clause (or "") and its parameters for the filters given."""
    conditions: list[str] = []
    params: list[Any] = []
    for column, op, value in (
        ("thread_id", "=", thread_id),
        ("run_id", "=", run_id),
        ("user_id", "=", user_id),
        ("recorded_at", ">=", since),
        ("recorded_at", "<", until),
    ):
        if value is not None:
            conditions.append(f"{column} {op} {placeholder}")
            params.append(value)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


def totals_from(row: dict[str, Any]) -> dict[str, Any]:
    """`sum_records`' shape from the `TOTALS` query's row."""
    totals: dict[str, Any] = {
        key: int(row[key]) for key in ("calls", "input_tokens", "output_tokens")
    }
    totals["total_tokens"] = int(row["total_tokens"])
    cost = row["cost_usd"]
    totals["cost_usd"] = None if cost is None else round(float(cost), 9)
    totals["unpriced_calls"] = int(row["unpriced_calls"])
    return totals


def record_from(row: dict[str, Any]) -> UsageRecord:
    """A `UsageRecord` from a database row (a mapping of column to value)."""
    fields = {name.strip(): row[name.strip()] for name in COLUMNS.split(",")}
    fields["estimated"] = bool(fields["estimated"])
    return UsageRecord(**fields)


class PostgresUsageLog:
    """The usage table in Postgres (see `checkpointers.usage`).

    Args:
        conninfo: a ``postgresql://`` URL; the log opens a small pool of its own.
    """

    def __init__(self, conninfo: str) -> None:
        self._tables = PostgresSideTables(_SCHEMA, _LOCK_KEY, conninfo)
        self._connection = self._tables.connection

    def record(self, row: UsageRecord) -> bool:
        """Write a row (see `UsageLog.record`)."""
        with self._connection() as conn:
            found = conn.execute(_INSERT, values(row)).fetchone()
        return bool(found["inserted"])

    def rows(self, **filters: Any) -> list[UsageRecord]:
        """Matching rows, oldest first (see `UsageLog.rows`)."""
        where, params = filter_clause("%s", **filters)
        query = f"SELECT {COLUMNS} FROM {USAGE_TABLE}{where} ORDER BY recorded_at, call_id"
        with self._connection() as conn:
            return [record_from(r) for r in conn.execute(query, params).fetchall()]

    def totals(self, **filters: Any) -> dict[str, Any]:
        """Totals of the matching rows, summed in the database (see `UsageLog.totals`)."""
        where, params = filter_clause("%s", **filters)
        with self._connection() as conn:
            return totals_from(conn.execute(TOTALS + where, params).fetchone())

    def close(self) -> None:
        """Close the log's pool."""
        self._tables.close()
