"""Budget caps in memory: set, merge, clear, validation, spend per UTC period, teams, breaches."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from checkpointers.budget_caps import (
    Caps,
    InMemoryCapStore,
    default_cap_store,
    parse_scope,
    period_bounds,
)
from checkpointers.usage import InMemoryUsageLog, UsageRecord
from nodes.budget_caps import Budgets, CapBreach

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
_ids = count()


def _call(
    log: InMemoryUsageLog,
    user: str | None,
    *,
    cost: float | None = 0.1,
    tokens: int = 100,
    at: datetime = NOW,
) -> None:
    log.record(
        UsageRecord(
            call_id=f"c{next(_ids)}",
            thread_id="t",
            user_id=user,
            role="agent",
            model="m",
            input_tokens=tokens // 2,
            output_tokens=tokens - tokens // 2,
            total_tokens=tokens,
            cost_usd=cost,
            recorded_at=at,
        )
    )


@pytest.fixture
def usage() -> InMemoryUsageLog:
    return InMemoryUsageLog()


@pytest.fixture
def budgets(usage: InMemoryUsageLog) -> Budgets:
    return Budgets(InMemoryCapStore(), usage, clock=lambda: NOW)


def test_setting_caps_merges_fields_and_records_who(budgets: Budgets) -> None:
    budgets.set_caps("user:alice", daily_usd=0.5, by="ops")
    merged = budgets.set_caps("user:alice", monthly_tokens=10_000, daily_usd=0.75, by="lead")
    assert merged == Caps(daily_usd=0.75, monthly_tokens=10_000)
    assert budgets.caps("user:alice") == merged
    assert merged.updated_by == "lead"
    assert budgets.caps("user:bob") is None


def test_clearing_some_caps_keeps_the_others_and_clearing_all_removes_the_scope(
    budgets: Budgets,
) -> None:
    budgets.set_caps("team:ops", daily_usd=1, monthly_usd=20, daily_tokens=5)
    left = budgets.clear_caps("team:ops", ["daily_usd", "daily_tokens"])
    assert left == Caps(monthly_usd=20.0)
    assert budgets.store.all() == {"team:ops": Caps(monthly_usd=20.0)}
    assert budgets.clear_caps("team:ops") is None
    assert budgets.caps("team:ops") is None
    assert budgets.store.all() == {}
    with pytest.raises(ValueError, match="unknown cap field 'weekly_usd'"):
        budgets.clear_caps("team:ops", ["weekly_usd"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("daily_usd", -0.01, "not negative"),
        ("monthly_usd", math.inf, "finite"),
        ("monthly_usd", math.nan, "finite"),
        ("daily_usd", "1", "number of US dollars"),
        ("daily_tokens", 1.5, "whole number"),
        ("monthly_tokens", True, "whole number"),
        ("monthly_tokens", -1, "not negative"),
    ],
)
def test_bad_cap_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Caps(**{field: value})  # type: ignore[arg-type]


def test_scopes_and_empty_sets_are_checked(budgets: Budgets) -> None:
    for bad in ("alice", "user:", "group:x", "team: ops", "projects"):
        with pytest.raises(ValueError, match="budget scope"):
            budgets.set_caps(bad, daily_usd=1)
    assert parse_scope("user:alice@example.com") == ("user", "alice@example.com")
    with pytest.raises(ValueError, match="at least one cap"):
        budgets.set_caps("project")
    assert budgets.set_caps("project", daily_usd=0) == Caps(daily_usd=0.0)


def test_periods_are_utc_calendar_days_and_months() -> None:
    tokyo = datetime(2026, 3, 1, 0, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    bounds = period_bounds(tokyo)  # 09:30 on March 1st in Tokyo: the UTC day counts
    assert bounds.day_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert bounds.month_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert bounds.month_end == datetime(2026, 4, 1, tzinfo=UTC)
    december = period_bounds(datetime(2026, 12, 31, 23, 59, 59))
    assert december.day_end == december.month_end == datetime(2027, 1, 1, tzinfo=UTC)


def test_spend_counts_today_and_this_month_apart(budgets: Budgets, usage: InMemoryUsageLog) -> None:
    _call(usage, "alice", cost=0.2, tokens=100)
    _call(usage, "alice", cost=0.3, tokens=50, at=NOW.replace(hour=0))  # midnight: today
    _call(usage, "alice", cost=1.0, tokens=1000, at=NOW - timedelta(days=3))  # this month
    _call(usage, "alice", cost=9.0, tokens=9000, at=NOW - timedelta(days=15))  # last month
    _call(usage, "alice", cost=9.0, tokens=9000, at=NOW + timedelta(days=17))  # next month
    _call(usage, "alice", cost=None, tokens=7)  # unpriced: tokens only
    _call(usage, "bob", cost=5.0, tokens=5)
    spend = budgets.spend("user:alice")
    assert (spend.daily_usd, spend.daily_tokens) == (0.5, 157)
    assert (spend.monthly_usd, spend.monthly_tokens) == (1.5, 1157)
    assert (spend.daily_unpriced, spend.monthly_unpriced) == (1, 1)
    project = budgets.spend("project")
    assert (project.daily_usd, project.monthly_tokens) == (5.5, 1162)


def test_a_team_spends_what_its_members_spend(budgets: Budgets, usage: InMemoryUsageLog) -> None:
    budgets.set_team("ops", ["alice", "bob", "alice"])
    budgets.set_team("sales", ["carol"])
    _call(usage, "alice", cost=0.1)
    _call(usage, "bob", cost=0.2)
    _call(usage, "carol", cost=0.4)
    _call(usage, None, cost=0.8)  # a call without a user: the project's only
    assert budgets.store.members("team:ops") == ["alice", "bob"]
    assert budgets.store.team_of("alice") == ["team:ops"]
    assert budgets.spend("team:ops").daily_usd == pytest.approx(0.3)
    assert budgets.spend("team:sales").daily_usd == pytest.approx(0.4)
    assert budgets.spend("project").daily_usd == pytest.approx(1.5)
    budgets.set_team("ops", ["bob"])
    assert budgets.store.team_of("alice") == []
    assert budgets.spend("team:ops").daily_usd == pytest.approx(0.2)
    budgets.set_team("team:ops", [])
    assert budgets.store.members("ops") == []
    with pytest.raises(ValueError, match="not one string"):
        budgets.set_team("ops", "alice")


def test_no_caps_means_no_breach(budgets: Budgets, usage: InMemoryUsageLog) -> None:
    _call(usage, "alice", cost=100.0, tokens=10**6)
    assert budgets.breach_for("alice") is None
    assert budgets.breach_for(None) is None


def test_a_cap_is_reached_at_the_cap_not_before(budgets: Budgets, usage: InMemoryUsageLog) -> None:
    budgets.set_caps("user:alice", daily_tokens=200)
    _call(usage, "alice", tokens=199)
    assert budgets.breach_for("alice") is None
    _call(usage, "alice", tokens=1)
    assert budgets.breach_for("alice") == CapBreach("user:alice", "daily", "tokens", 200, 200)


def test_breaches_are_checked_user_then_teams_then_project(
    budgets: Budgets, usage: InMemoryUsageLog
) -> None:
    budgets.set_team("ops", ["alice", "bob"])
    budgets.set_caps("project", monthly_usd=1.0)
    budgets.set_caps("team:ops", daily_usd=0.5)
    budgets.set_caps("user:alice", daily_tokens=1000, monthly_usd=0.3)
    _call(usage, "bob", cost=0.6, tokens=10)
    _call(usage, "carol", cost=0.5, tokens=10)
    # alice spent nothing, but her team reached its daily cost cap (bob's calls)
    team = budgets.breach_for("alice")
    assert team == CapBreach("team:ops", "daily", "usd", 0.5, 0.6)
    assert team.describe() == "the daily cost cap of team ops ($0.50; $0.60 spent today)"
    _call(usage, "alice", cost=0.3, tokens=10, at=NOW - timedelta(days=2))
    own = budgets.breach_for("alice")
    assert own == CapBreach("user:alice", "monthly", "usd", 0.3, 0.3)
    assert own.describe() == "the monthly cost cap of user alice ($0.30; $0.30 spent this month)"
    # carol is in no team: only the project's cap (1.4 spent of 1.0) applies
    project = budgets.breach_for("carol")
    assert project is not None and project.scope == "project"
    assert budgets.breach_for(None) == project  # a call without a user: project caps only


def test_within_a_scope_daily_comes_before_monthly_and_cost_before_tokens(
    budgets: Budgets, usage: InMemoryUsageLog
) -> None:
    budgets.set_caps("project", daily_usd=1, monthly_usd=1, daily_tokens=10, monthly_tokens=10)
    _call(usage, None, cost=2.0, tokens=20)
    assert budgets.breach_for(None) == CapBreach("project", "daily", "usd", 1, 2.0)
    budgets.clear_caps("project", ["daily_usd"])
    breach = budgets.breach_for(None)
    assert breach == CapBreach("project", "daily", "tokens", 10, 20)
    assert breach.describe() == "the daily token cap of the project (10 tokens; 20 spent today)"
    budgets.clear_caps("project", ["daily_tokens"])
    assert budgets.breach_for(None) == CapBreach("project", "monthly", "usd", 1, 2.0)


def test_unpriced_calls_count_tokens_not_cost(budgets: Budgets, usage: InMemoryUsageLog) -> None:
    budgets.set_caps("user:dan", daily_usd=0.01, monthly_tokens=12_000)
    _call(usage, "dan", cost=None, tokens=12_345)
    breach = budgets.breach_for("dan")
    assert breach == CapBreach("user:dan", "monthly", "tokens", 12_000, 12_345)
    assert breach.describe() == (
        "the monthly token cap of user dan (12,000 tokens; 12,345 spent this month)"
    )


def test_show_lists_the_scopes_of_a_user_or_every_capped_scope(
    budgets: Budgets, usage: InMemoryUsageLog
) -> None:
    budgets.set_team("ops", ["alice"])
    budgets.set_caps("user:bob", daily_usd=1)
    budgets.set_caps("team:ops", daily_usd=2)
    _call(usage, "alice", cost=0.25)
    mine = budgets.show("alice")
    assert [scope for scope, _, _ in mine] == ["user:alice", "team:ops", "project"]
    assert mine[0][1] is None and mine[1][1] == Caps(daily_usd=2.0)
    assert [s.daily_usd for _, _, s in mine] == [0.25, 0.25, 0.25]
    assert [scope for scope, _, _ in budgets.show()] == ["team:ops", "user:bob", "project"]
    assert [scope for scope, _, _ in budgets.show(team="ops")] == ["team:ops", "project"]


def test_the_in_memory_saver_and_its_clones_share_one_store() -> None:
    saver = InMemorySaver()
    store = default_cap_store(saver)
    assert isinstance(store, InMemoryCapStore)
    assert default_cap_store(saver) is store
    assert default_cap_store(copy.copy(saver)) is store
    assert default_cap_store(InMemorySaver()) is not store
    store.set("project", Caps(daily_tokens=1), by="t")
    assert Budgets.for_checkpointer(saver).caps("project") == Caps(daily_tokens=1)
