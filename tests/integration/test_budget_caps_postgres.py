"""Budget caps beside Postgres (and SQLite) checkpoints, shared by processes; the budgets CLI.

"Another process" is a real subprocess writing caps, team members or usage rows through its
own store and usage log; this process reads them through `Budgets.for_checkpointer`.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checkpointers import budget_caps, open_checkpointer, usage
from checkpointers.budget_caps import Caps
from checkpointers.budget_caps_postgres import PostgresCapStore
from checkpointers.budget_caps_sqlite import SqliteCapStore
from checkpointers.usage import InMemoryUsageLog, UsageRecord, default_usage_log
from checkpointers.usage_postgres import PostgresUsageLog
from checkpointers.usage_sqlite import SqliteUsageLog
from cli.budgets import add_budget_commands, run_budget_command
from cli.errors import CliError
from nodes.budget_caps import Budgets, CapBreach

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
_PRELUDE = """
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from checkpointers.budget_caps import Caps
from checkpointers.budget_caps_postgres import PostgresCapStore
from checkpointers.usage import UsageRecord
from checkpointers.usage_postgres import PostgresUsageLog
url = sys.argv[1]

def call(log, call_id, user, cost, tokens):
    log.record(UsageRecord(call_id=call_id, thread_id="t", user_id=user, role="agent",
                           model="m", input_tokens=tokens, output_tokens=0,
                           total_tokens=tokens, cost_usd=cost))
"""


def _in_another_process(url: str, script: str) -> str:
    """Run `script` (after `_PRELUDE`) in a fresh Python process; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(script), url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _forget_shared(target: str) -> None:
    """Close the stores and usage logs this process shares for a database (as on exit)."""
    for shared in (budget_caps._shared_stores, usage._shared_logs):
        for key in [k for k in shared if target in k]:
            closing = shared.pop(key)
            if hasattr(closing, "close"):
                closing.close()


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    yield postgres_url
    _forget_shared(postgres_url)


def _row(call_id: str, user: str | None, cost: float | None, tokens: int) -> UsageRecord:
    return UsageRecord(
        call_id=call_id,
        thread_id="t",
        user_id=user,
        role="agent",
        model="m",
        input_tokens=tokens,
        output_tokens=0,
        total_tokens=tokens,
        cost_usd=cost,
    )


def test_caps_and_teams_set_in_another_process_are_enforced_here(pg_url: str) -> None:
    with open_checkpointer(pg_url) as saver:
        budgets = Budgets.for_checkpointer(saver)
        assert isinstance(budgets.store, PostgresCapStore)
        assert budgets.caps("user:alice") is None  # read (and cached) before the other process
        assert budgets.breach_for("alice") is None  # no usage table yet: nothing spent

        _in_another_process(
            pg_url,
            """
            store = PostgresCapStore(url)
            store.set("user:alice", Caps(daily_usd=0.5), by="ops")
            store.set("team:ops", Caps(monthly_tokens=1000), by="ops")
            store.set_members("team:ops", ["alice", "bob"])
            """,
        )
        deadline = time.monotonic() + 10  # the snapshot is at most a second old
        while budgets.caps("user:alice") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert budgets.caps("user:alice") == Caps(daily_usd=0.5)
        assert budgets.caps("user:alice").updated_by == "ops"  # type: ignore[union-attr]
        assert budgets.store.team_of("alice") == ["team:ops"]

        log = default_usage_log(saver)
        log.record(_row("here-1", "bob", None, 600))  # bob: a team member, unpriced
        log.record(_row("here-2", "alice", 0.2, 300))
        assert budgets.breach_for("alice") is None  # $0.20 of $0.50; 900 of 1,000 tokens
        log.record(_row("here-3", "bob", 0.01, 100))
        assert budgets.breach_for("alice") == CapBreach("team:ops", "monthly", "tokens", 1000, 1000)
        assert budgets.breach_for("carol") is None


def test_spend_written_by_another_process_is_counted_here(pg_url: str) -> None:
    with open_checkpointer(pg_url) as saver:
        budgets = Budgets.for_checkpointer(saver)
        budgets.set_caps("user:alice", daily_usd=0.5)
        budgets.set_caps("project", daily_tokens=5000)
        _in_another_process(
            pg_url,
            """
            log = PostgresUsageLog(url)
            call(log, "a1", "alice", 0.25, 100)
            call(log, "a2", "alice", 0.27, 100)
            call(log, "a2", "alice", 0.27, 100)  # the same call again: counted once
            call(log, "n1", None, None, 40)
            """,
        )
        spend = budgets.spend("user:alice")
        assert (spend.daily_usd, spend.daily_tokens) == (0.52, 200)
        project = budgets.spend("project")
        assert (project.monthly_tokens, project.monthly_unpriced) == (240, 1)
        breach = budgets.breach_for("alice")
        assert breach == CapBreach("user:alice", "daily", "usd", 0.5, 0.52)
        assert breach.describe() == "the daily cost cap of user alice ($0.50; $0.52 spent today)"
        assert budgets.breach_for(None) is None  # 240 of the project's 5,000 tokens

    # and a cap set here stops a call checked in the other process
    out = _in_another_process(
        pg_url,
        """
        from nodes.budget_caps import Budgets
        store = PostgresCapStore(url)
        budgets = Budgets(store, PostgresUsageLog(url), spend=store)
        print(budgets.breach_for("alice").describe())
        """,
    )
    assert out.strip() == "the daily cost cap of user alice ($0.50; $0.52 spent today)"


def _cli(*argv: str) -> str:
    parser = argparse.ArgumentParser(prog="agent-patterns")
    add_budget_commands(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    assert run_budget_command(parser.parse_args(["budgets", *argv]), out) == 0
    return out.getvalue()


def _cli_round_trip(url: str) -> None:
    """Set caps and a team through the CLI; spend; show them; refuse bad values."""
    with open_checkpointer(url) as saver:  # the checkpoints exist before `show`
        default_usage_log(saver).record(_row("c1", "alice", 0.75, 1234))
        default_usage_log(saver).record(_row("c2", "bob", None, 10))
    where = ("--checkpointer", url)
    assert "daily usd $0.50" in _cli("set", "--user", "alice", "--daily-usd", "0.5", *where)
    both = _cli("set", "--user", "alice", "--monthly-tokens", "20_000", *where)
    assert both.strip() == (
        "caps of user:alice: daily usd $0.50, monthly usd no cap, daily tokens no cap, "
        "monthly tokens 20,000"
    )
    team = _cli("set", "--team", "ops", "--members", "alice,bob", "--daily-tokens", "5000", *where)
    assert "members of team:ops: alice, bob" in team
    assert _cli("set", "--project", "--monthly-usd", "100", *where).startswith("caps of project")

    shown = _cli("show", "--user", "alice", *where).splitlines()
    assert shown[1].split() == "scope period cost cap cost spent token cap tokens spent".split()
    assert shown[2].split() == "user:alice today $0.50 $0.75 REACHED no cap 1,234".split()
    assert shown[3].split() == ["this", "month", "no", "cap", "$0.75", "20,000", "1,234"]
    assert shown[4].split() == ["team:ops", "today", "no", "cap", "$0.75", "5,000", "1,244"]
    assert "members of team:ops: alice, bob" in shown
    assert any(
        line.startswith("note: 1 call(s) of team:ops this month had no price") for line in shown
    )

    _cli("set", "--user", "alice", "--clear", "daily-usd", "monthly-tokens", *where)
    everything = _cli("show", *where)
    assert "user:alice" not in everything  # no caps left: not listed
    assert [line.split()[0] for line in everything.splitlines()[2:6:2]] == ["team:ops", "project"]
    for argv, message in (
        (("--daily-usd", "-1"), "--daily-usd: not a non-negative amount of US dollars: '-1'"),
        (("--daily-usd", "lots"), "--daily-usd: not a non-negative amount"),
        (("--monthly-tokens", "1.5"), "--monthly-tokens: not a non-negative whole number"),
        ((), "budgets set needs at least one of"),
    ):
        with pytest.raises(CliError, match=message):
            _cli("set", "--project", *argv, *where)
    with pytest.raises(CliError, match="--members goes with --team"):
        _cli("set", "--user", "bob", "--members", "x", *where)


def test_the_cli_sets_and_shows_caps_on_a_postgres_checkpointer(pg_url: str) -> None:
    _cli_round_trip(pg_url)
    store = PostgresCapStore(pg_url, cache_s=0)  # what another process reads
    try:
        assert store.get("team:ops") == Caps(daily_tokens=5000)
        assert store.get("user:alice") is None
    finally:
        store.close()


def test_the_cli_sets_and_shows_caps_in_a_sqlite_checkpoint_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"
    try:
        _cli_round_trip(f"sqlite:///{path}")
    finally:
        _forget_shared(str(path))
    store = SqliteCapStore(str(path), cache_s=0)
    try:
        assert store.all() == {
            "project": Caps(monthly_usd=100.0),
            "team:ops": Caps(daily_tokens=5000),
        }
        assert store.members("ops") == ["alice", "bob"]
        project = store.get("project")
        assert project is not None and project.updated_by == "operator"
        assert project.updated_at is not None and project.updated_at <= datetime.now(UTC)
    finally:
        store.close()


NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
_TIMES = {
    "today-midnight": NOW.replace(hour=0),
    "today": NOW,
    "yesterday": NOW - timedelta(days=1),
    "month-start": NOW.replace(day=1, hour=0),
    "last-month": NOW.replace(day=1, hour=0) - timedelta(microseconds=1),
    "next-month": NOW.replace(month=4, day=1, hour=0),
}


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_sql_spend_counts_utc_days_and_months_as_the_rows_do(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = request.getfixturevalue("pg_url") if kind == "postgres" else str(tmp_path / "f.db")
    store = PostgresCapStore(target) if kind == "postgres" else SqliteCapStore(target)
    log = PostgresUsageLog(target) if kind == "postgres" else SqliteUsageLog(target)
    memory = InMemoryUsageLog()
    try:
        for index, (name, at) in enumerate(_TIMES.items()):
            for user, cost in (("alice", 0.5 + index), ("bob", None), (None, 0.25)):
                row = replace(_row(f"{name}-{user}", user, cost, 10 + index), recorded_at=at)
                log.record(row)
                memory.record(row)
        store.set_members("ops", ["alice", "bob"])
        sql = Budgets(store, log, clock=lambda: NOW, spend=store)
        rows = Budgets(store, memory, clock=lambda: NOW)  # sums the rows in Python
        for scope in ("user:alice", "user:bob", "team:ops", "team:none", "project"):
            assert sql.spend(scope) == rows.spend(scope), scope
        alice = sql.spend("user:alice")
        assert (alice.daily_usd, alice.daily_tokens) == (0.5 + 1.5, 10 + 11)
        assert alice.monthly_usd == 0.5 + 1.5 + 2.5 + 3.5
        team = sql.spend("team:ops")
        assert (team.monthly_tokens, team.monthly_unpriced, team.daily_unpriced) == (
            2 * (10 + 11 + 12 + 13),
            4,
            2,
        )
    finally:
        store.close()
        log.close()
