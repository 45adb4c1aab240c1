"""Budgets over a period: read and set caps, read spend, and find the cap a call would break.

`Budgets` is the Python API over the caps (`checkpointers.budget_caps`) and the usage table
(`checkpointers.usage`). The model-call path asks `Budgets.breach_for` before every call; an
operator sets caps with `Budgets.set_caps` (or ``agent-patterns budgets set``).

Periods are UTC calendar days and months. A cap is **reached** when the spend is at or above
it, so a cap of 0 blocks every call. The caps checked for a user are, in this order, the
user's own, those of each team the user is in (a team's spend is all its members' calls), and
the project's (every call); each scope's daily caps before its monthly ones, cost before
tokens. A call without a user is checked against the project's caps only. Calls without a
price count their tokens, not their cost.

Example:
    >>> from checkpointers.budget_caps import InMemoryCapStore
    >>> from checkpointers.usage import InMemoryUsageLog, UsageRecord
    >>> usage = InMemoryUsageLog()
    >>> budgets = Budgets(InMemoryCapStore(), usage)
    >>> _ = budgets.set_caps("user:alice", daily_usd=0.5)
    >>> _ = usage.record(UsageRecord(call_id="1", thread_id="t", user_id="alice", role="agent",
    ...     model="m", input_tokens=1, output_tokens=1, total_tokens=2, cost_usd=0.52))
    >>> budgets.breach_for("alice").describe()
    'the daily cost cap of user alice ($0.50; $0.52 spent today)'
    >>> budgets.breach_for("bob") is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.budget_caps import (
    PROJECT_SCOPE,
    Caps,
    CapStore,
    PeriodSpend,
    SpendSource,
    UsageLogSpend,
    default_cap_store,
    parse_scope,
    period_bounds,
    team_scope,
    user_scope,
)
from checkpointers.usage import UsageLog, default_usage_log

__all__ = ["Budgets", "CapBreach", "Spend", "format_tokens", "format_usd", "scope_label"]

Period = Literal["daily", "monthly"]
Kind = Literal["usd", "tokens"]
_CHECKS: tuple[tuple[Period, Kind], ...] = (
    ("daily", "usd"),
    ("daily", "tokens"),
    ("monthly", "usd"),
    ("monthly", "tokens"),
)


def format_usd(value: float) -> str:
    """Dollars with cents (more digits below a cent).

    Example:
        >>> format_usd(0.5), format_usd(1234.5), format_usd(0.000045)
        ('$0.50', '$1,234.50', '$0.000045')
    """
    if 0 < value < 0.01:
        return f"${value:.6f}".rstrip("0")
    return f"${value:,.2f}"


def format_tokens(value: float) -> str:
    """A token count with thousands separators (``12,345``)."""
    return f"{int(value):,}"


def scope_label(scope: str) -> str:
    """A scope in words: ``user alice``, ``team ops``, ``the project``."""
    kind, ident = parse_scope(scope)
    return "the project" if kind == "project" else f"{kind} {ident}"


@dataclass(frozen=True)
class CapBreach:
    """A cap that is reached: whose, over which period, on what, and how far.

    Attributes:
        scope: ``"user:<id>"``, ``"team:<id>"`` or ``"project"``.
        period: ``"daily"`` (the UTC day) or ``"monthly"`` (the UTC month).
        kind: ``"usd"`` (cost) or ``"tokens"``.
        cap: the cap.
        spent: what the scope spent in the period.
    """

    scope: str
    period: Period
    kind: Kind
    cap: float
    spent: float

    def describe(self) -> str:
        """The breach in words, for the user's final message and the audit."""
        if self.kind == "usd":
            what, cap, spent = "cost", format_usd(self.cap), format_usd(self.spent)
        else:
            what = "token"
            cap, spent = f"{format_tokens(self.cap)} tokens", format_tokens(self.spent)
        when = "today" if self.period == "daily" else "this month"
        whose = scope_label(self.scope)
        return f"the {self.period} {what} cap of {whose} ({cap}; {spent} spent {when})"


@dataclass(frozen=True)
class Spend:
    """What a scope spent today and this month (UTC).

    Attributes:
        scope: the scope.
        daily_usd: cost today (unpriced calls count 0).
        monthly_usd: cost this month.
        daily_tokens: total tokens today.
        monthly_tokens: total tokens this month.
        daily_unpriced: calls today without a price (their cost is unknown).
        monthly_unpriced: calls this month without a price.
    """

    scope: str
    daily_usd: float
    monthly_usd: float
    daily_tokens: int
    monthly_tokens: int
    daily_unpriced: int = 0
    monthly_unpriced: int = 0

    @classmethod
    def of(cls, scope: str, spend: PeriodSpend) -> Spend:
        """A scope's `Spend` from a `PeriodSpend`."""
        return cls(
            scope,
            spend.daily_usd,
            spend.monthly_usd,
            spend.daily_tokens,
            spend.monthly_tokens,
            spend.daily_unpriced,
            spend.monthly_unpriced,
        )


def _now() -> datetime:
    return datetime.now(UTC)


class Budgets:
    """Caps and spend per user, team and project (see the module docs).

    Args:
        caps: where caps and teams are kept.
        usage: the usage table spend is read from.
        clock: the current time (UTC); for tests.
        spend: what sums spend (default: the rows of `usage`, summed here;
            `for_checkpointer` uses one SQL statement when the caps live in a database).
    """

    def __init__(
        self,
        caps: CapStore,
        usage: UsageLog,
        *,
        clock: Callable[[], datetime] | None = None,
        spend: SpendSource | None = None,
    ) -> None:
        self.store = caps
        self.usage = usage
        self._clock = clock or _now
        self._spend = spend or UsageLogSpend(usage)

    @classmethod
    def for_checkpointer(cls, checkpointer: BaseCheckpointSaver | None) -> Budgets:
        """The budgets kept beside a checkpointer's checkpoints (and its usage table)."""
        store = default_cap_store(checkpointer)
        usage = default_usage_log(checkpointer)
        spend = store if isinstance(store, SpendSource) else None
        return cls(store, usage, spend=spend)

    def set_caps(
        self,
        scope: str,
        *,
        daily_usd: float | None = None,
        monthly_usd: float | None = None,
        daily_tokens: int | None = None,
        monthly_tokens: int | None = None,
        by: str = "operator",
    ) -> Caps:
        """Set some caps of a scope, keeping the others; returns all its caps.

        Raises:
            ValueError: a bad scope, a bad value, or no value at all.
        """
        parse_scope(scope)
        given = Caps(daily_usd, monthly_usd, daily_tokens, monthly_tokens)
        if given.empty:
            raise ValueError("give at least one cap to set (or clear caps with clear_caps)")
        return self.store.set(scope, given, by=by)

    def clear_caps(self, scope: str, fields: Sequence[str] | None = None) -> Caps | None:
        """Remove some caps (None: all) of a scope; returns what is left (None: no caps)."""
        return self.store.clear(scope, fields)

    def set_team(self, team: str, users: Sequence[str]) -> None:
        """Declare a team's members (``"ops"`` or ``"team:ops"``); replaces the previous ones."""
        self.store.set_members(team, users)

    def caps(self, scope: str) -> Caps | None:
        """The caps of a scope (None: no cap)."""
        return self.store.get(scope)

    def _users(self, scope: str) -> list[str] | None:
        kind, ident = parse_scope(scope)
        if kind == "user":
            return [ident]
        return self.store.members(scope) if kind == "team" else None

    def _spends(self, scopes: Sequence[str]) -> dict[str, Spend]:
        groups = {scope: self._users(scope) for scope in scopes}
        found = self._spend.period_spend(groups, period_bounds(self._clock()))
        return {scope: Spend.of(scope, found[scope]) for scope in scopes}

    def spend(self, scope: str) -> Spend:
        """What a scope spent today and this month (a team: all its members' calls)."""
        return self._spends([scope])[scope]

    def scopes_of(self, user_id: str | None) -> list[str]:
        """The scopes whose caps apply to a user, in the order they are checked."""
        if user_id is None:
            return [PROJECT_SCOPE]
        return [user_scope(user_id), *self.store.team_of(user_id), PROJECT_SCOPE]

    def breach_for(self, user_id: str | None) -> CapBreach | None:
        """The first cap a user's next call would break (see the module docs); None: none.

        Scopes without caps cost nothing; the spend of the others is read in one query.
        """
        capped = [(s, c) for s in self.scopes_of(user_id) if (c := self.store.get(s))]
        capped = [(scope, caps) for scope, caps in capped if not caps.empty]
        if not capped:
            return None
        spends = self._spends([scope for scope, _ in capped])
        for scope, caps in capped:
            for period, kind in _CHECKS:
                cap = getattr(caps, f"{period}_{kind}")
                spent = getattr(spends[scope], f"{period}_{kind}")
                if cap is not None and spent >= cap:
                    return CapBreach(scope, period, kind, cap, spent)
        return None

    def show(
        self, user_id: str | None = None, *, team: str | None = None
    ) -> list[tuple[str, Caps | None, Spend]]:
        """Caps and spend per scope.

        Args:
            user_id: the scopes that apply to this user (`scopes_of`).
            team: or this team and the project.

        Without either: every scope with caps, and the project.
        """
        if user_id is not None:
            scopes = self.scopes_of(user_id)
        elif team is not None:
            scopes = [team_scope(team), PROJECT_SCOPE]
        else:
            scopes = [s for s in self.store.all() if s != PROJECT_SCOPE] + [PROJECT_SCOPE]
        spends = self._spends(scopes)
        return [(scope, self.store.get(scope), spends[scope]) for scope in scopes]
