"""Run limits, clean stops, fallback chains and breakers on the shared model-call path.

Scripted models fail on cue; every run goes through a real compiled graph (ReAct with the
shop's tools, or critique for a structured call), so what is checked is what a user gets: the
last message, the conversation's validity, the ``run_stop`` and ``fallbacks`` records and the
``custom`` stream.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from checkpointers import open_checkpointer
from cli.__main__ import main as cli_main
from graphs.critique import build_critique_graph
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from nodes.controls import BreakerSettings, Controls, RetrySettings, RunLimits, WindowSettings
from nodes.run_stop import RunStopped, wrap_up
from nodes.runtime import PatternRuntime

FAST = RetrySettings(max_attempts=1)


@tool
def lookup(order_id: str) -> str:
    """Look an order up (read-only)."""
    return f"{order_id}: shipped"


lookup.metadata = {"side_effects": False}


@tool
def slow_lookup(order_id: str) -> str:
    """Look an order up slowly (read-only)."""
    time.sleep(1.0)
    return f"{order_id}: shipped"


slow_lookup.metadata = {"side_effects": False}


def _lookups(n: int, *, per_reply: int = 1) -> list[Any]:
    return [
        tool_calls_reply(*[("lookup", {"order_id": f"A-{i}{j}"}) for j in range(per_reply)])
        for i in range(n)
    ]


def _graph(model: Any, controls: Controls | None = None, tools: Any = (lookup,)) -> Any:
    runtime = PatternRuntime(checkpointer=InMemorySaver(), controls=controls or Controls())
    return build_react_graph(model, list(tools), runtime=runtime)


def _run(graph: Any, text: str = "Where are my orders?", **context: Any) -> tuple[Any, str]:
    thread = uuid.uuid4().hex
    config = {"configurable": {"thread_id": thread}}
    result = graph.invoke({"messages": [("user", text)]}, config, context=context or None)
    return result, thread


def _assert_valid(messages: list[BaseMessage]) -> None:
    """Every tool call is answered exactly once, and every answer has its call."""
    asked = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert sorted(asked) == sorted(answered)
    assert len(set(answered)) == len(answered)


def _state(graph: Any, thread: str) -> dict[str, Any]:
    return graph.get_state({"configurable": {"thread_id": thread}}).values


# -- budgets ----------------------------------------------------------------------------------


def test_a_token_budget_stops_the_run_with_a_message_naming_it() -> None:
    model = ScriptedChatModel(replies=[*_lookups(10), "done"])
    graph = _graph(model)
    result, thread = _run(graph, max_tokens_per_run=150)

    last = result["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "budget"
    assert "max_tokens_per_run=150" in last.text and "tokens used" in last.text
    _assert_valid(result["messages"])
    stop = _state(graph, thread)["run_stop"]
    assert stop["kind"] == "budget" and stop["detail"]["budget"] == "max_tokens_per_run"
    assert stop["detail"]["used"] >= 150
    assert 1 <= len(model.calls) < 10  # it stopped early, before calling the model again


def test_the_audit_lists_every_run_a_control_stopped(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/audit.sqlite"
    model = ScriptedChatModel(replies=[*_lookups(10), "done"], cycle=True)
    with open_checkpointer(url) as saver:
        graph = build_react_graph(model, [lookup], checkpointer=saver)
        config = {"configurable": {"thread_id": "audited"}}
        for question in ("Where is A-1?", "And A-2?"):
            graph.invoke(
                {"messages": [("user", question)]}, config, context={"max_tokens_per_run": 120}
            )
    capsys.readouterr()
    assert cli_main(["audit", "audited", "--checkpointer", url]) == 0
    shown = capsys.readouterr().out
    assert "Runs stopped by a control (2):" in shown
    assert shown.count("budget  run ") == 2 and "max_tokens_per_run=120" in shown


def test_a_client_cannot_loosen_the_operators_token_ceiling() -> None:
    model = ScriptedChatModel(replies=[*_lookups(10), "done"])
    graph = _graph(model, Controls(run_limits=RunLimits(max_tokens=150)))
    result, thread = _run(graph, max_tokens_per_run=1_000_000)

    assert result["messages"][-1].name == "budget"
    assert "max_tokens_per_run=150" in result["messages"][-1].text


def test_the_model_call_budget_and_a_later_run_starts_afresh() -> None:
    model = ScriptedChatModel(replies=[*_lookups(3), "first done", "second answer"])
    graph = _graph(model, Controls(run_limits=RunLimits(max_model_calls=2)))
    result, thread = _run(graph)
    assert result["messages"][-1].name == "budget"
    assert "max_model_calls=2" in result["messages"][-1].text
    assert len(model.calls) == 2

    config = {"configurable": {"thread_id": thread}}
    again = graph.invoke({"messages": [("user", "And now?")]}, config)
    assert again["messages"][-1].text == "first done"  # a new run, with its own two calls
    assert len(model.calls) == 4


def test_a_wall_clock_budget_is_checked_before_each_model_call() -> None:
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("slow_lookup", {"order_id": "A-1"})), "done"]
    )
    graph = _graph(model, tools=(slow_lookup,))
    # The tool alone takes 1 s; the first call comes well inside 0.5 s even on a loaded machine.
    result, _ = _run(graph, max_seconds_per_run=0.5)

    assert result["messages"][-1].name == "budget"
    assert "max_seconds_per_run=0.5" in result["messages"][-1].text
    assert "slow_lookup" in result["messages"][-1].text  # says what was done
    assert len(model.calls) == 1


def test_the_tool_call_budget_answers_the_extra_calls_and_stops() -> None:
    model = ScriptedChatModel(replies=[*_lookups(1, per_reply=3), "done"])
    graph = _graph(model, Controls(run_limits=RunLimits(max_tool_calls=2)))
    result, _ = _run(graph)

    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tool_messages] == ["success", "success", "error"]
    assert "max_tool_calls=2" in tool_messages[-1].text
    assert result["messages"][-1].name == "budget"
    assert len(model.calls) == 1
    _assert_valid(result["messages"])


def test_a_structured_call_stopped_by_a_budget_ends_the_pattern_cleanly() -> None:
    writer = ScriptedChatModel(replies=["A draft."], cycle=True)
    graph = build_critique_graph(writer, runtime=PatternRuntime(checkpointer=InMemorySaver()))
    result, thread = _run(graph, "Write a reply.", max_tokens_per_run=1)

    last = result["messages"][-1]
    assert last.name == "budget" and "max_tokens_per_run=1" in last.text
    assert len(writer.calls) == 1  # the writer ran; the judge never was asked
    assert _state(graph, thread)["run_stop"]["detail"]["role"] == "judge"


# -- error classes, fallbacks, breakers -------------------------------------------------------


class Unavailable(Exception):
    """A provider error another model may not have."""

    status_code = 503


class Refused(Exception):
    """An authentication failure: no retry or other model helps."""

    status_code = 401


def test_a_fallback_chain_switches_records_and_streams_it() -> None:
    primary = ScriptedChatModel(replies=[Unavailable("overloaded")], cycle=True)
    controls = Controls(model_retry=FAST, fallbacks={"*": ("template:Sorry, try later.",)})
    graph = _graph(primary, controls)
    thread = uuid.uuid4().hex
    config = {"configurable": {"thread_id": thread}}
    chunks = list(
        graph.stream({"messages": [("user", "Hi")]}, config, stream_mode=["custom", "values"])
    )

    events = [data for mode, data in chunks if mode == "custom"]
    assert [e["control"] for e in events] == ["fallback"]
    assert events[0]["to_model"] == "template:Sorry, try later."
    assert events[0]["error_class"] == "retriable" and "HTTP 503" in events[0]["error"]
    values = _state(graph, thread)
    assert values["messages"][-1].text == "Sorry, try later."
    [record] = values["fallbacks"]
    assert record["from_model"].startswith("offline:scripted") and record["role"] == "agent"


def test_a_retriable_error_is_retried_before_any_fallback() -> None:
    flaky = ScriptedChatModel(replies=[TimeoutError("slow"), "fine"])
    retry = RetrySettings(max_attempts=2, initial_delay_s=0, jitter=0)
    graph = _graph(flaky, Controls(model_retry=retry, fallbacks={"*": ("template",)}))
    result, thread = _run(graph)

    assert result["messages"][-1].text == "fine"
    assert not _state(graph, thread).get("fallbacks")


def test_a_terminal_error_stops_the_run_cleanly_without_fallback() -> None:
    model = ScriptedChatModel(replies=[*_lookups(1), Refused("bad key")])
    graph = _graph(model, Controls(model_retry=FAST, fallbacks={"*": ("template",)}))
    result, thread = _run(graph)

    last = result["messages"][-1]
    assert last.name == "stopped" and "HTTP 401" in last.text and "bad key" in last.text
    assert "lookup" in last.text  # what was done before it stopped
    assert _state(graph, thread)["run_stop"]["kind"] == "terminal_error"
    assert not _state(graph, thread).get("fallbacks")
    _assert_valid(result["messages"])


def test_when_every_fallback_fails_the_error_is_raised_once() -> None:
    primary = ScriptedChatModel(replies=[Unavailable("down")], cycle=True)
    graph = _graph(primary, Controls(model_retry=FAST))
    with pytest.raises(Unavailable):
        _run(graph)
    assert len(primary.calls) == 1  # neither the call path nor the node policy retried it


def test_an_open_breaker_fails_fast_and_the_chain_moves_on() -> None:
    primary = ScriptedChatModel(replies=[Unavailable("down")], cycle=True)
    controls = Controls(
        model_retry=FAST,
        breaker=BreakerSettings(failure_threshold=2, cooldown_s=3600),
        fallbacks={"*": ("template:Later.",)},
    )
    graph = _graph(primary, controls)
    for _ in range(2):
        assert _run(graph)[0]["messages"][-1].text == "Later."
    assert len(primary.calls) == 2
    result, thread = _run(graph)
    assert result["messages"][-1].text == "Later."
    assert len(primary.calls) == 2  # open: not called at all
    [record] = _state(graph, thread)["fallbacks"]
    assert record["error_class"] == "fallback" and "circuit breaker" in record["error"]


def test_a_budget_stop_answers_calls_left_by_an_interrupted_turn() -> None:
    messages: list[BaseMessage] = [
        HumanMessage("hi", id="h1"),
        AIMessage("", id="a1", tool_calls=[{"name": "lookup", "args": {}, "id": "c1"}]),
    ]
    update = wrap_up(RunStopped("a budget", kind="budget"), messages, run_id="r")
    _assert_valid([*messages, *update["messages"]])
    assert update["messages"][-1].name == "budget"


@tool
def export_orders(query: str) -> str:
    """Export every order matching the query (read-only)."""
    return "row;" * 2000


export_orders.metadata = {"side_effects": False}


def test_a_capped_tool_output_carries_its_notice_and_is_streamed() -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(("export_orders", {"query": "all"})), "ok"])
    controls = Controls(window=WindowSettings(max_tool_output_chars=500))
    graph = _graph(model, controls, tools=(export_orders,))
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    chunks = list(
        graph.stream({"messages": [("user", "Export")]}, config, stream_mode=["custom", "values"])
    )

    [event] = [data for mode, data in chunks if mode == "custom"]
    assert event["control"] == "tool_output_cap"
    assert (event["tool"], event["shown"], event["total"]) == ("export_orders", 500, 8000)
    [answer] = [m for m in _state(graph, uuid_of(config))["messages"] if isinstance(m, ToolMessage)]
    assert len(answer.text) < 600 and "showing the first 500 of 8,000 characters" in answer.text
    assert "showing the first 500" in model.calls[1].messages[-1].text  # the model saw it


def uuid_of(config: dict[str, Any]) -> str:
    return str(config["configurable"]["thread_id"])


@pytest.mark.parametrize("forged", ["forged", {"run_limits": {}}, None, 0])
def test_a_client_cannot_replace_the_operators_controls_through_the_config(forged: Any) -> None:
    """The attack: a server client sends the graph's config key with any JSON value.

    Before the fix, anything that was not a `Controls` object fell back to the defaults, which
    have no run limits: the operator's ``max_model_calls`` was gone.
    """
    from nodes.controls import CONTROLS_KEY

    model = ScriptedChatModel(replies=[*_lookups(3), "done"])
    graph = _graph(model, Controls(run_limits=RunLimits(max_model_calls=2)))
    config = {"configurable": {"thread_id": uuid.uuid4().hex, CONTROLS_KEY: forged}}
    result = graph.invoke({"messages": [("user", "Where are my orders?")]}, config)

    assert result["messages"][-1].name == "budget"
    assert "max_model_calls=2" in result["messages"][-1].text
    assert len(model.calls) == 2
