"""The run monitor on the in-memory saver: statuses, detail, timeline, retry and fork.

A ReAct graph with a scripted model and one side-effecting tool (`pay_tool`, whose effects
land in `EFFECTS`): the tests count payments to prove that a retry or a fork never pays twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from graphs.errors import UnknownThreadError
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from nodes.error_classes import CallError
from ops.fork import ForkError
from ops.monitor import fork_thread, list_runs, retry_run, run_detail, run_timeline
from ops.retry import RetryError
from scripts.bench.bench_ops_list import EFFECTS, pay_tool

PAY = tool_calls_reply(("pay_tool", {"amount": 5}))


def graph_of(saver: InMemorySaver, *replies: Any) -> Any:
    return build_react_graph(
        ScriptedChatModel(replies=list(replies)), [pay_tool], checkpointer=saver
    )


def config(thread: str, checkpoint: str | None = None) -> Any:
    configurable = {"thread_id": thread}
    if checkpoint:
        configurable["checkpoint_id"] = checkpoint
    return {"configurable": configurable}


def start(graph: Any, thread: str) -> None:
    """Run to the approval gate (the model asks to pay)."""
    graph.invoke({"messages": [("user", "pay 5")]}, config(thread))


def accept(graph: Any, thread: str, **options: Any) -> None:
    pending = graph.get_state(config(thread)).interrupts[0].id
    graph.invoke(
        Command(resume={pending: {"type": "accept", "reviewer": "ana"}}), config(thread), **options
    )


@pytest.fixture(autouse=True)
def _no_effects() -> None:
    EFFECTS.clear()


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver()


def test_statuses_from_checkpoints(saver: InMemorySaver) -> None:
    start(graph_of(saver, PAY), "waiting")
    failing = graph_of(saver, PAY, RuntimeError("model down"))
    start(failing, "failed")
    with pytest.raises(RuntimeError):
        accept(failing, "failed")
    stopping = graph_of(saver, PAY, CallError("refused"))
    start(stopping, "stopped")
    accept(stopping, "stopped")
    finishing = graph_of(saver, PAY, "done")
    start(finishing, "finished")
    accept(finishing, "finished")
    pausing = graph_of(saver, PAY)
    start(pausing, "running")
    accept(pausing, "running", interrupt_before=["run_tools"])

    page = list_runs(saver)
    statuses = {r.thread_id: r.status for r in page.runs}
    assert statuses == {
        "waiting": "waiting",
        "failed": "failed",
        "stopped": "failed",
        "finished": "finished",
        "running": "running",
    }
    by_id = {r.thread_id: r for r in page.runs}
    assert by_id["failed"].error == "RuntimeError('model down')"
    assert (by_id["stopped"].error or "").startswith("terminal_error: the agent model")
    assert by_id["running"].next_nodes == ("run_tools",)
    assert by_id["waiting"].waiting_for[0]["action"] == "pay_tool"
    later = datetime.now(UTC) + timedelta(hours=1)
    assert list_runs(saver, status="stuck", now=later).runs[0].thread_id == "running"
    assert [r.thread_id for r in list_runs(saver, status="failed", limit=1).runs] == ["stopped"]
    assert list_runs(saver, status="failed", limit=1).total == 2


def test_detail_shows_the_pending_request_in_full(saver: InMemorySaver) -> None:
    graph_of(saver, PAY).invoke(
        {"messages": [("user", "pay 5")]}, config("t"), context={"approval_timeout_s": 60}
    )
    waiting = list_runs(saver).runs[0].waiting_for[0]
    assert waiting["deadline"] and not waiting["expired"] and waiting["age_s"] < 60
    later = datetime.now(UTC) + timedelta(minutes=2)
    late = list_runs(saver, now=later).runs[0].waiting_for[0]
    assert late["expired"] and late["age_s"] >= 120
    detail = run_detail(saver, "t")
    assert detail["status"] == "waiting" and detail["graph_id"] == "react"
    request = detail["pending"][0]
    assert request["request"]["action_request"] == {"action": "pay_tool", "args": {"amount": 5}}
    assert "Pay an amount" in request["description"]
    assert detail["usage"]["calls"] == 1
    with pytest.raises(UnknownThreadError):
        run_detail(saver, "nope")


def test_owner_scoping_hides_other_users_threads(saver: InMemorySaver) -> None:
    graph = graph_of(saver, PAY, PAY)
    graph.invoke({"messages": [("user", "pay")]}, {**config("mine"), "metadata": {"owner": "ana"}})
    graph.invoke(
        {"messages": [("user", "pay")]}, {**config("theirs"), "metadata": {"owner": "bob"}}
    )
    assert [r.thread_id for r in list_runs(saver, owner="ana").runs] == ["mine"]
    for call in (run_detail, run_timeline):
        with pytest.raises(UnknownThreadError):
            call(saver, "theirs", owner="ana")
    with pytest.raises(UnknownThreadError):
        retry_run(saver, "theirs", owner="ana")
    with pytest.raises(UnknownThreadError):
        fork_thread(saver, "theirs", "x", owner="ana")


def test_timeline_matches_the_steps_the_run_made(saver: InMemorySaver) -> None:
    graph = graph_of(saver, PAY, "done")
    start(graph, "t")
    accept(graph, "t")
    timeline = run_timeline(saver, "t")
    steps = [e["nodes"] for e in timeline.steps]
    assert steps == [
        ["__start__"],
        ["call_model"],
        ["approval_gate"],
        ["run_tools"],
        ["call_model"],
    ]
    history = list(graph.get_state_history(config("t")))[::-1]
    assert [list(s.next) for s in history[:-1]] == steps  # what LangGraph says ran, in order
    assert all(e["duration_s"] is not None and e["duration_s"] >= 0 for e in timeline.steps)
    kinds = [e["kind"] for e in timeline.events]
    assert kinds.count("model_call") == 2 and kinds.count("tool_call") == 1
    assert kinds.index("approval") < kinds.index("tool_call")
    data = timeline.to_dict()
    assert data["steps"] == 5 and data["retries"] == 0


def test_retry_continues_without_paying_again(saver: InMemorySaver) -> None:
    failing = graph_of(saver, PAY, RuntimeError("model down"))
    start(failing, "t")
    with pytest.raises(RuntimeError):
        accept(failing, "t")
    assert EFFECTS == [5]
    error = run_timeline(saver, "t").events[-1]
    assert (error["kind"], error["nodes"]) == ("error", ["call_model"])
    with pytest.raises(RetryError, match="finished|waiting"):
        start(graph_of(saver, PAY), "other")
        retry_run(saver, "other", graph=graph_of(saver, "x"))
    result = retry_run(saver, "t", graph=graph_of(saver, "done"))
    assert (result.status_before, result.status) == ("failed", "finished")
    assert EFFECTS == [5]


def test_retry_from_before_the_payment_replays_it_from_the_ledger(saver: InMemorySaver) -> None:
    """As if the checkpoint after the payment was lost: the ledger answers, nobody pays."""
    failing = graph_of(saver, PAY, RuntimeError("model down"))
    start(failing, "t")
    with pytest.raises(RuntimeError):
        accept(failing, "t")
    before_tools = next(
        s.config["configurable"]["checkpoint_id"]
        for s in failing.get_state_history(config("t"))
        if s.next == ("run_tools",)
    )
    with pytest.raises(RetryError, match="no checkpoint"):
        retry_run(saver, "t", graph=graph_of(saver, "done"), checkpoint_id="nope")
    retry_run(saver, "t", graph=graph_of(saver, "done"), checkpoint_id=before_tools)
    assert EFFECTS == [5]
    messages = failing.get_state(config("t")).values["messages"]
    assert [m.content for m in messages if m.type == "tool"] == ["paid 5"]


def test_retry_of_a_stopped_run_with_another_model(saver: InMemorySaver) -> None:
    stopping = graph_of(saver, PAY, CallError("refused"))
    start(stopping, "t")
    accept(stopping, "t")
    stops = [e for e in run_timeline(saver, "t").events if e["kind"] == "stop"]
    assert [e["stop_kind"] for e in stops] == ["terminal_error"]
    result = retry_run(saver, "t", graph=graph_of(saver, "all done"))
    assert result.status == "finished" and EFFECTS == [5]
    assert stopping.get_state(config("t")).values["messages"][-1].content == "all done"


def test_a_fork_does_not_inherit_an_approval_of_a_call_not_yet_run(saver: InMemorySaver) -> None:
    """The attack: approve in the source, fork before the payment ran, run both."""
    source = graph_of(saver, PAY)
    start(source, "src")
    accept(source, "src", interrupt_before=["run_tools"])  # approved, not yet paid
    approved = source.get_state(config("src")).config["configurable"]["checkpoint_id"]

    fork = fork_thread(saver, "src", approved, graph=source, new_thread_id="fork")
    assert fork.next_nodes == ("run_tools",) and fork.copied_effects == 0
    graph_of(saver, "fork done").invoke(None, config("fork"))
    forked = source.get_state(config("fork")).values["messages"]
    assert "needs approval and none was recorded" in forked[-2].content
    assert EFFECTS == []

    graph_of(saver, "source done").invoke(None, config("src"))
    assert EFFECTS == [5]  # exactly one payment, in the source


def test_a_fork_after_the_payment_replays_it_and_edits_state(saver: InMemorySaver) -> None:
    graph = graph_of(saver, PAY, "done")
    start(graph, "src")
    accept(graph, "src")
    after_payment = next(
        s for s in graph.get_state_history(config("src")) if s.next == ("call_model",)
    )
    checkpoint = after_payment.config["configurable"]["checkpoint_id"]
    fork = fork_thread(
        saver, "src", checkpoint, {"approvals": []}, graph=graph, new_thread_id="fork"
    )
    assert fork.copied_effects == 1 and fork.edited == ("approvals",)
    assert graph.get_state(config("fork")).values["approvals"] == []
    assert graph.get_state(config("src")).values["approvals"]  # the source is untouched
    graph_of(saver, "fork done").invoke(None, config("fork"))
    assert EFFECTS == [5]
    with pytest.raises(ForkError, match="exists already"):
        fork_thread(saver, "src", checkpoint, graph=graph, new_thread_id="fork")
    with pytest.raises(ForkError, match="no field"):
        fork_thread(saver, "src", checkpoint, {"nonsense": 1}, graph=graph)
    with pytest.raises(ForkError, match="no checkpoint"):
        fork_thread(saver, "src", "nope", graph=graph)


def test_a_cut_short_call_is_copied_as_unknown_never_rerun(saver: InMemorySaver) -> None:
    from checkpointers.ledger import default_ledger

    graph = graph_of(saver, PAY)
    start(graph, "src")
    accept(graph, "src", interrupt_before=["run_tools"])
    state = graph.get_state(config("src"))
    call = state.values["messages"][-1].tool_calls[0]
    ledger = default_ledger(saver)
    ledger.begin("src", call["id"], "pay_tool", call["args"])  # the process died inside
    fork = fork_thread(saver, "src", state.config["configurable"]["checkpoint_id"], graph=graph)
    assert fork.unknown_effects == 1
    entry = next(e for e in ledger.entries(fork.thread_id) if e.tool_call_id == call["id"])
    assert entry.status == "unknown"
    assert ledger.decision(fork.thread_id, call["id"]) is None


def test_detail_of_a_hitl_request_carries_its_evidence(saver: InMemorySaver) -> None:
    from graphs.registry import build_graph

    build_graph("hitl", checkpointer=saver).invoke(
        {"messages": [("user", "Refund order A-1002 please, it is late.")]},
        config("h"),
        context={"model": "demo"},
    )
    detail = run_detail(saver, "h")
    assert detail["status"] == "waiting" and detail["graph_id"] == "hitl"
    assert {"case", "facts", "recommendation", "policy"} <= set(detail["evidence"])
    request = detail["pending"][0]
    assert request["action"] == "issue_refund" and request["args"]["order_id"] == "A-1002"
    assert "recommend" in request["description"].lower()
