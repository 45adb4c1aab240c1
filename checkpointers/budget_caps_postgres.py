"""Budget caps in Postgres, beside the checkpoints and the usage table.

Two tables: ``agent_patterns_budget_caps`` (one row per scope with caps) and
``agent_patterns_budget_teams`` (one row per team member). Writes commit at once and merge in
the database (``ON CONFLICT ... COALESCE``), so processes setting caps concurrently do not
lose each other's fields. Reads come from a snapshot of both tables kept at most ``cache_s``
seconds (a write from this object refreshes it at once), so checking caps before every model
call costs no query most of the time.

Spend comes from the usage table (`checkpointers.usage_postgres.USAGE_TABLE`) in one
statement for every group asked (`spend_query`): each group's day and month totals as
``FILTER``-ed sums over the month's rows. The SQL is shared with the SQLite store
(`checkpointers.budget_caps_sqlite`), which differs only in its placeholder and its times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
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
    team_scope,
)
from checkpointers.side_tables import PostgresSideTables
from checkpointers.usage_postgres import USAGE_TABLE

__all__ = [
    "CAPS_TABLE",
    "TEAMS_TABLE",
    "CachedCapStore",
    "PostgresCapStore",
    "caps_from",
    "spend_from",
    "spend_query",
]

CAPS_TABLE = "agent_patterns_budget_caps"
TEAMS_TABLE = "agent_patterns_budget_teams"
_LOCK_KEY = 0x6275_6467_6574  # "budget"
_SCHEMA = [
    f"""
    CREATE TABLE IF NOT EXISTS {CAPS_TABLE} (
        scope          text             PRIMARY KEY,
        daily_usd      double precision,
        monthly_usd    double precision,
        daily_tokens   bigint,
        monthly_tokens bigint,
        updated_by     text             NOT NULL,
        updated_at     timestamptz      NOT NULL
    )""",
    f"""
    CREATE TABLE IF NOT EXISTS {TEAMS_TABLE} (
        team    text NOT NULL,
        user_id text NOT NULL,
        PRIMARY KEY (team, user_id)
    )""",
    f"CREATE INDEX IF NOT EXISTS {TEAMS_TABLE}_user ON {TEAMS_TABLE} (user_id)",
]
_RETURNED = f"scope, {', '.join(CAP_FIELDS)}, updated_by, updated_at"
_SPEND_COLUMNS = ("du", "mu", "dt", "mt", "dn", "mn")


def set_statement(p: str) -> str:
    """The merging upsert of one scope's caps, with placeholder `p`."""
    merge = ",\n  ".join(f"{f} = COALESCE(excluded.{f}, {CAPS_TABLE}.{f})" for f in CAP_FIELDS)
    return (
        f"INSERT INTO {CAPS_TABLE} ({_RETURNED}) VALUES ({', '.join([p] * 7)})\n"
        f"ON CONFLICT (scope) DO UPDATE SET\n  {merge},\n"
        "  updated_by = excluded.updated_by, updated_at = excluded.updated_at\n"
        f"RETURNING {_RETURNED}"
    )


def clear_statements(p: str, names: Sequence[str]) -> tuple[str, str]:
    """The statements that null `names` of a scope, then drop the row if nothing is left."""
    nulls = ", ".join(f"{name} = NULL" for name in names)
    empty = " AND ".join(f"{name} IS NULL" for name in CAP_FIELDS)
    return (
        f"UPDATE {CAPS_TABLE} SET {nulls} WHERE scope = {p} RETURNING {_RETURNED}",
        f"DELETE FROM {CAPS_TABLE} WHERE scope = {p} AND {empty}",
    )


def spend_query(
    groups: Groups, bounds: PeriodBounds, p: str, when: Callable[[datetime], Any]
) -> tuple[str, list[Any]]:
    """One statement summing each group's day and month spend over the usage table.

    Args:
        groups: user ids by group name (None: every row).
        bounds: the day and month.
        p: the placeholder (``%s`` or ``?``).
        when: how a time is passed to the database.

    Returns:
        The SQL (columns ``du0, mu0, dt0, mt0, dn0, mn0, du1, ...``) and its parameters.
    """
    flags, params = [], [when(bounds.day_start), when(bounds.day_end)]
    for index, users in enumerate(groups.values()):
        if users is None:
            flags.append(f"(1 = 1) AS g{index}")
        elif users:
            flags.append(f"(user_id IN ({', '.join([p] * len(users))})) AS g{index}")
            params.extend(users)
        else:
            flags.append(f"(1 = 0) AS g{index}")
    params += [when(bounds.month_start), when(bounds.month_end)]
    where = f"recorded_at >= {p} AND recorded_at < {p}"
    if all(users is not None for users in groups.values()):  # no project: the users' rows
        users = sorted({user for members in groups.values() for user in members or ()})
        where += f" AND user_id IN ({', '.join([p] * len(users))})" if users else " AND 1 = 0"
        params += users
    sums = []
    for i in range(len(groups)):
        today = f"today AND g{i}"
        sums += [
            f"sum(cost_usd) FILTER (WHERE {today}) AS du{i}",
            f"sum(cost_usd) FILTER (WHERE g{i}) AS mu{i}",
            f"sum(total_tokens) FILTER (WHERE {today}) AS dt{i}",
            f"sum(total_tokens) FILTER (WHERE g{i}) AS mt{i}",
            f"count(*) FILTER (WHERE {today} AND cost_usd IS NULL) AS dn{i}",
            f"count(*) FILTER (WHERE g{i} AND cost_usd IS NULL) AS mn{i}",
        ]
    sql = (
        f"WITH r AS (SELECT cost_usd, total_tokens, "
        f"(recorded_at >= {p} AND recorded_at < {p}) AS today, {', '.join(flags)}\n"
        f"  FROM {USAGE_TABLE} WHERE {where})\n"
        f"SELECT {', '.join(sums)} FROM r"
    )
    return sql, params


def spend_from(row: dict[str, Any] | None, names: Sequence[str]) -> dict[str, PeriodSpend]:
    """Each group's `PeriodSpend` from `spend_query`'s row (None: no usage table yet)."""
    found = {}
    for i, name in enumerate(names):
        du, mu, dt, mt, dn, mn = ((row or {}).get(f"{column}{i}") or 0 for column in _SPEND_COLUMNS)
        found[name] = PeriodSpend(
            daily_usd=round(float(du), 9),
            monthly_usd=round(float(mu), 9),
            daily_tokens=int(dt),
            monthly_tokens=int(mt),
            daily_unpriced=int(dn),
            monthly_unpriced=int(mn),
        )
    return found


def caps_from(row: dict[str, Any], when: Callable[[Any], datetime | None]) -> Caps:
    """A `Caps` from a row of the caps table (`when` reads its ``updated_at``)."""
    values = {name: row[name] for name in CAP_FIELDS}
    for name in ("daily_tokens", "monthly_tokens"):
        values[name] = None if values[name] is None else int(values[name])
    return Caps(**values, updated_by=row["updated_by"], updated_at=when(row["updated_at"]))


class CachedCapStore:
    """Reads of a SQL cap store from a snapshot of its tables, at most `cache_s` old.

    Subclasses implement `_load` (both tables, read fresh) and call `_forget` after a write.
    """

    def __init__(self, cache_s: float) -> None:
        self.cache_s = cache_s
        self._snapshot: tuple[dict[str, Caps], dict[str, list[str]]] | None = None
        self._loaded_at = 0.0
        self._cache_lock = threading.Lock()

    def _load(self) -> tuple[dict[str, Caps], dict[str, list[str]]]:
        raise NotImplementedError

    def _forget(self) -> None:
        with self._cache_lock:
            self._snapshot = None

    def _current(self) -> tuple[dict[str, Caps], dict[str, list[str]]]:
        with self._cache_lock:
            fresh = time.monotonic() - self._loaded_at < self.cache_s
            if self._snapshot is not None and fresh:
                return self._snapshot
        loaded = self._load()
        with self._cache_lock:
            self._snapshot, self._loaded_at = loaded, time.monotonic()
        return loaded

    def get(self, scope: str) -> Caps | None:
        """The caps of a scope (see `checkpointers.budget_caps.CapStore.get`)."""
        parse_scope(scope)
        return self._current()[0].get(scope)

    def all(self) -> dict[str, Caps]:
        """Every scope with caps, sorted by scope."""
        return dict(sorted(self._current()[0].items()))

    def team_of(self, user_id: str) -> list[str]:
        """The team scopes a user is a member of, sorted."""
        return sorted(team for team, users in self._current()[1].items() if user_id in users)

    def members(self, team: str) -> list[str]:
        """The members of a team, sorted."""
        return list(self._current()[1].get(team_scope(team), []))


def group_members(rows: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Team members by team from rows of the teams table."""
    teams: dict[str, list[str]] = {}
    for row in rows:
        teams.setdefault(row["team"], []).append(row["user_id"])
    return {team: sorted(users) for team, users in teams.items()}


class PostgresCapStore(CachedCapStore):
    """Caps and teams in the checkpoints' Postgres database (see the module docs).

    Args:
        conninfo: a ``postgresql://`` URL; the store opens a small pool of its own.
        pool: or an existing psycopg `ConnectionPool`.
        cache_s: how old the snapshot read for caps and teams may be.
    """

    def __init__(
        self, conninfo: str | None = None, *, pool: Any = None, cache_s: float = 1.0
    ) -> None:
        super().__init__(cache_s)
        self._tables = PostgresSideTables(_SCHEMA, _LOCK_KEY, conninfo, pool=pool)
        self._connection = self._tables.connection

    def _load(self) -> tuple[dict[str, Caps], dict[str, list[str]]]:
        with self._connection() as conn:
            caps = conn.execute(f"SELECT {_RETURNED} FROM {CAPS_TABLE}").fetchall()
            members = conn.execute(f"SELECT team, user_id FROM {TEAMS_TABLE}").fetchall()
        return {r["scope"]: caps_from(r, lambda t: t) for r in caps}, group_members(members)

    def set(self, scope: str, caps: Caps, *, by: str) -> Caps:
        """Merge `caps`' set fields into the scope's (see `CapStore.set`)."""
        parse_scope(scope)
        values = [getattr(caps, name) for name in CAP_FIELDS]
        with self._connection() as conn:
            row = conn.execute(
                set_statement("%s"), [scope, *values, by, datetime.now(UTC)]
            ).fetchone()
        self._forget()
        return caps_from(row, lambda t: t)

    def clear(self, scope: str, fields: Iterable[str] | None = None) -> Caps | None:
        """Remove some caps of a scope (see `CapStore.clear`)."""
        parse_scope(scope)
        update, delete = clear_statements("%s", check_fields(fields))
        with self._connection() as conn, conn.transaction():
            row = conn.execute(update, [scope]).fetchone()
            conn.execute(delete, [scope])
        self._forget()
        left = None if row is None else caps_from(row, lambda t: t)
        return None if left is None or left.empty else left

    def set_members(self, team: str, users: Sequence[str]) -> None:
        """Replace a team's members (see `CapStore.set_members`)."""
        scope, cleaned = checked_team(team, users)
        with self._connection() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {TEAMS_TABLE} WHERE team = %s", [scope])
            for user in cleaned:
                conn.execute(f"INSERT INTO {TEAMS_TABLE} VALUES (%s, %s)", [scope, user])
        self._forget()

    def period_spend(self, groups: Groups, bounds: PeriodBounds) -> dict[str, PeriodSpend]:
        """Each group's spend in one statement on the usage table (see `SpendSource`)."""
        if not groups:
            return {}
        from psycopg.errors import UndefinedTable

        sql, params = spend_query(groups, bounds, "%s", lambda t: t)
        try:
            with self._connection() as conn:
                row = conn.execute(sql, params, prepare=False).fetchone()
        except UndefinedTable:  # no model call recorded in this database yet
            row = None
        return spend_from(row, list(groups))

    def close(self) -> None:
        """Close the store's pool."""
        self._tables.close()
