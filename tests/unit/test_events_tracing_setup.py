"""The tracing setting: its values, LangSmith's own switch, and the run metadata traces get."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from demo.orders import order_tools
from graphs._tracing import model_spec, traced_config
from graphs.react import build_react_graph
from models import ScriptedChatModel
from observability.tracing import TRACING_ENV, redact_trace, tracing_mode


def test_the_setting_and_langsmiths_switch() -> None:
    assert tracing_mode({}) == "off"
    assert tracing_mode({TRACING_ENV: "OTel"}) == "otel"
    assert tracing_mode({"LANGSMITH_TRACING": "true"}) == "langsmith"
    assert tracing_mode({"LANGCHAIN_TRACING_V2": "true"}) == "langsmith"
    assert tracing_mode({TRACING_ENV: "off", "LANGSMITH_TRACING": "true"}) == "off"
    with pytest.raises(ValueError, match="is not one of off, langsmith, otel"):
        tracing_mode({TRACING_ENV: "jaeger"})


def test_trace_payloads_are_redacted() -> None:
    payload = {"messages": [{"content": "card 4111 1111 1111 1111, mail a.b@example.com"}]}
    assert redact_trace(payload) == {"messages": [{"content": "card [card], mail [email]"}]}


def _graph() -> Any:
    model = ScriptedChatModel(replies=["hi"], cycle=True)
    return build_react_graph(model=model, tools=order_tools(), checkpointer=InMemorySaver())


def test_without_tracing_the_config_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRACING_ENV, raising=False)
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    config: Any = {"configurable": {"thread_id": "t"}}
    assert traced_config(_graph(), config, None) is config


def test_with_tracing_runs_carry_tags_and_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRACING_ENV, "langsmith")  # read per run; LangSmith itself stays off
    graph = _graph()
    config: Any = {
        "configurable": {"thread_id": "t", "langgraph_auth_user_id": "alice"},
        "tags": ["mine"],
        "metadata": {"graph_id": "react", "team": "ops"},
    }
    traced = traced_config(graph, config, {"model": "demo"})
    assert traced is not None
    assert traced["metadata"] == {
        "pattern": "react",
        "graph_id": "react",
        "user_id": "alice",
        "model": "demo",
        "team": "ops",
    }
    assert traced["tags"] == ["mine", "pattern:react", "graph:react"]
    assert config["metadata"] == {"graph_id": "react", "team": "ops"}  # not modified


def test_the_model_spec_comes_from_the_context_or_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AGENT_PATTERNS_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert model_spec({"model": "openai:gpt-4o-mini"}) == "openai:gpt-4o-mini"
    assert model_spec(None) == "demo"
    assert model_spec({"model": "nonsense"}) == "nonsense"
