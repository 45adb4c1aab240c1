"""The dead-letter table in SQLite: the Postgres table's rows, in the checkpoints' own file.

Times are stored as UTC ISO-8601 text; the statements are the Postgres table's
(`checkpointers.dead_letters_postgres`) with ``?`` placeholders.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from checkpointers.dead_letters import DeadLetter, check_resolution, not_open
from checkpointers.dead_letters_postgres import (
    COLUMNS,
    DEAD_LETTER_TABLE,
    insert_statement,
    insert_values,
    letter_from,
    list_statement,
    resolve_statement,
)
from checkpointers.side_tables import SqliteSideTables

__all__ = ["SqliteDeadLetters"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {DEAD_LETTER_TABLE} (
    id              TEXT    PRIMARY KEY,
    thread_id       TEXT,
    graph_id        TEXT,
    owner           TEXT,
    source          TEXT    NOT NULL,
    error_class     TEXT    NOT NULL,
    error           TEXT    NOT NULL,
    checkpoint_id   TEXT,
    attempts        INTEGER NOT NULL DEFAULT 1,
    payload         TEXT,
    created_at      TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'open',
    resolved_by     TEXT,
    resolved_reason TEXT,
    resolved_at     TEXT
);
CREATE INDEX IF NOT EXISTS {DEAD_LETTER_TABLE}_status ON {DEAD_LETTER_TABLE} (status, created_at);
"""


def _text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SqliteDeadLetters:
    """Dead letters in a SQLite file (see `checkpointers.dead_letters`).

    Args:
        path: the SQLite file, usually the checkpointer's own.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        tables = SqliteSideTables(path, _SCHEMA)
        self._conn, self._lock = tables.conn, tables.lock

    def add(self, letter: DeadLetter) -> DeadLetter:
        """Store a letter (see `DeadLetterStore.add`)."""
        with self._lock:
            row = self._conn.execute(
                insert_statement("?"), insert_values(letter, _text(datetime.now(UTC)))
            ).fetchone()
        return letter_from(dict(row), _time)

    def get(self, letter_id: str) -> DeadLetter | None:
        """One letter (see `DeadLetterStore.get`)."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {COLUMNS} FROM {DEAD_LETTER_TABLE} WHERE id = ?", (letter_id,)
            ).fetchone()
        return None if row is None else letter_from(dict(row), _time)

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
        sql, params = list_statement("?", filters, limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [letter_from(dict(row), _time) for row in rows]

    def resolve(
        self, letter_id: str, status: str, *, by: str, reason: str | None = None
    ) -> DeadLetter:
        """Resolve an open letter (see `DeadLetterStore.resolve`)."""
        text = check_resolution(status, by, reason)
        params = [status, by.strip(), text or None, _text(datetime.now(UTC)), letter_id]
        with self._lock:
            row = self._conn.execute(resolve_statement("?"), params).fetchone()
        if row is None:
            raise not_open(letter_id, self.get(letter_id))
        return letter_from(dict(row), _time)

    def close(self) -> None:
        """Close the store's own connection."""
        self._conn.close()
