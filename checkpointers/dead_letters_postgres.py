"""The dead-letter table in Postgres (``agent_patterns_dead_letters``), beside the checkpoints.

Every statement is one autocommit write or read; resolving is a conditional ``UPDATE ... WHERE
status = 'open'``, so of two operators resolving one letter at once exactly one wins. The
statements take the placeholder as a parameter so the SQLite table
(`checkpointers.dead_letters_sqlite`) runs the same SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from checkpointers.dead_letters import (
    DeadLetter,
    check_filters,
    check_resolution,
    new_letter_id,
    not_open,
)
from checkpointers.side_tables import PostgresSideTables

__all__ = [
    "COLUMNS",
    "DEAD_LETTER_TABLE",
    "PostgresDeadLetters",
    "insert_statement",
    "letter_from",
    "list_statement",
    "resolve_statement",
]

DEAD_LETTER_TABLE = "agent_patterns_dead_letters"
_LOCK_KEY = 0x6465_6164_6C74  # "deadlt"
COLUMNS = (
    "id, thread_id, graph_id, owner, source, error_class, error, checkpoint_id, attempts, "
    "payload, created_at, status, resolved_by, resolved_reason, resolved_at"
)
_SCHEMA = [
    f"""
    CREATE TABLE IF NOT EXISTS {DEAD_LETTER_TABLE} (
        id              text        PRIMARY KEY,
        thread_id       text,
        graph_id        text,
        owner           text,
        source          text        NOT NULL CHECK (source IN ('in_process', 'worker', 'event')),
        error_class     text        NOT NULL,
        error           text        NOT NULL,
        checkpoint_id   text,
        attempts        integer     NOT NULL DEFAULT 1,
        payload         text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        status          text        NOT NULL DEFAULT 'open'
                                    CHECK (status IN ('open', 'retried', 'discarded')),
        resolved_by     text,
        resolved_reason text,
        resolved_at     timestamptz
    )""",
    f"CREATE INDEX IF NOT EXISTS {DEAD_LETTER_TABLE}_status "
    f"ON {DEAD_LETTER_TABLE} (status, created_at DESC)",
    f"CREATE INDEX IF NOT EXISTS {DEAD_LETTER_TABLE}_thread ON {DEAD_LETTER_TABLE} (thread_id)",
]
_FIELDS = (
    "id, thread_id, graph_id, owner, source, error_class, error, checkpoint_id, attempts, "
    "payload, created_at"
)


def insert_statement(mark: str) -> str:
    """The INSERT of a new letter (`mark`: ``%s`` or ``?``), returning the row."""
    marks = ", ".join([mark] * 11)
    return f"INSERT INTO {DEAD_LETTER_TABLE} ({_FIELDS}) VALUES ({marks}) RETURNING {COLUMNS}"


def insert_values(letter: DeadLetter, at: Any) -> list[Any]:
    """The INSERT's parameters for `letter`, with a new id and creation time `at`."""
    return [
        new_letter_id(),
        letter.thread_id,
        letter.graph_id,
        letter.owner,
        letter.source,
        letter.error_class,
        letter.error,
        letter.checkpoint_id,
        int(letter.attempts),
        letter.payload,
        at,
    ]


def list_statement(mark: str, filters: dict[str, str | None], limit: int) -> tuple[str, list[Any]]:
    """The SELECT of letters matching the set `filters`, newest first."""
    check_filters(filters.get("status"), filters.get("source"))
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    where = [(f"{name} = {mark}", value) for name, value in filters.items() if value is not None]
    clause = " WHERE " + " AND ".join(w for w, _ in where) if where else ""
    order = f" ORDER BY created_at DESC, id LIMIT {int(limit)}"
    sql = f"SELECT {COLUMNS} FROM {DEAD_LETTER_TABLE}{clause}{order}"
    return sql, [value for _, value in where]


def resolve_statement(mark: str) -> str:
    """The conditional UPDATE that resolves an open letter, returning the row."""
    return (
        f"UPDATE {DEAD_LETTER_TABLE} SET status = {mark}, resolved_by = {mark}, "
        f"resolved_reason = {mark}, resolved_at = {mark} "
        f"WHERE id = {mark} AND status = 'open' RETURNING {COLUMNS}"
    )


def letter_from(row: dict[str, Any], to_time: Callable[[Any], datetime | None]) -> DeadLetter:
    """A `DeadLetter` from a row (`to_time` reads the stored times)."""
    values = dict(row)
    for name in ("created_at", "resolved_at"):
        values[name] = to_time(values[name])
    return DeadLetter(**values)


def _same(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


class PostgresDeadLetters:
    """``agent_patterns_dead_letters`` in the database at `url` (created on first use).

    Args:
        url: a ``postgresql://`` URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._tables = PostgresSideTables(_SCHEMA, _LOCK_KEY, url)

    def add(self, letter: DeadLetter) -> DeadLetter:
        """Store a letter (see `DeadLetterStore.add`)."""
        with self._tables.connection() as conn:
            row = conn.execute(
                insert_statement("%s"), insert_values(letter, datetime.now(UTC))
            ).fetchone()
        return letter_from(row, _same)

    def get(self, letter_id: str) -> DeadLetter | None:
        """One letter (see `DeadLetterStore.get`)."""
        with self._tables.connection() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM {DEAD_LETTER_TABLE} WHERE id = %s", (letter_id,)
            ).fetchone()
        return None if row is None else letter_from(row, _same)

    def list(
        self,
        *,
        status: str | None = None,
        graph_id: str | None = None,
        source: str | None = None,
        thread_id: str | None = None,
        owner: str | None = None,
        limit: int = 100,
    ) -> list[DeadLetter]:
        """Letters, newest first (see `DeadLetterStore.list`)."""
        filters = {
            "status": status,
            "graph_id": graph_id,
            "source": source,
            "thread_id": thread_id,
            "owner": owner,
        }
        sql, params = list_statement("%s", filters, limit)
        with self._tables.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [letter_from(row, _same) for row in rows]

    def resolve(
        self, letter_id: str, status: str, *, by: str, reason: str | None = None
    ) -> DeadLetter:
        """Resolve an open letter (see `DeadLetterStore.resolve`)."""
        text = check_resolution(status, by, reason)
        params = [status, by.strip(), text or None, datetime.now(UTC), letter_id]
        with self._tables.connection() as conn:
            row = conn.execute(resolve_statement("%s"), params).fetchone()
        if row is None:
            raise not_open(letter_id, self.get(letter_id))
        return letter_from(row, _same)

    def close(self) -> None:
        """Close the table's connection pool."""
        self._tables.close()
