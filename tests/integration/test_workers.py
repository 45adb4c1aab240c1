"""The workers on real RabbitMQ, real Postgres and real worker processes (`workers_harness`).

Each test consumes its own uniquely named queue(s), deleted afterwards, on a fresh database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig

from checkpointers.factory import open_checkpointer
from checkpointers.ledger import default_ledger
from checkpointers.run_status import RunStatusTable
from graphs.registry import build_graph
from tests.integration.workers_harness import (
    Workers,
    delete_queues,
    running_workers,
    unique_queue,
)
from workers.advance import RUN_ID_KEY, advance
from workers.api import follow, resume_run, run_input, submit_run, wait_for
from workers.locks import thread_lock

pytestmark = [pytest.mark.postgres, pytest.mark.workers]

LOOKUP = "Where is my order A-1001?"
REFUND = "My order A-1001 arrived broken, please refund it."
WAIT_S = 90.0


@pytest.fixture
def queue() -> Iterator[str]:
    name = unique_queue()
    yield name
    delete_queues(name)


@pytest.fixture
def workers() -> Iterator[Workers]:
    with running_workers() as started:
        yield started


def _messages(url: str, thread: str) -> list[tuple[str, str]]:
    with open_checkpointer(url) as saver:
        state = build_graph("react", checkpointer=saver).get_state(
            {"configurable": {"thread_id": thread}}
        )
    return [(m.type, m.text) for m in state.values["messages"]]


def _refunds(effects_log: Path) -> list[dict[str, object]]:
    if not effects_log.exists():
        return []
    lines = [json.loads(line) for line in effects_log.read_text().splitlines() if line.strip()]
    return [line for line in lines if line["kind"] == "refund"]


def test_a_react_run_is_finished_by_a_worker(
    postgres_url: str, queue: str, workers: Workers, tmp_path: Path
) -> None:
    worker = workers.start(postgres_url, [queue], tmp_path / "w")
    run_id = submit_run("react", "t-lookup", LOOKUP, queue=queue, url=postgres_url)

    record = wait_for("t-lookup", run_id, timeout_s=WAIT_S, url=postgres_url)

    assert record.status == "finished", record.error
    assert "A-1001" in (record.outcome or "") and "delivered" in (record.outcome or "")
    assert (record.worker_pid, record.attempts, record.queue) == (worker.pid, 1, queue)
    messages = _messages(postgres_url, "t-lookup")
    assert messages[0] == ("human", LOOKUP)
    assert [m for m in messages if m[0] == "human"] == [("human", LOOKUP)]
    assert messages[-1] == ("ai", record.outcome)


def test_a_run_waits_at_the_gate_and_a_decision_is_resumed_by_a_worker_once(
    postgres_url: str,
    queue: str,
    workers: Workers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cli.__main__ import main

    worker = workers.start(postgres_url, [queue], tmp_path / "w")
    first = submit_run("react", "t-refund", REFUND, queue=queue, url=postgres_url)
    waiting = wait_for("t-refund", first, timeout_s=WAIT_S, url=postgres_url)
    assert waiting.status == "waiting", waiting.error
    assert "issue_refund" in (waiting.outcome or "")
    assert _refunds(worker.effects_log) == []

    monkeypatch.setenv("AGENT_PATTERNS_WORKERS", "1")
    decide = ["approvals", "decide", "t-refund", "--accept", "--reviewer", "ana"]
    assert main([*decide, "--checkpointer", postgres_url]) == 0
    assert "queued for the workers" in capsys.readouterr().out

    runs = RunStatusTable(postgres_url)
    try:
        history = runs.history("t-refund")
    finally:
        runs.close()
    assert [r.run_id for r in history][0] == first and len(history) == 2
    resume = history[1]
    assert resume.queue == queue  # the resume follows the thread's queue
    done = wait_for("t-refund", resume.run_id, timeout_s=WAIT_S, url=postgres_url)
    assert done.status == "finished", done.error
    assert (done.worker_pid, done.attempts) == (worker.pid, 1)
    assert len(_refunds(worker.effects_log)) == 1
    with open_checkpointer(postgres_url) as saver:
        entries = default_ledger(saver).entries("t-refund")
    assert [(e.tool, e.status) for e in entries] == [("issue_refund", "completed")]


def test_a_fraud_event_is_decided_by_a_worker_and_its_block_resumed_by_one(
    postgres_url: str, queue: str, workers: Workers, tmp_path: Path
) -> None:
    """The event-driven agent's graph on the workers: the event (its JSON as the request, its
    id as the thread) waits at the gate with a block; the approved resume blocks the card once."""
    from demo.fraud import FRAUD_EVENT, FRAUD_REQUEST

    thread = str(FRAUD_EVENT["event_id"])
    worker = workers.start(postgres_url, [queue], tmp_path / "w")
    first = submit_run("fraud_events", thread, FRAUD_REQUEST, queue=queue, url=postgres_url)
    waiting = wait_for(thread, first, timeout_s=WAIT_S, url=postgres_url)
    assert waiting.status == "waiting" and "block_card" in (waiting.outcome or "")

    interrupt = (waiting.outcome or "").rsplit("interrupt ", 1)[1].rstrip(")")
    decision = {interrupt: {"type": "accept", "reviewer": "rita"}}
    resumed = resume_run(thread, decision, url=postgres_url)
    done = wait_for(thread, resumed, timeout_s=WAIT_S, url=postgres_url)
    assert done.status == "finished", done.error
    assert "Card block: done" in (done.outcome or "")
    lines = [json.loads(x) for x in worker.effects_log.read_text().splitlines() if x.strip()]
    assert [line["kind"] for line in lines].count("card_block") == 1, lines


def test_a_run_never_enters_a_thread_another_holds(
    postgres_url: str, queue: str, workers: Workers, tmp_path: Path
) -> None:
    workers.start(postgres_url, [queue], tmp_path / "w")
    runs = RunStatusTable(postgres_url)
    events = []
    try:
        with thread_lock(postgres_url, "t-locked") as held:
            assert held
            run_id = submit_run("react", "t-locked", LOOKUP, queue=queue, url=postgres_url)
            stream = follow("t-locked", run_id, timeout_s=WAIT_S, url=postgres_url)
            for event in stream:
                events.append(event)
                if event.kind == "busy":  # the worker tried, found the lock, will retry
                    break
            blocked = runs.get(run_id)
        events.extend(stream)  # the lock is released: the retry runs it
        done = runs.get(run_id)
    finally:
        runs.close()

    assert blocked is not None and (blocked.status, blocked.attempts) == ("queued", 0)
    assert done is not None and (done.status, done.attempts) == ("finished", 1)
    steps = [e.name for e in events if e.kind == "step"]
    assert steps == ["call_model", "run_tools", "call_model"]


def test_two_runs_of_one_thread_on_two_workers_take_turns(
    postgres_url: str, queue: str, workers: Workers, tmp_path: Path
) -> None:
    workers.start(postgres_url, [queue], tmp_path / "a")
    workers.start(postgres_url, [queue], tmp_path / "b")
    questions = [LOOKUP, "Where is my order A-1002?"]
    ids = [submit_run("react", "t-turns", q, queue=queue, url=postgres_url) for q in questions]

    records = [wait_for("t-turns", i, timeout_s=WAIT_S, url=postgres_url) for i in ids]

    assert [r.status for r in records] == ["finished", "finished"]
    first, second = sorted(records, key=lambda r: r.started_at)  # type: ignore[arg-type,return-value]
    assert first.updated_at is not None and second.started_at is not None
    assert second.started_at >= first.updated_at  # never at once
    humans = [text for kind, text in _messages(postgres_url, "t-turns") if kind == "human"]
    assert sorted(humans) == sorted(questions)


def test_runs_are_routed_to_the_pool_of_their_queue(
    postgres_url: str, workers: Workers, tmp_path: Path
) -> None:
    gpu, eu = unique_queue("ap_gpu"), unique_queue("ap_eu")
    gpu_worker = workers.start(postgres_url, [gpu], tmp_path / "gpu")
    eu_worker = workers.start(postgres_url, [eu], tmp_path / "eu")

    on_eu = submit_run("react", "t-eu", LOOKUP, queue=eu, url=postgres_url)
    on_gpu = submit_run("react", "t-gpu", LOOKUP, queue=gpu, url=postgres_url)

    eu_run = wait_for("t-eu", on_eu, timeout_s=WAIT_S, url=postgres_url)
    gpu_run = wait_for("t-gpu", on_gpu, timeout_s=WAIT_S, url=postgres_url)
    assert (eu_run.status, eu_run.worker_pid) == ("finished", eu_worker.pid)
    assert (gpu_run.status, gpu_run.worker_pid) == ("finished", gpu_worker.pid)


def test_a_worker_model_override_applies_unless_the_run_names_a_model(
    postgres_url: str, queue: str, workers: Workers, tmp_path: Path
) -> None:
    env = {"AGENT_PATTERNS_WORKER_MODEL": "openai:gpt-4o-mini"}  # no key: openai cannot start
    workers.start(postgres_url, [queue], tmp_path / "w", env=env)

    overridden = submit_run("react", "t-override", LOOKUP, queue=queue, url=postgres_url)
    named = submit_run(
        "react", "t-named", LOOKUP, queue=queue, url=postgres_url, context={"model": "demo"}
    )

    failed = wait_for("t-override", overridden, timeout_s=WAIT_S, url=postgres_url)
    assert failed.status == "failed"
    assert "api_key" in (failed.error or "").lower() or "OPENAI" in (failed.error or "")
    kept = wait_for("t-named", named, timeout_s=WAIT_S, url=postgres_url)
    assert kept.status == "finished", kept.error


def test_run_and_runs_show_on_the_command_line(
    postgres_url: str,
    queue: str,
    workers: Workers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cli.workers import main

    monkeypatch.setenv("DATABASE_URL", postgres_url)
    worker = workers.start(postgres_url, [queue], tmp_path / "w")

    assert main(["run", "react", "--thread", "t-cli", "--queue", queue, REFUND]) == 0
    waited = capsys.readouterr().out
    assert "running on" in waited and "step call_model" in waited
    assert "Thread t-cli waits for approval: issue_refund" in waited
    assert main(["run", "react", "--thread", "t-cli2", "--queue", queue, "--no-wait", LOOKUP]) == 0
    assert "queued on" in capsys.readouterr().out

    assert main(["runs", "show", "t-cli"]) == 0
    shown = capsys.readouterr().out
    assert "waiting" in shown and f"pid={worker.pid}" in shown and "attempts=1" in shown
    assert main(["runs", "show", "t-nothing"]) == 1


def test_a_redelivered_run_continues_from_its_checkpoint(postgres_url: str) -> None:
    """In-process: the run's input is applied once, whatever was done before the 'crash'."""
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        config: RunnableConfig = {
            "configurable": {"thread_id": "t-re"},
            "metadata": {RUN_ID_KEY: "run-1"},
        }
        # the first delivery got as far as the tools, then its worker died
        graph.invoke(run_input(LOOKUP), config, interrupt_before=["run_tools"], durability="sync")
        steps: list[str] = []
        outcome = advance(
            graph, "t-re", "run-1", {"input": run_input(LOOKUP)}, on_step=steps.append
        )
        assert outcome.status == "finished" and "delivered" in outcome.summary
        assert steps == ["run_tools", "call_model"]
        # delivered once more after it finished (killed before the ack): nothing runs again
        again = advance(graph, "t-re", "run-1", {"input": run_input(LOOKUP)}, on_step=steps.append)
        assert again == outcome and steps == ["run_tools", "call_model"]
        humans = [m for m in graph.get_state(config).values["messages"] if m.type == "human"]
        assert len(humans) == 1
