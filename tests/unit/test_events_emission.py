"""The shared nodes emit one event per decision: model and tool calls, approvals, budget stops,
fallbacks, breaker changes, nodes and runs finished, with the run's context fields."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from pydantic import BaseModel

from checkpointers.breakers import InMemoryBreakerStore
from demo.orders import order_tools
from graphs.react import build_react_graph
from graphs.registry import build_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.breakers import BreakerBoard
from nodes.controls import BreakerSettings, Controls, RetrySettings
from nodes.runtime import PatternRuntime
from observability.events import Event, add_sink, sinks_active
from tools.registry import agent_tool

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
LOOKUP = ("lookup_order", {"order_id": "A-1001"})


class Overloaded(Exception):
    """The provider cannot serve this model now (another model may)."""

    status_code = 503


@pytest.fixture
def seen() -> Iterator[list[Event]]:
    events: list[Event] = []
    remove = add_sink(events.append)
    yield events
    remove()


def _of(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [event.fields for event in events if event.kind == kind]


def _react(replies: list[Any], **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    model = ScriptedChatModel(replies=replies)
    graph = build_react_graph(model=model, checkpointer=InMemorySaver(), **kwargs)
    return graph, {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}


def test_a_run_with_an_approval_emits_each_decision_once(seen: list[Event]) -> None:
    graph, config = _react(
        [tool_calls_reply(LOOKUP), tool_calls_reply(REFUND), "Refunded."], tools=order_tools()
    )
    graph.invoke({"messages": [HumanMessage("refund A-1001")]}, config)
    first = [event.kind for event in seen]
    assert first == [
        "model_call",
        "node_finished",
        "tool_call",
        "node_finished",
        "model_call",
        "node_finished",
        "approval_requested",
        "run_finished",
    ]
    [requested] = _of(seen, "approval_requested")
    assert requested["tool"] == "issue_refund" and requested["call_id"]
    [paused] = _of(seen, "run_finished")
    assert paused["outcome"] == "interrupted" and paused["pattern"] == "react"
    thread = config["configurable"]["thread_id"]
    run_id = paused["run_id"]
    for event in seen:
        assert event.fields["thread_id"] == thread and event.fields["run_id"] == run_id
        assert event.fields["graph_id"] == "react"
    model_call = _of(seen, "model_call")[0]
    assert model_call["success"] is True and model_call["input_tokens"] > 0
    assert model_call["node"] == "call_model" and model_call["step"] == 1
    assert model_call["model"].startswith("offline:") and model_call["cost_usd"] == 0.0
    lookup = _of(seen, "tool_call")[0]
    assert (lookup["tool"], lookup["success"], lookup["side_effect"]) == (
        "lookup_order",
        True,
        False,
    )
    assert lookup["latency_s"] >= 0

    seen.clear()
    graph.invoke(Command(resume=[{"type": "accept"}]), config)
    [decided] = _of(seen, "approval_decided")
    assert decided["decision"] == "accept" and decided["call_id"] == requested["call_id"]
    assert decided["wait_s"] >= 0 and decided["reviewer"]
    [refund] = _of(seen, "tool_call")
    assert refund["tool"] == "issue_refund" and refund["side_effect"] is True
    [done] = _of(seen, "run_finished")
    assert done["outcome"] == "success" and done["run_id"] != run_id
    assert not _of(seen, "approval_requested")  # the resumed gate does not ask again


def test_a_rejection_is_reported_as_reject(seen: list[Event]) -> None:
    graph, config = _react([tool_calls_reply(REFUND), "Not refunded."], tools=order_tools())
    graph.invoke({"messages": [HumanMessage("refund A-1001")]}, config)
    graph.invoke(Command(resume=[{"type": "ignore", "args": None}]), config)
    [decided] = _of(seen, "approval_decided")
    assert decided["decision"] == "reject"
    assert not [t for t in _of(seen, "tool_call") if t["tool"] == "issue_refund"]


def test_a_failing_tool_is_a_failed_tool_call(seen: list[Event]) -> None:
    class Order(BaseModel):
        order_id: str

    @agent_tool(args_schema=Order, side_effects=False)
    def flaky_lookup(order_id: str) -> str:
        """Look an order up (always fails here)."""
        raise ValueError("backend says no")

    graph, config = _react(
        [tool_calls_reply(("flaky_lookup", {"order_id": "A-1"})), "Sorry."], tools=[flaky_lookup]
    )
    graph.invoke({"messages": [HumanMessage("where is A-1?")]}, config)
    [call] = _of(seen, "tool_call")
    assert call["success"] is False and call["error"]
    assert [r["outcome"] for r in _of(seen, "run_finished")] == ["success"]


def test_a_spent_budget_emits_a_budget_stop_and_a_stopped_run(seen: list[Event]) -> None:
    graph, config = _react([tool_calls_reply(LOOKUP), "done"], tools=order_tools())
    graph.invoke(
        {"messages": [HumanMessage("where is A-1001?")]},
        config,
        context={"max_seconds_per_run": 1e-9},
    )
    [stop] = _of(seen, "budget_stop")
    assert stop["limit"] == "max_seconds_per_run" and "max_seconds_per_run" in stop["reason"]
    assert _of(seen, "run_finished")[0]["outcome"] == "stopped"
    assert not _of(seen, "model_call")  # stopped before the call: no call is reported
    assert [n["success"] for n in _of(seen, "node_finished")] == [False]


def test_a_fallback_and_the_breaker_opening_are_reported(seen: list[Event]) -> None:
    down = ScriptedChatModel(replies=[Overloaded("model overloaded")], cycle=True)
    controls = Controls(
        model_retry=RetrySettings(max_attempts=1),
        fallbacks={"*": ("demo",)},
        breaker=BreakerSettings(failure_threshold=1),
    )
    runtime = PatternRuntime(checkpointer=InMemorySaver(), store=InMemoryStore(), controls=controls)
    graph = build_graph("react", model=down, runtime=runtime)
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [("user", "Where is order A-1001?")]}, config)
    fallbacks = _of(seen, "fallback")
    assert fallbacks and fallbacks[0]["to_model"] == "demo"
    assert fallbacks[0]["reason"] == "retriable" and fallbacks[0]["error"] == "Overloaded"
    failed = [c for c in _of(seen, "model_call") if not c["success"]]
    assert not failed  # the call as a whole succeeded, on the fallback model
    opened = [b for b in _of(seen, "breaker_change") if b["state"] == "open"]
    assert len(opened) == 1 and opened[0]["key"].startswith("model:offline:")


def test_breaker_transitions_half_open_then_closed_or_open(seen: list[Event]) -> None:
    board = BreakerBoard(
        InMemoryBreakerStore(), BreakerSettings(failure_threshold=1, cooldown_s=0.0)
    )
    board.record_failure("tool:refund", "HTTP 503")
    board.before_call("tool:refund")  # the probe
    board.record_failure("tool:refund", "still down")
    board.before_call("tool:refund")
    board.record_success("tool:refund")
    board.record_success("tool:refund")  # nothing changes: no event
    states = [(b["key"], b["state"]) for b in _of(seen, "breaker_change")]
    assert states == [
        ("tool:refund", "open"),
        ("tool:refund", "half_open"),
        ("tool:refund", "open"),
        ("tool:refund", "half_open"),
        ("tool:refund", "closed"),
    ]


def test_a_failing_model_without_fallback_is_a_failed_model_call(seen: list[Event]) -> None:
    down = ScriptedChatModel(replies=[Overloaded("model overloaded")], cycle=True)
    controls = Controls(model_retry=RetrySettings(max_attempts=1))
    runtime = PatternRuntime(checkpointer=InMemorySaver(), controls=controls)
    graph = build_react_graph(model=down, tools=order_tools(), runtime=runtime)
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    with pytest.raises(Overloaded):
        graph.invoke({"messages": [HumanMessage("hi")]}, config)
    failed = [c for c in _of(seen, "model_call") if not c["success"]]
    assert failed and failed[0]["error"] == "Overloaded"
    [run] = _of(seen, "run_finished")
    assert run["outcome"] == "error" and run["error"] == "Overloaded"


def test_without_a_sink_nothing_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not sinks_active(), "a sink is installed process-wide; this test needs none"
    built: list[str] = []
    monkeypatch.setattr("observability.events.Event", lambda *a, **k: built.append("x"))
    graph, config = _react([tool_calls_reply(LOOKUP), "done"], tools=order_tools())
    graph.invoke({"messages": [HumanMessage("where is A-1001?")]}, config)
    assert built == []


def test_an_async_run_reports_the_same_events(seen: list[Event]) -> None:
    graph, config = _react([tool_calls_reply(REFUND), "never"], tools=order_tools())
    asyncio.run(graph.ainvoke({"messages": [HumanMessage("refund A-1001")]}, config))
    kinds = [event.kind for event in seen]
    assert kinds == ["model_call", "node_finished", "approval_requested", "run_finished"]
    assert _of(seen, "run_finished")[0]["outcome"] == "interrupted"
