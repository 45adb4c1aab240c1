"""The status rules, the next-node reading and the CLI's time and edit parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from langgraph.types import Send

from cli.errors import CliError
from cli.ops_runs import parse_sets, parse_time
from ops.latest_checkpoints import next_nodes, stop_of_latest_input
from ops.status_rules import StatusFacts, classify, parse_status

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (StatusFacts(), "finished"),
        (StatusFacts(next_nodes=("a",), updated_at=NOW), "running"),
        (StatusFacts(next_nodes=("a",), updated_at=NOW - timedelta(hours=1)), "stuck"),
        (StatusFacts(interrupted=True, next_nodes=("gate",), error="x"), "waiting"),
        (StatusFacts(next_nodes=("a",), error="boom", updated_at=NOW), "failed"),
        (StatusFacts(stop={"kind": "budget"}), "failed"),
        (StatusFacts(interrupted=True, dead_lettered=True), "dead_lettered"),
        (StatusFacts(worker_status="queued", updated_at=NOW - timedelta(hours=1)), "stuck"),
        (
            StatusFacts(
                worker_status="queued",
                worker_updated_at=NOW,
                updated_at=NOW - timedelta(hours=1),
            ),
            "running",
        ),
        (
            StatusFacts(
                worker_status="failed",
                worker_updated_at=NOW - timedelta(minutes=5),
                updated_at=NOW - timedelta(minutes=6),
            ),
            "failed",
        ),
        (  # a checkpoint written after the worker's failure: the thread moved on
            StatusFacts(
                worker_status="failed",
                worker_updated_at=NOW - timedelta(minutes=6),
                updated_at=NOW - timedelta(minutes=5),
            ),
            "finished",
        ),
    ],
)
def test_classify(facts: StatusFacts, expected: str) -> None:
    assert classify(facts, now=NOW) == expected


def test_worker_activity_keeps_a_run_from_looking_stuck() -> None:
    facts = StatusFacts(
        next_nodes=("a",),
        updated_at=NOW - timedelta(hours=1),
        worker_status="running",
        worker_updated_at=NOW - timedelta(minutes=1),
    )
    assert classify(facts, now=NOW) == "running"
    assert classify(facts, now=NOW, stuck_after=timedelta(seconds=30)) == "stuck"


def test_parse_status() -> None:
    assert parse_status(None) is None and parse_status("Dead-Lettered") == "dead_lettered"
    with pytest.raises(ValueError, match="use one of running, stuck"):
        parse_status("lost")


def test_next_nodes_from_values_and_updated_channels() -> None:
    assert next_nodes({"branch:to:agent": None, "messages": []}, ["messages"]) == ("agent",)
    assert next_nodes({"__start__": {}}, ["__start__"]) == ("__start__",)
    assert next_nodes({"__start__": {}}, ["messages"]) == ()
    sends = [Send("approval_gate", {}), Send("approval_gate", {})]
    assert next_nodes({}, ["__pregel_tasks"], sends) == ("approval_gate",)
    assert next_nodes({}, ["__pregel_tasks"]) == ("(send)",)
    assert next_nodes({"__pregel_tasks": sends}, ["messages"], sends) == ()


def test_a_stop_counts_only_after_the_latest_input() -> None:
    stop = {"kind": "budget"}
    assert stop_of_latest_input({"__start__": "02", "run_stop": "05"}, stop) == stop
    assert stop_of_latest_input({"__start__": "07", "run_stop": "05"}, stop) is None
    assert stop_of_latest_input({"run_stop": "05"}, None) is None


def test_parse_time_and_sets() -> None:
    assert parse_time("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_time("2026-12-06T10:00Z") == datetime(2026, 12, 6, 10, tzinfo=UTC)
    assert parse_time("2026-12-06") == datetime(2026, 12, 6, tzinfo=UTC)
    with pytest.raises(CliError, match="not a time"):
        parse_time("yesterday")
    assert parse_sets(["a=1", 'b={"x": [1]}', "c=plain text"]) == {
        "a": 1,
        "b": {"x": [1]},
        "c": "plain text",
    }
    with pytest.raises(CliError, match="key=json"):
        parse_sets(["novalue"])
