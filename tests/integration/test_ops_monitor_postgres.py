"""The run monitor over Postgres: hundreds of threads in every status, the CLI, retry and fork.

The population (`scripts.bench.bench_ops_list.populate`): five template threads made by
running a ReAct graph (waiting, failed, finished, running, stopped), cloned in SQL into 250
threads (some aged two hours: stuck), the oldest waiting thread three hours older still,
and one busy thread with 2,500 checkpoints newer than all of them. Worker runs and dead
letters are added on top, in their real tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from checkpointers import open_checkpointer
from checkpointers.dead_letters import DeadLetter, default_dead_letters
from checkpointers.run_status import RunStatusTable
from cli.__main__ import main
from graphs.errors import UnknownThreadError
from graphs.registry import build_graph
from ops.monitor import fork_thread, list_runs, retry_run, run_detail, run_timeline
from scripts.bench.bench_ops_list import EFFECTS, Population, make_templates, populate
from tests.conftest import fresh_database

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[str, Population]]:
    """A database with the population, worker runs and dead letters (built once)."""
    with fresh_database("ap_ops") as url:
        population = populate(url, threads=250, busy_checkpoints=2500)
        finished = [t for t, s in population.expected.items() if s == "finished"][:12]
        failed = [t for t, s in population.expected.items() if s == "failed"][:4]
        runs = RunStatusTable(url)
        for index, thread in enumerate(finished[:4]):  # a worker's run failed after the last step
            runs.started(f"run-f{index}", thread, "react", worker="w1", worker_pid=11)
            runs.finished(f"run-f{index}", thread, "failed", error="worker lost the database")
            population.expected[thread] = "failed"
        for index, thread in enumerate(finished[4:8]):  # a worker took a new input just now
            runs.queued(f"run-q{index}", thread, "react")
            runs.started(f"run-q{index}", thread, "react", worker="w2", worker_pid=22)
            population.expected[thread] = "running"
        runs.queued("run-new", "t-queued", "react")  # no worker took it yet: no checkpoint
        runs.queued("run-lost", "t-lost", "react")  # queued two hours ago, never started
        population.expected.update({"t-queued": "running", "t-lost": "stuck"})
        population.owners.update({"t-queued": "", "t-lost": ""})
        population.graphs.update({"t-queued": "react", "t-lost": "react"})
        runs.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE agent_patterns_runs SET queued_at = now() - interval '2 hours', "
                "updated_at = now() - interval '2 hours' WHERE run_id = 'run-lost'"
            )
        with open_checkpointer(url) as saver:
            letters = default_dead_letters(saver)
            for thread in failed:
                letters.add(DeadLetter(source="worker", thread_id=thread, error="gave up"))
                population.expected[thread] = "dead_lettered"
        yield url, population


def test_every_thread_gets_its_status_from_one_listing(database: tuple[str, Population]) -> None:
    url, population = database
    with open_checkpointer(url) as saver:
        page = list_runs(saver, limit=1000)
    assert page.total == len(population.expected) == 253
    assert {r.thread_id: r.status for r in page.runs} == population.expected
    assert page.counts == dict(population.counts)
    assert set(page.counts) == {
        "waiting",
        "failed",
        "finished",
        "running",
        "stuck",
        "dead_lettered",
    }
    stuck = next(r for r in page.runs if r.status == "stuck" and r.checkpoint_id)
    assert stuck.age_s is not None and stuck.age_s > 7000 and stuck.next_nodes == ("run_tools",)
    failed = [r for r in page.runs if r.status == "failed"]
    errors = {(r.error or "").split(":")[0].split("(")[0] for r in failed}
    assert errors == {"RuntimeError", "terminal_error", "worker lost the database"}
    lettered = next(r for r in page.runs if r.status == "dead_lettered")
    assert lettered.dead_letter is not None and lettered.dead_letter["error"] == "gave up"


def test_an_old_waiting_thread_behind_thousands_of_newer_checkpoints(
    database: tuple[str, Population],
) -> None:
    url, population = database
    with open_checkpointer(url) as saver:
        page = list_runs(saver, status="waiting", limit=1000)
        busy = run_detail(saver, population.busy)
    assert page.runs[-1].thread_id == population.oldest_waiting  # the oldest, listed last
    waiting = page.runs[-1].waiting_for[0]
    assert waiting["action"] == "pay_tool" and waiting["args"] == {"amount": 5}
    assert page.runs[-1].age_s is not None and page.runs[-1].age_s > 3 * 3600 - 60
    assert waiting["age_s"] is not None and waiting["deadline"] is None
    assert busy["status"] == "finished" and busy["step"] is not None
    with open_checkpointer(url) as saver:
        lost = run_detail(saver, "t-lost")
    assert lost["status"] == "stuck" and lost["worker_run"]["status"] == "queued"
    assert lost["age_s"] > 7000 and [r["run_id"] for r in lost["worker_runs"]] == ["run-lost"]


def test_filters_by_owner_graph_time_and_pages(database: tuple[str, Population]) -> None:
    url, population = database
    with open_checkpointer(url) as saver:
        bobs = list_runs(saver, owner="bob", limit=1000)
        hitl = list_runs(saver, graph="hitl", status="waiting", limit=1000)
        old = list_runs(saver, before=datetime.now(UTC) - timedelta(hours=1), limit=1000)
        recent = list_runs(saver, since=datetime.now(UTC) - timedelta(hours=1), limit=1000)
        pages = [list_runs(saver, limit=100, offset=offset) for offset in (0, 100, 200)]
        with pytest.raises(ValueError, match="unknown run status 'lost'"):
            list_runs(saver, status="lost")
        with pytest.raises(ValueError, match="limit must be between"):
            list_runs(saver, limit=0)
    assert {r.thread_id for r in bobs.runs} == {
        t for t, owner in population.owners.items() if owner == "bob"
    }
    assert hitl.runs and all(r.graph_id == "hitl" and r.status == "waiting" for r in hitl.runs)
    assert hitl.total == sum(
        1
        for t, s in population.expected.items()
        if s == "waiting" and population.graphs[t] == "hitl"
    )
    assert {r.status for r in old.runs} == {"stuck", "waiting"}  # the aged clones only
    assert old.total + recent.total == 253
    listed = [r.thread_id for page in pages for r in page.runs]
    assert len(listed) == len(set(listed)) == 253


def _pay_graph(saver: Any, replies: list[Any]) -> Any:
    from graphs.react import build_react_graph
    from models.scripted import ScriptedChatModel
    from scripts.bench.bench_ops_list import pay_tool

    return build_react_graph(ScriptedChatModel(replies=replies), [pay_tool], checkpointer=saver)


def test_timeline_retry_and_fork_on_postgres(postgres_url: str) -> None:
    """A run that paid, then failed: its timeline, a retry that does not pay again, a fork."""
    EFFECTS.clear()
    with open_checkpointer(postgres_url) as saver:
        make_templates(saver, prefix="pg")
        timeline = run_timeline(saver, "pg-failed").to_dict()
        steps = [e["nodes"] for e in timeline["events"] if e["kind"] == "step"]
        assert steps == [["__start__"], ["call_model"], ["approval_gate"], ["run_tools"]]
        tool = [e for e in timeline["events"] if e["kind"] == "tool_call"]
        assert [(e["tool"], e["status"], e["attempts"]) for e in tool] == [
            ("pay_tool", "completed", 1)
        ]
        approval = next(e for e in timeline["events"] if e["kind"] == "approval")
        assert approval["decision"] == "accept" and approval["reviewer"] == "bench"
        assert [e["kind"] for e in timeline["events"]][-1] == "error"
        paid = len(EFFECTS)

        result = retry_run(saver, "pg-failed", graph=_pay_graph(saver, ["done"]))
        assert (result.status_before, result.status) == ("failed", "finished")
        assert len(EFFECTS) == paid  # the payment before the failure was not made again

        stopped = retry_run(saver, "pg-stopped", graph=_pay_graph(saver, ["all done"]))
        assert stopped.status == "finished" and len(EFFECTS) == paid

        graph = _pay_graph(saver, ["done"])
        chain = [
            s.config["configurable"]["checkpoint_id"]
            for s in graph.get_state_history({"configurable": {"thread_id": "pg-finished"}})
        ]
        fork = fork_thread(saver, "pg-finished", chain[2], graph=graph, new_thread_id="pg-fork")
        assert fork.copied_effects == 1  # the payment that ran before the fork point
        graph.invoke(None, {"configurable": {"thread_id": "pg-fork"}})
        assert len(EFFECTS) == paid


def test_the_cli_lists_shows_times_retries_and_forks(
    postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.delenv("CHECKPOINTER_URL", raising=False)
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "cli-1"}}
        with pytest.raises(Exception, match="credentials|api_key"):
            graph.invoke(
                {"messages": [("user", "Where is my order A-1002?")]},
                config,
                context={"model": "openai:gpt-4o-mini"},
            )
        graph.invoke(
            {"messages": [("user", "My order A-1001 arrived broken, please refund it.")]},
            {"configurable": {"thread_id": "cli-2"}},
            context={"model": "demo"},
        )

    assert main(["runs", "list"]) == 0
    table = capsys.readouterr().out
    assert "2 run(s): waiting 1, failed 1" in table
    assert "cli-2" in table and "issue_refund" in table and "OpenAIError" in table
    assert main(["runs", "list", "--status", "waiting", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["thread_id"] for r in listed["runs"]] == ["cli-2"]

    assert main(["runs", "show", "cli-2"]) == 0
    shown = capsys.readouterr().out
    assert "status:      waiting" in shown and "pending:     issue_refund" in shown
    assert main(["runs", "show", "nope"]) == 1
    capsys.readouterr()

    assert main(["runs", "timeline", "cli-2", "--json"]) == 0
    timeline = json.loads(capsys.readouterr().out)
    assert timeline["events"][-1]["kind"] == "interrupt"

    assert main(["runs", "retry", "cli-2"]) == 2  # waiting: not a failed run
    assert "waiting, not failed" in capsys.readouterr().err
    assert main(["runs", "retry", "cli-1", "--model", "demo"]) == 0
    assert "failed -> finished" in capsys.readouterr().out

    with open_checkpointer(postgres_url) as saver:
        history = list(
            build_graph("react", checkpointer=saver).get_state_history(
                {"configurable": {"thread_id": "cli-2"}}
            )
        )
    first = history[-2].config["configurable"]["checkpoint_id"]
    argv = ["runs", "fork", "cli-2", "--checkpoint", first[:30], "--thread", "cli-3"]
    assert main([*argv, "--set", "approvals=[]", "--json"]) == 0
    forked = json.loads(capsys.readouterr().out)
    assert forked["thread_id"] == "cli-3" and forked["edited"] == ["approvals"]
    assert main(["runs", "fork", "cli-2", "--checkpoint", "nope", "--thread", "cli-4"]) == 2
    assert "no checkpoint 'nope'" in capsys.readouterr().err
    with pytest.raises(UnknownThreadError):
        with open_checkpointer(postgres_url) as saver:
            run_detail(saver, "cli-2", owner="someone-else")


def test_a_lost_run_cannot_be_retried_without_a_checkpoint(
    database: tuple[str, Population],
) -> None:
    from ops.retry import RetryError

    url, _ = database
    with open_checkpointer(url) as saver, pytest.raises(RetryError, match="no checkpoint yet"):
        retry_run(saver, "t-lost")
