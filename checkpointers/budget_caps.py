"""Budget caps over a period, per user, per team and for the project, beside the checkpoints.

A cap limits the cost (USD) or the tokens of the model calls of one **scope** over a UTC
calendar day or month:

- ``"user:<id>"``: the calls of one authenticated user;
- ``"team:<id>"``: the calls of every member of a team (the operator declares the members);
- ``"project"``: every call.

Caps are kept where the checkpoints are, chosen from the checkpointer like the usage table
(`checkpointers.usage.default_usage_log`): a Postgres table beside Postgres checkpoints
(`checkpointers.budget_caps_postgres`), a table in the SQLite checkpoint file
(`checkpointers.budget_caps_sqlite`), this process's memory for the in-memory saver. So every
process sharing the checkpoints enforces the same caps.

**Spend** is read from the usage table (one row per model call): `SpendSource.period_spend`
sums a day's and a month's cost and tokens for several groups of users at once. The Postgres
and SQLite stores answer it with one SQL statement on the usage table in their own database;
`UsageLogSpend` sums the rows of any `checkpointers.usage.UsageLog` (the in-memory one).

Example:
    >>> store = InMemoryCapStore()
    >>> store.set("user:alice", Caps(daily_usd=0.5), by="ops").daily_usd
    0.5
    >>> store.set("user:alice", Caps(monthly_tokens=10_000), by="ops")
    Caps(daily_usd=0.5, monthly_usd=None, daily_tokens=None, monthly_tokens=10000)
    >>> store.set_members("team:ops", ["alice", "bob"])
    >>> store.team_of("alice")
    ['team:ops']
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.saver_storage import database_url, saver_storage

if TYPE_CHECKING:
    from checkpointers.usage import UsageLog

__all__ = [
    "CAP_FIELDS",
    "PROJECT_SCOPE",
    "CapStore",
    "Caps",
    "InMemoryCapStore",
    "PeriodBounds",
    "PeriodSpend",
    "SpendSource",
    "UsageLogSpend",
    "default_cap_store",
    "parse_scope",
    "period_bounds",
    "team_scope",
    "user_scope",
]

CAP_FIELDS = ("daily_usd", "monthly_usd", "daily_tokens", "monthly_tokens")
"""The fields of `Caps` that are caps (the rest is who set them and when)."""
PROJECT_SCOPE = "project"


def parse_scope(scope: str) -> tuple[str, str]:
    """The kind (``user``, ``team``, ``project``) and id ("" for the project) of a scope.

    Raises:
        ValueError: not ``"user:<id>"``, ``"team:<id>"`` or ``"project"``.

    Example:
        >>> parse_scope("team:ops"), parse_scope("project")
        (('team', 'ops'), ('project', ''))
    """
    if scope == PROJECT_SCOPE:
        return "project", ""
    kind, _, ident = scope.partition(":")
    if kind not in ("user", "team") or not ident.strip() or ident != ident.strip():
        raise ValueError(f"a budget scope is 'user:<id>', 'team:<id>' or 'project', got {scope!r}")
    return kind, ident


def user_scope(user_id: str) -> str:
    """The scope of a user (``"user:<id>"``)."""
    return f"user:{user_id}"


def team_scope(team: str) -> str:
    """The scope of a team (``"team:<id>"``; a scope already given is kept)."""
    return team if team.startswith("team:") else f"team:{team}"


def _check_cap(name: str, value: Any) -> None:
    if value is None:
        return
    tokens = name.endswith("_tokens")
    number = isinstance(value, int) if tokens else isinstance(value, int | float)
    if isinstance(value, bool) or not number:
        what = "a whole number of tokens" if tokens else "a number of US dollars"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and not negative, got {value!r}")


@dataclass(frozen=True)
class Caps:
    """The caps of one scope; None: no cap on that (a cap of 0 blocks every call).

    Attributes:
        daily_usd: cost of the scope's calls in a UTC calendar day.
        monthly_usd: cost in a UTC calendar month.
        daily_tokens: total tokens in a UTC calendar day.
        monthly_tokens: total tokens in a UTC calendar month.
        updated_by: who set them last (not compared).
        updated_at: when (UTC; not compared).

    Raises:
        ValueError: a cap that is negative, not finite, or not a number (tokens: not whole).
    """

    daily_usd: float | None = None
    monthly_usd: float | None = None
    daily_tokens: int | None = None
    monthly_tokens: int | None = None
    updated_by: str | None = field(default=None, compare=False, repr=False)
    updated_at: datetime | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in CAP_FIELDS:
            _check_cap(name, getattr(self, name))
        for name in ("daily_usd", "monthly_usd"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, float(value))

    @property
    def empty(self) -> bool:
        """Whether no cap is set."""
        return all(getattr(self, name) is None for name in CAP_FIELDS)

    def merged(self, other: Caps, *, by: str, at: datetime) -> Caps:
        """These caps with `other`'s set fields replacing them."""
        given = {name: getattr(other, name) for name in CAP_FIELDS}
        updates = {name: value for name, value in given.items() if value is not None}
        return replace(self, **updates, updated_by=by, updated_at=at)

    def without(self, names: Iterable[str] | None, *, by: str, at: datetime) -> Caps:
        """These caps with `names` (all when None) removed."""
        cleared = check_fields(names)
        return replace(self, **dict.fromkeys(cleared), updated_by=by, updated_at=at)


def check_fields(names: Iterable[str] | None) -> tuple[str, ...]:
    """`names` checked against `CAP_FIELDS` (None: all of them).

    Raises:
        ValueError: a name that is not a cap field.
    """
    chosen = CAP_FIELDS if names is None else tuple(names)
    unknown = [name for name in chosen if name not in CAP_FIELDS]
    if unknown:
        raise ValueError(f"unknown cap field {unknown[0]!r}; fields: {', '.join(CAP_FIELDS)}")
    return chosen


@dataclass(frozen=True)
class PeriodBounds:
    """The UTC day and month a spend is counted over (starts inclusive, ends exclusive)."""

    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime


def period_bounds(now: datetime) -> PeriodBounds:
    """The UTC calendar day and month `now` falls in (a naive `now` is taken as UTC).

    Example:
        >>> b = period_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
        >>> b.day_start.isoformat(), b.month_end.isoformat()
        ('2026-12-31T00:00:00+00:00', '2027-01-01T00:00:00+00:00')
    """
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return PeriodBounds(day, day + timedelta(days=1), month, next_month)


@dataclass(frozen=True)
class PeriodSpend:
    """What one group of users spent in a day and a month (unpriced calls count tokens only)."""

    daily_usd: float = 0.0
    monthly_usd: float = 0.0
    daily_tokens: int = 0
    monthly_tokens: int = 0
    daily_unpriced: int = 0
    monthly_unpriced: int = 0


Groups = Mapping[str, Sequence[str] | None]
"""Groups of users by name (a scope); None: every row (the project)."""


@runtime_checkable
class SpendSource(Protocol):
    """Where a day's and a month's spend of several groups is summed at once."""

    def period_spend(self, groups: Groups, bounds: PeriodBounds) -> dict[str, PeriodSpend]:
        """The spend of each group in the day and month of `bounds`."""


class UsageLogSpend:
    """`SpendSource` over any usage log: the month's rows, summed here (the in-memory log).

    Args:
        usage: the usage table.
    """

    def __init__(self, usage: UsageLog) -> None:
        self.usage = usage

    def period_spend(self, groups: Groups, bounds: PeriodBounds) -> dict[str, PeriodSpend]:
        """The spend of each group (see `SpendSource`)."""
        everyone = [u for users in groups.values() for u in users or ()]
        one_user = len(set(everyone)) == 1 and None not in groups.values()
        rows = self.usage.rows(
            user_id=everyone[0] if one_user else None,
            since=bounds.month_start,
            until=bounds.month_end,
        )
        members = {name: None if users is None else set(users) for name, users in groups.items()}
        sums = {name: [0.0, 0.0, 0, 0, 0, 0] for name in groups}  # as in PeriodSpend
        for row in rows:
            today = bounds.day_start <= row.recorded_at < bounds.day_end
            cost, unpriced = row.cost_usd or 0.0, int(row.cost_usd is None)
            for name, users in members.items():
                if users is not None and row.user_id not in users:
                    continue
                total = sums[name]
                total[1], total[3], total[5] = (
                    total[1] + cost,
                    total[3] + row.total_tokens,
                    total[5] + unpriced,
                )
                if today:
                    total[0], total[2], total[4] = (
                        total[0] + cost,
                        total[2] + row.total_tokens,
                        total[4] + unpriced,
                    )
        return {
            name: PeriodSpend(round(du, 9), round(mu, 9), int(dt), int(mt), int(dn), int(mn))
            for name, (du, mu, dt, mt, dn, mn) in sums.items()
        }


class CapStore(Protocol):
    """Where caps and team members are kept (see the module docs)."""

    def get(self, scope: str) -> Caps | None:
        """The caps of a scope (None: none set)."""

    def set(self, scope: str, caps: Caps, *, by: str) -> Caps:
        """Merge `caps`' set fields into the scope's caps; returns the result."""

    def clear(self, scope: str, fields: Iterable[str] | None = None) -> Caps | None:
        """Remove some caps (None: all) of a scope; returns what is left (None: nothing)."""

    def all(self) -> dict[str, Caps]:
        """Every scope with caps."""

    def team_of(self, user_id: str) -> list[str]:
        """The team scopes a user is a member of, sorted."""

    def members(self, team: str) -> list[str]:
        """The members of a team, sorted."""

    def set_members(self, team: str, users: Sequence[str]) -> None:
        """Make `users` the team's members (an empty list removes the team's members)."""


def checked_team(team: str, users: Sequence[str]) -> tuple[str, list[str]]:
    """A team's scope and its members, checked and sorted.

    Raises:
        ValueError: a bad team id or an empty user id.
    """
    scope = team_scope(team)
    parse_scope(scope)
    if isinstance(users, str):
        raise ValueError("a team's members are a list of user ids, not one string")
    cleaned = sorted({u.strip() for u in users})
    if any(not u for u in cleaned):
        raise ValueError("a team member's user id must not be empty")
    return scope, cleaned


def _now() -> datetime:
    return datetime.now(UTC)


class InMemoryCapStore:
    """Caps and teams in this process's memory (the in-memory saver's)."""

    def __init__(self) -> None:
        self._caps: dict[str, Caps] = {}
        self._teams: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def get(self, scope: str) -> Caps | None:
        """The caps of a scope (see `CapStore.get`)."""
        parse_scope(scope)
        with self._lock:
            return self._caps.get(scope)

    def set(self, scope: str, caps: Caps, *, by: str) -> Caps:
        """Merge caps (see `CapStore.set`)."""
        parse_scope(scope)
        with self._lock:
            merged = self._caps.get(scope, Caps()).merged(caps, by=by, at=_now())
            self._caps[scope] = merged
            return merged

    def clear(self, scope: str, fields: Iterable[str] | None = None) -> Caps | None:
        """Remove caps (see `CapStore.clear`)."""
        parse_scope(scope)
        with self._lock:
            known = self._caps.get(scope)
            if known is None:
                check_fields(fields)
                return None
            left = known.without(fields, by=known.updated_by or "", at=_now())
            if left.empty:
                del self._caps[scope]
                return None
            self._caps[scope] = left
            return left

    def all(self) -> dict[str, Caps]:
        """Every scope with caps (see `CapStore.all`)."""
        with self._lock:
            return dict(sorted(self._caps.items()))

    def team_of(self, user_id: str) -> list[str]:
        """A user's teams (see `CapStore.team_of`)."""
        with self._lock:
            return sorted(team for team, users in self._teams.items() if user_id in users)

    def members(self, team: str) -> list[str]:
        """A team's members (see `CapStore.members`)."""
        with self._lock:
            return list(self._teams.get(team_scope(team), []))

    def set_members(self, team: str, users: Sequence[str]) -> None:
        """Replace a team's members (see `CapStore.set_members`)."""
        scope, cleaned = checked_team(team, users)
        with self._lock:
            if cleaned:
                self._teams[scope] = cleaned
            else:
                self._teams.pop(scope, None)


_saver_stores: weakref.WeakKeyDictionary[BaseCheckpointSaver, InMemoryCapStore] = (
    weakref.WeakKeyDictionary()
)
_shared_stores: dict[str, CapStore] = {}
_shared_lock = threading.Lock()
_process_store = InMemoryCapStore()


def _shared(key: str, make: Callable[[], CapStore]) -> CapStore:
    """One store per database (URL or file), shared by every caller in the process."""
    with _shared_lock:
        if key not in _shared_stores:
            _shared_stores[key] = make()
        return _shared_stores[key]


def _database_url_store() -> CapStore | None:
    env_url = database_url()
    if env_url is None:
        return None
    from checkpointers.budget_caps_postgres import PostgresCapStore

    return _shared(env_url, lambda: PostgresCapStore(env_url))


def default_cap_store(checkpointer: BaseCheckpointSaver | None) -> CapStore:
    """The cap store that goes with a checkpointer (the usage table's rules).

    Postgres savers: tables in the same database; a SQLite saver: tables in its file; no
    checkpointer: ``DATABASE_URL``'s Postgres if set, else this process's memory; a saver of
    unknown storage: ``DATABASE_URL``'s Postgres if set; the in-memory saver: memory (shared
    by the saver's clones).
    """
    if checkpointer is None:
        return _database_url_store() or _process_store
    storage = saver_storage(checkpointer)
    if storage.kind == "postgres":
        from checkpointers.budget_caps_postgres import PostgresCapStore

        return _shared(storage.target, lambda: PostgresCapStore(storage.target))
    if storage.kind == "sqlite":
        from checkpointers.budget_caps_sqlite import SqliteCapStore

        return _shared(f"sqlite:{storage.target}", lambda: SqliteCapStore(storage.target))
    return _memory_store(storage.saver)


def _memory_store(saver: BaseCheckpointSaver) -> InMemoryCapStore:
    """The in-memory store of a saver, shared with its clones (same storage)."""
    with _shared_lock:
        found = _saver_stores.get(saver)
        if found is None:
            storage = getattr(saver, "storage", None)
            twins = [s for k, s in _saver_stores.items() if getattr(k, "storage", 0) is storage]
            found = twins[0] if twins and storage is not None else InMemoryCapStore()
            _saver_stores[saver] = found
        return found
