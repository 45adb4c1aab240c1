"""The dead-letter queue on real Postgres, a real Celery worker and real RabbitMQ.

- in process: a run exhausting its retries lands in the Postgres table; the CLI lists,
  shows, refuses a discard without a reason, discards (recording who and why), and retries
  another one with ``--model demo``;
- a worker: a run whose model endpoint refuses every connection fails after its retries and
  is dead-lettered with the task's attempts; an operator retries it with another model and
  it finishes;
- events: malformed and always-failing events are dead-lettered with their raw bodies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from checkpointers.dead_letters import DeadLetter, postgres_dead_letters
from checkpointers.factory import open_checkpointer
from cli.__main__ import main as cli_main
from cli.events import demo_items
from graphs.react import build_react_graph
from graphs.registry import build_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from nodes.controls import Controls, RetrySettings
from nodes.runtime import PatternRuntime
from ops.dead_letters import invoke_or_dead_letter, retry_letter
from tests.integration.services import free_port
from tests.integration.workers_harness import Workers, delete_queues, running_workers, unique_queue
from workers.api import submit_run, wait_for
from workers.events import EventTopology, broker_url, fraud_consumer, publish_events

pytestmark = [pytest.mark.postgres]

RETRY = RetrySettings(max_attempts=2, initial_delay_s=0, jitter=0)
NOTES: list[str] = []


@tool
def note_order(order_id: str) -> str:
    """Write a note on an order (counted)."""
    NOTES.append(order_id)
    return f"noted {order_id}"


note_order.metadata = {"side_effects": False}


def _fail(saver: Any, thread: str) -> DeadLetter:
    replies = [tool_calls_reply(("note_order", {"order_id": "A-9"}))]
    replies += [TimeoutError("model timed out") for _ in range(2)]
    model = ScriptedChatModel(replies=[*replies, "Noted."])
    runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=RETRY))
    graph = build_react_graph(model, [note_order], runtime=runtime)
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    with pytest.raises(TimeoutError) as failed:
        invoke_or_dead_letter(graph, {"messages": [("user", "Note A-9")]}, config)
    letter = postgres_dead_letters(_url(saver)).get(failed.value.dead_letter_id)  # type: ignore[attr-defined]
    assert letter is not None
    return letter


def _url(saver: Any) -> str:
    from checkpointers.saver_storage import saver_storage

    return saver_storage(saver).target


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = cli_main(list(argv))
    except SystemExit as exit_:  # argparse refusing the command line
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_cli_lists_shows_discards_and_retries_postgres_letters(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    NOTES.clear()
    with open_checkpointer(postgres_url) as saver:
        first, second = _fail(saver, "pg-one"), _fail(saver, "pg-two")
    assert (first.attempts, first.error_class, first.graph_id) == (2, "retriable", "react")
    db = ["--checkpointer", postgres_url]

    code, out, _ = _cli(capsys, "dlq", "list", "--status", "open", *db)
    assert code == 0 and first.id in out and second.id in out and "in_process" in out
    code, out, _ = _cli(capsys, "dlq", "show", first.id, *db)
    shown = json.loads(out)
    assert shown["thread_id"] == "pg-one" and shown["checkpoint_id"] == first.checkpoint_id
    code, _, err = _cli(capsys, "dlq", "discard", first.id, "--by", "ana", *db)
    assert code == 2 and "--reason" in err
    code, _, err = _cli(capsys, "dlq", "discard", first.id, "--by", "ana", "--reason", " ", *db)
    assert code == 2 and "needs a reason" in err
    code, out, _ = _cli(capsys, "dlq", "discard", first.id, "--by", "ana", "--reason", "dup", *db)
    assert code == 0 and "by ana: dup" in out

    code, out, err = _cli(capsys, "dlq", "retry", second.id, "--by", "bob", "--model", "demo", *db)

    assert code == 0, err
    assert f"retried {second.id}" in out
    store = postgres_dead_letters(postgres_url)
    done = store.get(second.id)
    assert done is not None and (done.status, done.resolved_by) == ("retried", "bob")
    assert "with model demo" in (done.resolved_reason or "")
    assert [x.id for x in store.list(status="discarded")] == [first.id]
    assert store.list(status="open") == []
    assert NOTES == ["A-9", "A-9"]  # each thread's tool ran once, before its failure
    code, _, err = _cli(capsys, "dlq", "retry", second.id, "--by", "carl", *db)
    assert code == 2 and "retried already" in err


def _broker_or_skip() -> None:
    try:
        with Connection(broker_url(), connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means no broker
        pytest.skip(f"RabbitMQ not reachable: {exc}")


@pytest.fixture
def queue() -> Iterator[str]:
    _broker_or_skip()
    name = unique_queue()
    yield name
    delete_queues(name)


@pytest.mark.workers
@pytest.mark.slow
def test_a_worker_run_exhausting_its_retries_is_dead_lettered_then_retried(
    postgres_url: str, queue: str, tmp_path: Path
) -> None:
    command = ["python", "-m", "tests.integration.unreachable_model_worker"]
    env = {"UNREACHABLE_OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}
    with running_workers() as workers:
        _start(workers, postgres_url, queue, tmp_path, command, env)
        run_id = submit_run(
            "react",
            "w-fail",
            "Where is my order A-1001?",
            context={"model": "openai:gpt-4o-mini"},
            queue=queue,
            url=postgres_url,
        )
        record = wait_for("w-fail", run_id, timeout_s=120, url=postgres_url)
    assert record.status == "failed"
    store = postgres_dead_letters(postgres_url)
    [letter] = store.list(source="worker")
    assert (letter.thread_id, letter.graph_id, letter.attempts) == ("w-fail", "react", 1)
    assert letter.error_class == "retriable" and "Connection" in letter.error

    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        values = retry_letter(graph, letter.id, by="ops", model="demo")

    assert "A-1001" in values["messages"][-1].text
    questions = [m for m in values["messages"] if m.type == "human"]
    assert len(questions) == 1  # the run's input was applied once
    assert store.get(letter.id).status == "retried"  # type: ignore[union-attr]


def _start(
    workers: Workers, url: str, queue: str, tmp: Path, command: list[str], env: dict[str, str]
) -> None:
    import sys

    workers.start(url, [queue], tmp / "w", command=[sys.executable, *command[1:]], env=env)


@pytest.mark.workers
def test_poison_events_are_dead_lettered_with_their_raw_body_and_republished(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _broker_or_skip()
    topology = EventTopology(prefix=f"test-{uuid.uuid4().hex[:10]}.", max_attempts=2)
    with Connection(broker_url()) as conn:
        topology.declare(conn.channel())
    try:
        publish_events(demo_items(0, poison=3, prefix="dl"), topology=topology)
        with fraud_consumer(postgres_url, topology=topology, context={"model": "demo"}) as c:
            counts = c.run(idle_exit_s=5, limit=4)  # two at once, the outage event twice
            assert counts["dead"] == 3, counts
            letters = postgres_dead_letters(postgres_url).list(source="event")
            _check_event_letters(letters)
            outage = next(x for x in letters if x.thread_id == "dl-outage-2")
            malformed = next(x for x in letters if x.thread_id is None)
            db = ["--checkpointer", postgres_url, "--prefix", topology.prefix]
            code, _, err = _cli(capsys, "dlq", "retry", malformed.id, "--by", "ops", *db)
            assert code == 2 and "malformed" in err
            code, out, err = _cli(capsys, "dlq", "retry", outage.id, "--by", "ops", *db)
            assert code == 0 and "republished to" in out, err

            again = c.run(idle_exit_s=5, limit=2)  # the consumer takes it up: still failing
    finally:
        with Connection(broker_url()) as conn:
            topology.delete(conn.channel())

    assert again["dead"] == 1, again
    store = postgres_dead_letters(postgres_url)
    assert store.get(outage.id).resolved_by == "ops"  # type: ignore[union-attr]
    [fresh] = [x for x in store.list(status="open") if x.thread_id == "dl-outage-2"]
    assert fresh.id != outage.id and fresh.payload == outage.payload


def _check_event_letters(letters: list[DeadLetter]) -> None:
    assert len(letters) == 3 and {x.status for x in letters} == {"open"}
    by_body = {x.payload: x for x in letters}
    assert by_body["not an event #0"].thread_id is None
    assert by_body["not an event #0"].error_class == "malformed"
    outage = next(x for x in letters if x.thread_id == "dl-outage-2")
    assert outage.attempts == 2 and outage.error_class == "event_failed"
    assert json.loads(outage.payload or "")["event_id"] == "dl-outage-2"


def test_a_sweep_letters_a_run_that_failed_outside_the_wrappers(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    NOTES.clear()
    replies = [tool_calls_reply(("note_order", {"order_id": "A-5"}))]
    replies += [TimeoutError("model timed out") for _ in range(2)]
    with open_checkpointer(postgres_url) as saver:
        runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=RETRY))
        graph = build_react_graph(ScriptedChatModel(replies=replies), [note_order], runtime=runtime)
        with pytest.raises(TimeoutError):  # as the server runs a graph: nothing records it
            graph.invoke({"messages": [("user", "Note A-5")]}, {"configurable": {"thread_id": "s"}})
    db = ["--checkpointer", postgres_url]

    code, out, err = _cli(capsys, "dlq", "sweep", *db)

    assert code == 0, err
    assert out.startswith("1 failed run(s) dead-lettered") and "  s  " in out
    [letter] = postgres_dead_letters(postgres_url).list(status="open")
    assert (letter.thread_id, letter.source, letter.graph_id) == ("s", "in_process", "react")
    assert _cli(capsys, "dlq", "sweep", *db)[1].startswith("0 failed run(s)")
    code, out, _ = _cli(capsys, "runs", "list", "--status", "dead_lettered", "--db", postgres_url)
    row = next(line for line in out.splitlines() if line.startswith("s "))
    assert code == 0 and "dead_lettered" in row  # the monitor sees the letter


def test_an_approved_refund_whose_run_then_fails_is_retried_without_a_second_refund(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from langgraph.types import Command

    from demo.effects import EFFECTS_LOG_ENV, read_effects

    monkeypatch.setenv(EFFECTS_LOG_ENV, str(tmp_path / "effects.jsonl"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-unreachable")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    config: RunnableConfig = {"configurable": {"thread_id": "refund-dl"}}
    refund = "My order A-1001 arrived broken, please refund it."
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        graph.invoke({"messages": [("user", refund)]}, config, context={"model": "demo"})
        [gate] = graph.get_state(config).interrupts
        decision = Command(resume={gate.id: {"type": "accept", "reviewer": "ana"}})
        with pytest.raises(Exception, match="Connection") as failed:  # the model after the refund
            invoke_or_dead_letter(graph, decision, config, context={"model": "openai:dl-test"})
    assert len(read_effects("refund")) == 1
    letter_id = failed.value.dead_letter_id  # type: ignore[attr-defined]
    letter = postgres_dead_letters(postgres_url).get(letter_id)
    assert letter is not None and letter.attempts == 3  # the role's three attempts

    db = ["--checkpointer", postgres_url]
    code, out, err = _cli(capsys, "dlq", "retry", letter_id, "--by", "ops", "--model", "demo", *db)

    assert code == 0, err
    assert len(read_effects("refund")) == 1  # the approved refund ran once
    with open_checkpointer(postgres_url) as saver:
        state = build_graph("react", checkpointer=saver).get_state(config)
    assert not state.next and "refund" in state.values["messages"][-1].text.lower()
