"""Budget caps in SQLite: the Postgres store's tables, in the checkpoints' own file.

Times are stored as UTC ISO-8601 text, like the usage table's (`checkpointers.usage_sqlite`),
so the spend statement (`checkpointers.budget_caps_postgres.spend_query`) compares them as
text. The file is in WAL mode with a busy timeout, so several processes can share it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from checkpointers.budget_caps import (
    CAP_FIELDS,
    Caps,
    Groups,
    PeriodBounds,
    PeriodSpend,
    check_fields,
    checked_team,
    parse_scope,
)
from checkpointers.budget_caps_postgres import (
    CAPS_TABLE,
    TEAMS_TABLE,
    CachedCapStore,
    caps_from,
    clear_statements,
    group_members,
    set_statement,
    spend_from,
    spend_query,
)
from checkpointers.side_tables import SqliteSideTables

__all__ = ["SqliteCapStore"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {CAPS_TABLE} (
    scope          TEXT    PRIMARY KEY,
    daily_usd      REAL,
    monthly_usd    REAL,
    daily_tokens   INTEGER,
    monthly_tokens INTEGER,
    updated_by     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS {TEAMS_TABLE} (
    team    TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (team, user_id)
);
CREATE INDEX IF NOT EXISTS {TEAMS_TABLE}_user ON {TEAMS_TABLE} (user_id);
"""


def _text(value: datetime) -> str:
    """A time as the UTC ISO text the tables store."""
    return value.astimezone(UTC).isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SqliteCapStore(CachedCapStore):
    """Caps and teams in a SQLite file (see `checkpointers.budget_caps`).

    Args:
        path: the SQLite file, usually the checkpointer's own.
        cache_s: how old the snapshot read for caps and teams may be.
    """

    def __init__(self, path: str, *, cache_s: float = 1.0) -> None:
        super().__init__(cache_s)
        self.path = path
        tables = SqliteSideTables(path, _SCHEMA)
        self._conn, self._lock = tables.conn, tables.lock

    def _load(self) -> tuple[dict[str, Caps], dict[str, list[str]]]:
        with self._lock:
            caps = self._conn.execute(f"SELECT * FROM {CAPS_TABLE}").fetchall()
            members = self._conn.execute(f"SELECT team, user_id FROM {TEAMS_TABLE}").fetchall()
        loaded = {r["scope"]: caps_from(dict(r), _time) for r in caps}
        return loaded, group_members(dict(r) for r in members)

    def set(self, scope: str, caps: Caps, *, by: str) -> Caps:
        """Merge `caps`' set fields into the scope's (see `CapStore.set`)."""
        parse_scope(scope)
        values = [getattr(caps, name) for name in CAP_FIELDS]
        params = [scope, *values, by, _text(datetime.now(UTC))]
        with self._lock:
            row = self._conn.execute(set_statement("?"), params).fetchone()
        self._forget()
        return caps_from(dict(row), _time)

    def clear(self, scope: str, fields: Iterable[str] | None = None) -> Caps | None:
        """Remove some caps of a scope (see `CapStore.clear`)."""
        parse_scope(scope)
        update, delete = clear_statements("?", check_fields(fields))
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(update, [scope]).fetchone()
                self._conn.execute(delete, [scope])
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        self._forget()
        left = None if row is None else caps_from(dict(row), _time)
        return None if left is None or left.empty else left

    def set_members(self, team: str, users: Sequence[str]) -> None:
        """Replace a team's members (see `CapStore.set_members`)."""
        scope, cleaned = checked_team(team, users)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(f"DELETE FROM {TEAMS_TABLE} WHERE team = ?", [scope])
                self._conn.executemany(
                    f"INSERT INTO {TEAMS_TABLE} VALUES (?, ?)", [(scope, u) for u in cleaned]
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        self._forget()

    def period_spend(self, groups: Groups, bounds: PeriodBounds) -> dict[str, PeriodSpend]:
        """Each group's spend in one statement on the usage table (see `SpendSource`)."""
        if not groups:
            return {}
        sql, params = spend_query(groups, bounds, "?", _text)
        try:
            with self._lock:
                found = self._conn.execute(sql, params).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            found = None  # no model call recorded in this file yet
        return spend_from(None if found is None else dict(found), list(groups))

    def close(self) -> None:
        """Close the store's own connection."""
        self._conn.close()
