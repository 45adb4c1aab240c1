"""The event bus: sinks, context fields from the running graph, failing sinks, unknown kinds."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph

from observability.events import KINDS, Event, add_sink, context_fields, emit, sinks_active


@pytest.fixture
def seen() -> Iterator[list[Event]]:
    events: list[Event] = []
    remove = add_sink(events.append)
    yield events
    remove()


def test_no_sink_is_a_no_op() -> None:
    assert not sinks_active()
    assert emit("tool_call", tool="x") is None


def test_sink_receives_fields_and_remover_stops_it(seen: list[Event]) -> None:
    assert sinks_active()
    event = emit("tool_call", tool="lookup", latency_s=0.5, success=True, side_effect=False)
    assert event is not None and seen == [event]
    assert event.kind == "tool_call"
    assert event.at.endswith("Z") and "T" in event.at
    assert event.fields == {
        "tool": "lookup",
        "latency_s": 0.5,
        "success": True,
        "side_effect": False,
    }


def test_unknown_kind_is_dropped(seen: list[Event], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert emit("model_cal", model="x") is None
    assert seen == []
    assert "model_cal" in caplog.text


def test_fields_are_made_json_safe(seen: list[Event]) -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd"

    emit("budget_stop", limit=("a", 1), reason=Odd(), extra={"k": {1, 2}})
    fields = seen[0].fields
    assert fields["limit"] == ["a", 1]
    assert fields["reason"] == "odd"
    assert sorted(fields["extra"]["k"]) == [1, 2]


def test_failing_sink_is_skipped_and_others_still_receive(
    seen: list[Event], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("sink down")

    remove = add_sink(broken)
    later: list[Event] = []
    remove_later = add_sink(later.append)
    try:
        with caplog.at_level(logging.WARNING):
            emit("fallback", role="main", from_model="a", to_model="b")
            emit("fallback", role="main", from_model="b", to_model="c")
    finally:
        remove()
        remove_later()
    assert len(seen) == 2 and len(later) == 2
    assert caplog.text.count("failed; event skipped") == 1


def test_non_callable_sink_is_refused() -> None:
    with pytest.raises(TypeError, match="callable"):
        add_sink("not a sink")  # type: ignore[arg-type]


def test_every_kind_is_accepted(seen: list[Event]) -> None:
    for kind in KINDS:
        assert emit(kind) is not None
    assert [event.kind for event in seen] == list(KINDS)


def test_outside_a_run_there_is_no_context() -> None:
    assert context_fields() == {}


@dataclass
class _Ctx:
    user_id: str = "nobody"


class _State(TypedDict):
    x: int


def _graph() -> Any:
    def work(state: _State) -> dict[str, int]:
        emit("node_finished", latency_s=0.25)
        emit("tool_call", tool="t", node="explicit wins", user_id="explicit")
        return {"x": 1}

    builder = StateGraph(_State, context_schema=_Ctx)
    builder.add_node("work", work)
    builder.set_entry_point("work")
    builder.set_finish_point("work")
    return builder.compile(checkpointer=InMemorySaver(), name="demo")


def test_context_fields_come_from_the_running_graph(seen: list[Event]) -> None:
    config = {
        "configurable": {"thread_id": "t-1", "run_id": "r-1"},
        "metadata": {"graph_id": "react"},
    }
    _graph().invoke({"x": 0}, config, context=_Ctx(user_id="alice"))
    node_event, tool_event = seen
    assert node_event.fields == {
        "latency_s": 0.25,
        "thread_id": "t-1",
        "run_id": "r-1",
        "graph_id": "react",
        "step": 1,
        "node": "work",
        "user_id": "alice",
        "agent": "react",
    }
    assert tool_event.fields["node"] == "explicit wins"
    assert tool_event.fields["user_id"] == "explicit"


def test_authenticated_user_wins_over_the_context(seen: list[Event]) -> None:
    config = {"configurable": {"thread_id": "t-2", "langgraph_auth_user_id": "server-bob"}}
    _graph().invoke({"x": 0}, config, context={"user_id": "claimed-alice"})
    assert seen[0].fields["user_id"] == "server-bob"
