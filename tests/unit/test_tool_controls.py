"""The tool path's failure controls: classes, per-tool retries, fallbacks, bounds, breakers, cap.

Tools fail on cue (counters, HTTP-like exceptions with a status and ``Retry-After``). Retry
waits are recorded, never slept (``tool_execution._retry_sleep`` is replaced). Behaviour that
depends on the graph runs through a compiled ReAct graph with `PatternRuntime(controls=...)`;
the fixable bound runs the tool node in a one-node graph, so the `RunStopped` it raises is
seen as the node raises it (the patterns' stop guard turns it into a clean ending).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from checkpointers.ledger import InMemoryLedger
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes import tool_execution
from nodes.controls import CONTROLS_KEY, BreakerSettings, Controls, RetrySettings, WindowSettings
from nodes.error_classes import classify
from nodes.retry import call_with_retry, is_transient_error, retry_delay_s
from nodes.run_stop import RunStopped
from nodes.runtime import PatternRuntime
from nodes.tool_failures import fixable_errors, retry_settings_for
from nodes.tool_output_cap import cap_outputs, cap_tool_message, truncation_notice
from state.agent import AgentState
from state.context import AgentContext

READ_ONLY = {"side_effects": False}
SIDE_EFFECTS = {"side_effects": True, "idempotent": False}
NO_JITTER = RetrySettings(max_attempts=3, initial_delay_s=0.5, multiplier=2.0, jitter=0.0)


class HTTPError(Exception):
    """An HTTP client's error: a status and response headers, as SDKs raise them."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.response = type("Response", (), {"headers": headers or {}, "status_code": status})()


def make_tool(
    name: str, func: Callable[..., Any], metadata: dict[str, Any] | None = None
) -> BaseTool:
    """A tool named `name` (unique names keep the process-wide breakers of tests apart)."""
    made = StructuredTool.from_function(func, name=name, description=f"The {name} tool.")
    made.metadata = {**READ_ONLY, **(metadata or {})}
    return made


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def failing(
    errors: list[BaseException], result: str = "ok"
) -> tuple[Callable[..., str], list[str]]:
    """A tool body raising `errors` in turn, then returning `result`; and its call log."""
    calls: list[str] = []

    def body(query: str) -> str:
        calls.append(query)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return f"{result}:{query}"

    return body, calls


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry waits the tool node asked for (nothing sleeps)."""
    asked: list[float] = []
    monkeypatch.setattr(tool_execution, "_retry_sleep", asked.append)
    return asked


def run_react(
    tools: list[BaseTool], calls: list[tuple[str, dict[str, Any]]], controls: Controls
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """One turn of a ReAct graph: the model calls `calls` at once, then says "done"."""
    model = ScriptedChatModel(replies=[tool_calls_reply(*calls), "done"])
    runtime = PatternRuntime(checkpointer=InMemorySaver(), controls=controls, tool_timeout_s=None)
    graph = build_react_graph(model, tools, runtime=runtime)
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    values = graph.invoke(
        {"messages": [HumanMessage("go")]}, config, context=AgentContext(approval_policy="never")
    )
    return graph, config, values


def tool_messages(values: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


# --- retry_delay_s and call_with_retry (pure) ---------------------------------------------


def test_retry_delays_grow_exponentially_up_to_the_cap() -> None:
    settings = RetrySettings(initial_delay_s=0.5, multiplier=3.0, max_delay_s=5.0, jitter=0.0)
    delays = [retry_delay_s(settings, n, TimeoutError(), rng=lambda: 0.9) for n in (1, 2, 3, 4)]
    assert delays == [0.5, 1.5, 4.5, 5.0]


def test_jitter_spreads_each_delay_within_its_bounds() -> None:
    settings = RetrySettings(initial_delay_s=2.0, jitter=0.25)
    low = retry_delay_s(settings, 1, None, rng=lambda: 0.0)
    high = retry_delay_s(settings, 1, None, rng=lambda: 0.999999)
    assert low == pytest.approx(1.5) and high == pytest.approx(2.5, abs=1e-5)


def test_retry_after_wins_when_longer_and_gives_up_over_the_cap() -> None:
    settings = RetrySettings(initial_delay_s=1.0, jitter=0.0, max_retry_after_s=10.0)
    assert retry_delay_s(settings, 1, HTTPError(429, {"retry-after": "4"})) == 4.0
    assert retry_delay_s(settings, 1, HTTPError(429, {"retry-after": "0.2"})) == 1.0
    assert retry_delay_s(settings, 1, HTTPError(429, {"retry-after-ms": "2500"})) == 2.5
    assert retry_delay_s(settings, 1, HTTPError(429, {"retry-after": "60"})) is None


def test_call_with_retry_retries_only_retriable_failures() -> None:
    body, calls = failing([TimeoutError("slow"), HTTPError(503)])
    slept: list[float] = []
    retried: list[tuple[int, str]] = []
    result = call_with_retry(
        lambda: body("q"),
        NO_JITTER,
        sleep=slept.append,
        on_retry=lambda n, exc, _delay: retried.append((n, type(exc).__name__)),
    )
    assert result == "ok:q" and slept == [0.5, 1.0]
    assert retried == [(1, "TimeoutError"), (2, "HTTPError")]

    bad, bad_calls = failing([ValueError("no"), ValueError("no")])
    with pytest.raises(ValueError):
        call_with_retry(
            lambda: bad("q"), NO_JITTER, classify=lambda _e: "fixable", sleep=slept.append
        )
    assert len(bad_calls) == 1


def test_call_with_retry_stops_at_max_attempts_and_on_a_too_long_retry_after() -> None:
    body, calls = failing([TimeoutError()] * 5)
    slept: list[float] = []
    with pytest.raises(TimeoutError):
        call_with_retry(lambda: body("q"), NO_JITTER, sleep=slept.append)
    assert len(calls) == 3 and slept == [0.5, 1.0]

    patient = RetrySettings(max_attempts=5, max_retry_after_s=5.0)
    throttled, throttled_calls = failing([HTTPError(429, {"retry-after": "120"})] * 5)
    with pytest.raises(HTTPError):
        call_with_retry(lambda: throttled("q"), patient, sleep=slept.append)
    assert len(throttled_calls) == 1, "a Retry-After over the cap is not waited for"


def test_is_transient_error_is_the_retriable_class() -> None:
    retriable: list[BaseException] = [TimeoutError(), ConnectionResetError(), HTTPError(429)]
    for exc in [*retriable, HTTPError(500)]:
        assert is_transient_error(exc) and classify(exc) == "retriable"
    for other in (PermissionError(), HTTPError(403), TypeError(), RuntimeError()):
        assert not is_transient_error(other)


# --- per-tool retry settings ------------------------------------------------------------


def test_retry_settings_come_from_controls_then_metadata_then_the_model_default() -> None:
    per_tool = RetrySettings(max_attempts=5)
    in_metadata: dict[str, Any] = {"max_attempts": 2, "initial_delay_s": 0.1}
    tool = make_tool("lookup", lambda query: query, {"retry": in_metadata})
    plain = make_tool("plain", lambda query: query)
    controls = Controls(tool_retry={"lookup": per_tool}, model_retry=RetrySettings(max_attempts=4))

    assert retry_settings_for(tool, controls) is per_tool
    assert retry_settings_for(tool, Controls()) == RetrySettings(**in_metadata)
    assert retry_settings_for(plain, controls).max_attempts == 4
    writer = make_tool("writer", lambda query: query, {**SIDE_EFFECTS, "retry": in_metadata})
    assert retry_settings_for(writer, controls).max_attempts == 1
    with pytest.raises(ValueError, match="unknown retry settings"):
        retry_settings_for(
            make_tool("bad", lambda query: query, {"retry": {"tries": 2}}), Controls()
        )


def test_a_timeout_is_retried_as_the_tools_controls_say(waits: list[float]) -> None:
    name = unique("search")
    body, calls = failing([TimeoutError("slow"), TimeoutError("slow")])
    settings = RetrySettings(max_attempts=3, initial_delay_s=0.25, multiplier=4.0, jitter=0.0)

    _, _, values = run_react(
        [make_tool(name, body)], [(name, {"query": "q"})], Controls(tool_retry={name: settings})
    )

    [answer] = tool_messages(values)
    assert answer.status == "success" and answer.text == "ok:q"
    assert len(calls) == 3 and waits == [0.25, 1.0]


def test_metadata_retry_settings_apply_when_controls_have_none(waits: list[float]) -> None:
    name = unique("search")
    body, calls = failing([TimeoutError()] * 5)
    tool = make_tool(
        name, body, {"retry": {"max_attempts": 2, "initial_delay_s": 0.3, "jitter": 0}}
    )

    _, _, values = run_react([tool], [(name, {"query": "q"})], Controls())

    [answer] = tool_messages(values)
    assert answer.status == "error" and "TimeoutError" in answer.text
    assert len(calls) == 2 and waits == [0.3]


def test_a_429_waits_as_long_as_retry_after_asks(waits: list[float]) -> None:
    name = unique("quotes")
    body, calls = failing([HTTPError(429, {"retry-after": "2"})])
    controls = Controls(tool_retry={name: RetrySettings(initial_delay_s=0.1, jitter=0.0)})

    _, _, values = run_react([make_tool(name, body)], [(name, {"query": "q"})], controls)

    [answer] = tool_messages(values)
    assert answer.status == "success" and len(calls) == 2 and waits == [2.0]


def test_a_non_idempotent_tool_is_never_retried(waits: list[float]) -> None:
    name = unique("charge")
    body, calls = failing([TimeoutError("gateway slow")])
    controls = Controls(tool_retry={name: RetrySettings(max_attempts=5)})

    _, _, values = run_react(
        [make_tool(name, body, SIDE_EFFECTS)], [(name, {"query": "q"})], controls
    )

    [answer] = tool_messages(values)
    assert answer.status == "error" and len(calls) == 1 and waits == []


# --- terminal, fixable, fallback ----------------------------------------------------------


@pytest.mark.parametrize("error", [PermissionError("no access"), HTTPError(403)])
def test_a_terminal_error_is_not_retried_and_says_it_cannot_be_done(
    waits: list[float], error: BaseException
) -> None:
    name = unique("files")
    body, calls = failing([error])

    _, _, values = run_react([make_tool(name, body)], [(name, {"query": "q"})], Controls())

    [answer] = tool_messages(values)
    assert answer.status == "error" and "cannot do this" in answer.text
    assert answer.additional_kwargs["error_class"] == "terminal"
    assert len(calls) == 1 and waits == []


def test_invalid_arguments_are_returned_marked_and_survive_the_checkpoint() -> None:
    name = unique("lookup")
    tool = make_tool(name, lambda query: query)

    graph, config, _ = run_react([tool], [(name, {"wrong": 1})], Controls())

    [answer] = tool_messages(graph.get_state(config).values)
    assert answer.status == "error" and "invalid arguments" in answer.text
    assert answer.additional_kwargs["error_class"] == "fixable"
    assert fixable_errors(graph.get_state(config).values["messages"], name) == 1


def node_graph(tools: list[BaseTool], ledger: InMemoryLedger | None = None) -> Any:
    """The tool node alone in a graph (what the patterns wrap with their stop guard)."""
    run_tools = tool_execution.make_run_tools(
        {t.name: t for t in tools}, ledger=ledger or InMemoryLedger(), timeout_s=None
    )
    builder = StateGraph(AgentState)
    builder.add_node("tools", run_tools)
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    return builder.compile()


def marked_error(name: str, call_id: str) -> list[Any]:
    """An earlier call of `name` in the conversation, answered by a marked fixable error."""
    asked = AIMessage("", tool_calls=[ToolCall(name=name, args={}, id=call_id, type="tool_call")])
    answer = ToolMessage(
        "Error: invalid arguments",
        tool_call_id=call_id,
        name=name,
        status="error",
        additional_kwargs={"error_class": "fixable"},
    )
    return [asked, answer]


def run_node(graph: Any, messages: list[Any], controls: Controls, **config: Any) -> Any:
    configurable = {CONTROLS_KEY: controls, **config}
    never = AgentContext(approval_policy="never")
    return graph.invoke({"messages": messages}, {"configurable": configurable}, context=never)


def test_the_fixable_bound_stops_the_run_keeping_the_results_so_far() -> None:
    name = unique("lookup")
    graph = node_graph([make_tool(name, lambda query: f"found {query}")])
    history = [HumanMessage("go"), *marked_error(name, "e1"), *marked_error(name, "e2")]
    calls = [
        ToolCall(name=name, args={"query": "A-1"}, id="ok1", type="tool_call"),
        ToolCall(name=name, args={"bad": 1}, id="bad1", type="tool_call"),
    ]

    with pytest.raises(RunStopped) as stopped:
        run_node(graph, [*history, AIMessage("", tool_calls=calls)], Controls(max_fixable_errors=2))

    assert stopped.value.kind == "fixable_limit"
    assert stopped.value.detail == {"tool": name, "errors": 3, "limit": 2, "error_class": "fixable"}
    [kept] = stopped.value.partial
    assert isinstance(kept, ToolMessage) and kept.tool_call_id == "ok1" and kept.text == "found A-1"


def test_fixable_errors_of_earlier_turns_and_other_tools_do_not_count() -> None:
    name = unique("lookup")
    graph = node_graph([make_tool(name, lambda query: query)])
    earlier = [HumanMessage("first"), *marked_error(name, "e1"), *marked_error(name, "e2")]
    now = [HumanMessage("second"), *marked_error("other_tool", "e3")]
    bad = ToolCall(name=name, args={"bad": 1}, id="bad1", type="tool_call")

    values = run_node(
        graph, [*earlier, *now, AIMessage("", tool_calls=[bad])], Controls(max_fixable_errors=1)
    )

    answer = values["messages"][-1]
    assert answer.tool_call_id == "bad1" and answer.additional_kwargs["error_class"] == "fixable"


def test_a_fallback_tool_answers_the_same_call_after_a_fallback_class_failure(
    waits: list[float],
) -> None:
    primary_name, backup_name = unique("search"), unique("search_backup")
    body, calls = failing([RuntimeError("index offline")])
    primary = make_tool(primary_name, body, {"fallback_tool": backup_name})
    backup = make_tool(backup_name, lambda query: f"backup:{query}")

    _, _, values = run_react([primary, backup], [(primary_name, {"query": "q"})], Controls())

    [answer] = tool_messages(values)
    asked = next(m for m in values["messages"] if isinstance(m, AIMessage) and m.tool_calls)
    assert answer.text == "backup:q" and answer.status == "success"
    assert answer.tool_call_id == asked.tool_calls[0]["id"]
    assert answer.additional_kwargs["fallback_from"] == primary_name
    assert len(calls) == 1 and waits == [], "a fallback-class failure is not retried"


def test_retries_spent_then_the_fallback_answers(waits: list[float]) -> None:
    primary_name, backup_name = unique("rates"), unique("rates_cache")
    body, calls = failing([ConnectionResetError()] * 5)
    primary = make_tool(primary_name, body, {"fallback_tool": backup_name, "retry": NO_JITTER})
    backup = make_tool(backup_name, lambda query: "cached")

    _, _, values = run_react([primary, backup], [(primary_name, {"query": "q"})], Controls())

    [answer] = tool_messages(values)
    assert answer.text == "cached" and len(calls) == 3 and waits == [0.5, 1.0]


def test_a_fallback_that_needs_approval_is_not_run() -> None:
    primary_name, backup_name = unique("notify"), unique("notify_sms")
    body, _ = failing([RuntimeError("mail down")])
    sent: list[str] = []
    primary = make_tool(primary_name, body, {"fallback_tool": backup_name})

    def send_sms(query: str) -> str:
        sent.append(query)
        return "sent"

    backup = make_tool(backup_name, send_sms, SIDE_EFFECTS)
    call = ToolCall(name=primary_name, args={"query": "hi"}, id="c1", type="tool_call")
    env = tool_execution.ToolEnv(
        tool_execution._InlineToolNode([primary, backup], handle_tool_errors=False),
        approval_policy="side-effects",
    )

    [answer] = tool_execution.execute_tool_call(
        call, {primary_name: primary, backup_name: backup}, env=env, controls=Controls()
    )

    assert isinstance(answer, ToolMessage) and answer.status == "error"
    assert "needs approval" in answer.text and sent == []


# --- circuit breakers ------------------------------------------------------------------------


def test_an_open_breaker_sends_the_call_to_the_fallback_tool_without_calling_the_tool() -> None:
    primary_name, backup_name = unique("geo"), unique("geo_backup")
    body, calls = failing([RuntimeError("down")] * 5)
    primary = make_tool(primary_name, body, {"fallback_tool": backup_name})
    backup = make_tool(backup_name, lambda query: f"backup:{query}")
    controls = Controls(breaker=BreakerSettings(failure_threshold=1, cooldown_s=600))
    tools = {primary_name: primary, backup_name: backup}
    call = ToolCall(name=primary_name, args={"query": "q"}, id="c1", type="tool_call")

    first = tool_execution.execute_tool_call(call, tools, controls=controls)
    second = tool_execution.execute_tool_call({**call, "id": "c2"}, tools, controls=controls)

    assert len(calls) == 1, "the open breaker fails fast: the tool is not called again"
    for answer in (*first, *second):
        assert isinstance(answer, ToolMessage) and answer.text == "backup:q"


def test_an_open_breaker_without_a_fallback_says_the_tool_is_unavailable() -> None:
    name = unique("weather")
    body, calls = failing([RuntimeError("down")] * 5)
    tools = {name: make_tool(name, body)}
    controls = Controls(breaker=BreakerSettings(failure_threshold=1, cooldown_s=600))
    call = ToolCall(name=name, args={"query": "q"}, id="c1", type="tool_call")

    [first] = tool_execution.execute_tool_call(call, tools, controls=controls)
    [second] = tool_execution.execute_tool_call({**call, "id": "c2"}, tools, controls=controls)

    assert isinstance(first, ToolMessage) and "RuntimeError: down" in first.text
    assert isinstance(second, ToolMessage) and "temporarily unavailable" in second.text
    assert second.additional_kwargs["error_class"] == "fallback" and len(calls) == 1


def test_fixable_errors_do_not_open_a_breaker() -> None:
    name = unique("lookup")
    tools = {name: make_tool(name, lambda query: f"found {query}")}
    controls = Controls(breaker=BreakerSettings(failure_threshold=1, cooldown_s=600))
    bad = ToolCall(name=name, args={"wrong": 1}, id="c1", type="tool_call")

    tool_execution.execute_tool_call(bad, tools, controls=controls)
    good = ToolCall(name=name, args={"query": "A"}, id="c2", type="tool_call")
    [answer] = tool_execution.execute_tool_call(good, tools, controls=controls)

    assert isinstance(answer, ToolMessage) and answer.text == "found A"


# --- output cap -------------------------------------------------------------------------------


def test_a_long_text_output_is_cut_with_a_notice() -> None:
    message = ToolMessage(content="a" * 1_000, tool_call_id="c1", name="dump")

    capped = cap_tool_message(message, 200)

    assert capped.text == "a" * 200 + "\n\n" + truncation_notice(200, 1_000)
    assert "showing the first 200 of 1,000 characters" in capped.text
    assert capped.additional_kwargs["truncated_from_chars"] == 1_000
    assert (
        cap_tool_message(message, 1_000) is message and cap_tool_message(message, None) is message
    )


def test_block_content_is_capped_on_its_text_parts() -> None:
    image = {"type": "image", "url": "https://example.invalid/x.png"}
    blocks: list[Any] = [
        {"type": "text", "text": "x" * 150},
        image,
        {"type": "text", "text": "y" * 150},
    ]
    message = ToolMessage(content=blocks, tool_call_id="c1", name="page")

    [capped] = cap_outputs([message], 200)

    assert isinstance(capped, ToolMessage) and isinstance(capped.content, list)
    first, kept_image, second, notice = capped.content
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["text"] == "x" * 150 and kept_image == image and second["text"] == "y" * 50
    assert notice == {"type": "text", "text": truncation_notice(200, 300)}


def test_the_graph_caps_tool_output_and_the_ledger_keeps_it_whole() -> None:
    name = unique("export")
    runs: list[str] = []

    def export(query: str) -> str:
        runs.append(query)
        return "z" * 500

    ledger = InMemoryLedger()
    graph = node_graph([make_tool(name, export, SIDE_EFFECTS)], ledger)
    call = ToolCall(name=name, args={"query": "all"}, id="c1", type="tool_call")
    messages = [HumanMessage("export"), AIMessage("", tool_calls=[call])]
    controls = Controls(window=WindowSettings(max_tool_output_chars=200))
    context = {"thread_id": uuid.uuid4().hex}

    first = run_node(graph, messages, controls, **context)["messages"][-1]
    replayed = run_node(graph, messages, controls, **context)["messages"][-1]

    assert runs == ["all"], "the second run replays the ledger's outcome"
    for answer in (first, replayed):
        assert answer.text == "z" * 200 + "\n\n" + truncation_notice(200, 500)
    [entry] = ledger.entries()
    assert entry.result == "z" * 500


def test_no_fallback_stands_in_for_a_non_idempotent_tool_that_may_have_acted() -> None:
    primary_name, backup_name = unique("pay"), unique("pay_backup")
    body, calls = failing([RuntimeError("gateway error after submit")])
    backup_runs: list[str] = []

    def backup_pay(query: str) -> str:
        backup_runs.append(query)
        return "paid again"

    primary = make_tool(primary_name, body, {**SIDE_EFFECTS, "fallback_tool": backup_name})
    tools = {primary_name: primary, backup_name: make_tool(backup_name, backup_pay)}
    call = ToolCall(name=primary_name, args={"query": "10 EUR"}, id="c1", type="tool_call")

    [answer] = tool_execution.execute_tool_call(call, tools, controls=Controls())

    assert isinstance(answer, ToolMessage) and answer.status == "error"
    assert "may have acted" in answer.text and backup_runs == [] and len(calls) == 1
