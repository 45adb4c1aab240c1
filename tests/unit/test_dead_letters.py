"""The dead-letter queue: a run exhausting its retries lands there, is retried once, or discarded.

Real compiled ReAct graphs on real savers (memory, a SQLite file); the model is scripted to
time out a number of times, then answer. Side effects are counted on a real tool.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from checkpointers import open_checkpointer
from checkpointers.dead_letters import DeadLetter, DeadLetterError, default_dead_letters
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from nodes.controls import Controls, RetrySettings
from nodes.runtime import PatternRuntime
from ops.dead_letters import (
    discard_letter,
    fork_letter,
    invoke_or_dead_letter,
    retry_letter,
)

RETRY = RetrySettings(max_attempts=3, initial_delay_s=0, jitter=0)
CALLS: list[str] = []


@tool
def note_order(order_id: str) -> str:
    """Write a note on an order (counted: a side effect)."""
    CALLS.append(order_id)
    return f"noted {order_id}"


note_order.metadata = {"side_effects": False}


def _graph(saver: Any, replies: list[Any]) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=RETRY))
    return build_react_graph(model, [note_order], runtime=runtime), model


def _failing_then_fine(failures: int) -> list[Any]:
    timeouts: list[Any] = [TimeoutError("the model timed out") for _ in range(failures)]
    return [tool_calls_reply(("note_order", {"order_id": "A-7"})), *timeouts, "Noted A-7."]


def _fail_once(graph: Any, thread: str) -> DeadLetter:
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    with pytest.raises(TimeoutError) as failed:
        invoke_or_dead_letter(graph, {"messages": [("user", "Note A-7")]}, config, graph_id="react")
    letter_id = failed.value.dead_letter_id  # type: ignore[attr-defined]
    found = default_dead_letters(graph.checkpointer).get(letter_id)
    assert found is not None
    return found


@pytest.mark.parametrize("url", ["memory", "sqlite"])
def test_a_run_exhausting_its_retries_lands_there_then_is_retried_once(
    url: str, tmp_path: Any
) -> None:
    CALLS.clear()
    target = f"sqlite:///{tmp_path}/dl.sqlite" if url == "sqlite" else "memory"
    with open_checkpointer(target) as saver:
        graph, model = _graph(saver, _failing_then_fine(3))
        thread = f"dl-{uuid.uuid4().hex[:8]}"
        letter = _fail_once(graph, thread)

        assert letter.status == "open" and letter.source == "in_process"
        assert letter.thread_id == thread and letter.graph_id == "react"
        assert letter.attempts == 3 and "TimeoutError" in letter.error
        assert letter.error_class == "retriable"
        latest = saver.get_tuple({"configurable": {"thread_id": thread}})
        assert latest is not None
        assert letter.checkpoint_id == latest.config["configurable"]["checkpoint_id"]
        assert CALLS == ["A-7"]
        store = default_dead_letters(saver)
        assert [x.id for x in store.list(status="open", graph_id="react")] == [letter.id]

        values = retry_letter(graph, letter.id, by="ana")

        assert values["messages"][-1].text == "Noted A-7."
        assert CALLS == ["A-7"]  # the tool ran once, before the failure
        retried = store.get(letter.id)
        assert retried is not None and retried.status == "retried"
        assert retried.resolved_by == "ana" and retried.resolved_at is not None
        assert store.list(status="open") == []
        with pytest.raises(DeadLetterError, match="retried already"):
            retry_letter(graph, letter.id, by="bob")


def test_a_retry_that_fails_again_writes_a_new_letter() -> None:
    CALLS.clear()
    with open_checkpointer("memory") as saver:
        graph, _ = _graph(saver, _failing_then_fine(6))
        first = _fail_once(graph, "twice")
        with pytest.raises(TimeoutError):
            retry_letter(graph, first.id, by="ana")
        store = default_dead_letters(saver)
        [second] = store.list(status="open")
        assert second.id != first.id and second.thread_id == "twice"
        assert retry_letter(graph, second.id, by="ana")["messages"][-1].text == "Noted A-7."
        assert CALLS == ["A-7"]


def test_discard_needs_a_reason_and_records_the_actor() -> None:
    with open_checkpointer("memory") as saver:
        graph, _ = _graph(saver, _failing_then_fine(3))
        letter = _fail_once(graph, "discarded")
        store = default_dead_letters(saver)
        for reason in ("", "   "):
            with pytest.raises(DeadLetterError, match="needs a reason"):
                discard_letter(store, letter.id, by="ana", reason=reason)
        with pytest.raises(DeadLetterError, match="who"):
            discard_letter(store, letter.id, by=" ", reason="customer withdrew")
        assert store.get(letter.id).status == "open"  # type: ignore[union-attr]

        done = discard_letter(store, letter.id, by="ana", reason="customer withdrew")

        assert (done.status, done.resolved_by, done.resolved_reason) == (
            "discarded",
            "ana",
            "customer withdrew",
        )
        with pytest.raises(DeadLetterError, match="discarded already"):
            retry_letter(graph, letter.id, by="bob")
        with pytest.raises(DeadLetterError, match="no dead letter"):
            discard_letter(store, "dl-nope", by="ana", reason="x")


def test_fork_copies_the_failed_thread_and_the_fork_finishes() -> None:
    CALLS.clear()
    with open_checkpointer("memory") as saver:
        graph, _ = _graph(saver, _failing_then_fine(3))
        letter = _fail_once(graph, "forked")
        fork = fork_letter(saver, letter.id, new_thread_id="forked-copy")

        assert fork.thread_id == "forked-copy" and fork.next_nodes == ("call_model",)
        result = graph.invoke(None, {"configurable": {"thread_id": fork.thread_id}})

        assert result["messages"][-1].text == "Noted A-7."
        assert CALLS == ["A-7"]
        original = graph.get_state({"configurable": {"thread_id": "forked"}})
        assert original.next  # the original still waits for its retry
        with pytest.raises(ValueError, match="exists already"):
            fork_letter(saver, letter.id, new_thread_id="forked-copy")


def test_unknown_filters_and_sources_are_refused() -> None:
    with open_checkpointer("memory") as saver:
        store = default_dead_letters(saver)
        with pytest.raises(DeadLetterError, match="status is one of"):
            store.list(status="opened")
        with pytest.raises(DeadLetterError, match="source is one of"):
            DeadLetter(source="cron")


def test_a_failed_worker_run_is_a_letter_but_a_resume_of_nothing_is_not() -> None:
    from workers.advance import NothingToResumeError
    from workers.dead_letter import record_worker_failure

    with open_checkpointer("memory") as saver:
        store = default_dead_letters(saver)
        facts = {"checkpointer": saver, "graph_id": "hitl", "thread_id": "w1", "attempts": 2}
        skipped = record_worker_failure(store, NothingToResumeError("answered"), **facts)  # type: ignore[arg-type]
        letter = record_worker_failure(store, ConnectionError("reset by peer"), **facts)  # type: ignore[arg-type]

        assert skipped is None
        assert letter is not None and (letter.source, letter.attempts) == ("worker", 2)
        assert letter.error_class == "retriable" and letter.graph_id == "hitl"
        assert [x.id for x in store.list(source="worker")] == [letter.id]


def test_a_sweep_letters_failed_runs_nobody_recorded_once() -> None:
    from ops.dead_letter_sweep import beat_entry, sweep_failed_runs

    CALLS.clear()
    with open_checkpointer("memory") as saver:
        graph, _ = _graph(saver, _failing_then_fine(3))
        config: RunnableConfig = {"configurable": {"thread_id": "served"}}
        with pytest.raises(TimeoutError):  # as the server runs it: no wrapper, no letter
            graph.invoke({"messages": [("user", "Note A-7")]}, config)
        store = default_dead_letters(saver)
        assert store.list() == []

        [letter] = sweep_failed_runs(saver)

        assert (letter.thread_id, letter.source, letter.graph_id) == (
            "served",
            "in_process",
            "react",
        )
        assert "TimeoutError" in letter.error and letter.checkpoint_id
        assert sweep_failed_runs(saver) == []  # lettered already
        assert retry_letter(graph, letter.id, by="ana")["messages"][-1].text == "Noted A-7."
        assert sweep_failed_runs(saver) == [] and CALLS == ["A-7"]
    assert beat_entry({})["agent-patterns-dlq-sweep"]["schedule"] == 300.0
    assert beat_entry({"AGENT_PATTERNS_DLQ_SWEEP_EVERY_S": "0"}) == {}


@pytest.mark.parametrize("url", ["memory", "sqlite"])
def test_letters_filter_by_owner_and_thread(url: str, tmp_path: Any) -> None:
    target = f"sqlite:///{tmp_path}/owners.sqlite" if url == "sqlite" else "memory"
    with open_checkpointer(target) as saver:
        store = default_dead_letters(saver)
        ana = store.add(DeadLetter(source="worker", thread_id="t-a", owner="ana", error="x"))
        store.add(DeadLetter(source="worker", thread_id="t-b", owner="bob", error="y"))
        store.add(DeadLetter(source="event", payload="not json", error="malformed"))

        assert [x.id for x in store.list(owner="ana")] == [ana.id]
        assert [x.thread_id for x in store.list(thread_id="t-b")] == ["t-b"]
        assert len(store.list()) == 3 and len(store.list(limit=2)) == 2
        assert store.get(ana.id) == ana
