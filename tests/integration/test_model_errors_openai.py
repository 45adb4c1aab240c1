"""Each error class takes its path against a real OpenAI client and a local HTTP server.

The fake OpenAI-compatible server (`tests.integration.test_openai_compatible`) answers on cue
with 429 and ``Retry-After``, 500, a reply slower than the model timeout, a body that is not
JSON, or 401; the ReAct graph calls it through `ChatOpenAI` with the controls under test. What
is asserted is what happened on the wire (which model was asked, how often), what the user got,
and what state, the stream and the usage table recorded.
"""

# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from demo.orders import order_tools
from graphs.react import build_react_graph
from models.factory import create_chat_model
from nodes.controls import Controls, RetrySettings
from nodes.runtime import PatternRuntime
from nodes.usage import usage_log
from nodes.usage_prices import PRICES_ENV
from tests.integration.test_openai_compatible import (  # noqa: F401 - fixtures
    FakeOpenAIServer,
    _usage,
    openai_env,
    openai_server,
    text,
    tool_call,
)

NO_WAIT = RetrySettings(max_attempts=3, initial_delay_s=0, jitter=0)


def _fail(status: int = 200, **extra: Any) -> dict[str, Any]:
    return {"fail": {"status": status, **extra}}


def _run(controls: Controls, *, stream: bool = False, **context: Any) -> dict[str, Any]:
    model = create_chat_model("openai:primary")
    saver = InMemorySaver()
    graph = build_react_graph(
        model, order_tools(), runtime=PatternRuntime(checkpointer=saver, controls=controls)
    )
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    inputs = {"messages": [("user", "Where is my order A-1002?")]}
    events = [
        data
        for mode, data in graph.stream(
            inputs, config, context=context or None, stream_mode=["custom", "values"]
        )
        if mode == "custom"
    ]
    values = graph.get_state(config).values
    return {"values": values, "events": events, "graph": graph, "config": config}


def _models_asked(server: FakeOpenAIServer) -> list[str]:
    return [body["model"] for body in server.requests]


def test_429_waits_for_retry_after_then_succeeds(openai_env: FakeOpenAIServer) -> None:
    openai_env.script = [_fail(429, headers={"Retry-After": "0.2"}), text("On its way.")]
    run = _run(Controls(model_retry=NO_WAIT))

    assert run["values"]["messages"][-1].text == "On its way."
    assert _models_asked(openai_env) == ["primary", "primary"]
    [retry] = [e for e in run["events"] if e["control"] == "retry"]
    assert retry["delay_s"] == 0.2 and "HTTP 429" in retry["error"]  # the server's wait
    assert not run["values"].get("fallbacks")


def test_500s_are_retried_then_the_chain_falls_back(openai_env: FakeOpenAIServer) -> None:
    openai_env.script = [_fail(500), _fail(500), _fail(502), text("From the backup.")]
    controls = Controls(model_retry=NO_WAIT, fallbacks={"*": ("openai:backup",)})
    run = _run(controls)

    assert run["values"]["messages"][-1].text == "From the backup."
    assert _models_asked(openai_env) == ["primary", "primary", "primary", "backup"]
    [record] = run["values"]["fallbacks"]
    assert record["from_model"].startswith("openai:primary@127.0.0.1")
    assert record["to_model"] == "openai:backup"  # as the chain names it
    assert record["error_class"] == "retriable" and "502" in record["error"]
    assert [e["control"] for e in run["events"]].count("fallback") == 1


def test_a_slow_reply_times_out_and_the_template_answers(openai_env: FakeOpenAIServer) -> None:
    openai_env.script = [_fail(200, sleep_s=1.5, body="{}")]
    controls = Controls(
        model_timeout_s=0.3,
        model_retry=RetrySettings(max_attempts=1),
        fallbacks={"*": ("template:The assistant is busy.",)},
    )
    run = _run(controls)

    assert run["values"]["messages"][-1].text == "The assistant is busy."
    [record] = run["values"]["fallbacks"]
    assert record["error_class"] == "retriable" and "ModelTimeoutError" in record["error"]


def test_a_body_that_is_not_json_is_retried_then_falls_back(
    openai_env: FakeOpenAIServer,
) -> None:
    openai_env.script = [_fail(200, body="<html>bad gateway"), text("Recovered.")]
    run = _run(Controls(model_retry=NO_WAIT))

    assert run["values"]["messages"][-1].text == "Recovered."
    assert _models_asked(openai_env) == ["primary", "primary"]
    [retry] = [e for e in run["events"] if e["control"] == "retry"]
    assert retry["attempt"] == 1


def test_401_stops_the_run_cleanly_without_retry(openai_env: FakeOpenAIServer) -> None:
    openai_env.script = [
        tool_call("lookup_order", {"order_id": "A-1002"}),
        _fail(401, body=json.dumps({"error": {"message": "invalid api key"}})),
    ]
    controls = Controls(model_retry=NO_WAIT, fallbacks={"*": ("openai:backup",)})
    run = _run(controls)

    last = run["values"]["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "stopped"
    assert "HTTP 401" in last.text and "lookup_order" in last.text
    assert _models_asked(openai_env) == ["primary", "primary"]  # no retry, no fallback
    assert run["values"]["run_stop"]["kind"] == "terminal_error"


def test_a_cost_budget_stops_the_run_and_totals_match_the_server(
    openai_env: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRICES_ENV, json.dumps({"openai:primary": {"input": 2.0, "output": 8.0}}))
    one = _usage()
    cost_one = (one["prompt_tokens"] * 2.0 + one["completion_tokens"] * 8.0) / 1e6
    openai_env.script = [
        tool_call("lookup_order", {"order_id": "A-1002"}),
        tool_call("lookup_order", {"order_id": "A-1001"}),
        text("never reached"),
    ]
    run = _run(Controls(model_retry=NO_WAIT), max_cost_usd_per_run=cost_one * 1.5)

    messages = run["values"]["messages"]
    assert messages[-1].name == "budget" and "max_cost_usd_per_run" in messages[-1].text
    assert len(openai_env.requests) == 2  # the third call was never made
    assert all(
        any(isinstance(m, ToolMessage) and m.tool_call_id == c["id"] for m in messages)
        for m2 in messages
        if isinstance(m2, AIMessage)
        for c in m2.tool_calls
    )
    usage = run["values"]["usage"]
    assert usage["total_tokens"] == 2 * one["total_tokens"]
    assert usage["cost_usd"] == pytest.approx(2 * cost_one)
    table = usage_log(run["graph"].checkpointer).totals(
        thread_id=run["config"]["configurable"]["thread_id"]
    )
    assert table["total_tokens"] == usage["total_tokens"]
