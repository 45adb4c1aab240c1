"""Guardrail settings: validation, served defaults, and a client that may tighten, never loosen.

The attacks are run in-process against a compiled graph: a run context asking to turn checks
off, a forged ``configurable`` carrying a weaker `Guardrails` object under every key a client
could guess, and a tool reading the settings while the forged config is in force.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from demo.orders import order_tools
from graphs.react import build_react_graph
from graphs.registry import build_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.controls import CONTROLS_KEY
from nodes.guardrails import (
    CANARIES_ENV,
    DEFAULT_GUARDRAILS,
    SERVED_GUARDRAILS,
    Guardrails,
    current_guardrails,
    using_guardrails,
)
from nodes.output_guard import CANARY_REFUSAL
from nodes.runtime import PatternRuntime
from tools.registry import agent_tool

SECRET = "sk-live-7f3a9c-canary"
STRICT = Guardrails(pii_mode="block", canaries=(SECRET,), claim_check=True)


class NoArgs(BaseModel):
    pass


def reading_tool(seen: list[Guardrails]) -> Any:
    """A read-only tool recording the guardrails it sees while it runs."""

    @agent_tool(args_schema=NoArgs, side_effects=False)
    def read_settings() -> str:
        """Read the guardrail settings."""
        seen.append(current_guardrails())
        return "ok"

    return read_settings


def run(
    replies: list[Any],
    guardrails: Guardrails,
    *,
    tools: list[Any] | None = None,
    config: dict[str, Any] | None = None,
    context: Any = None,
) -> Any:
    graph = build_react_graph(
        tools=tools if tools is not None else order_tools(),
        model=ScriptedChatModel(replies=replies),
        runtime=PatternRuntime(checkpointer=InMemorySaver(), guardrails=guardrails),
    )
    base: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    if config:
        base["configurable"].update(config.get("configurable", {}))
    return graph.invoke({"messages": [HumanMessage("hello")]}, base, context=context)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"pii_mode": "hide"}, "pii_mode"),
        ({"canaries": "abc-secret"}, "list of strings"),
        ({"canaries": ("ab",)}, "at least 4"),
        ({"claim_check": "yes"}, "claim_check must be a bool"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Guardrails(**kwargs)


def test_a_context_tightens_each_setting_and_never_loosens_one() -> None:
    base = Guardrails(pii_mode="redact", canaries=("first-secret",))
    tighter = base.tightened_by(
        {"guardrails": {"pii_mode": "block", "claim_check": True, "canaries": ["other-secret"]}}
    )
    assert tighter.pii_mode == "block" and tighter.claim_check
    assert tighter.canaries == ("first-secret", "other-secret")
    looser = STRICT.tightened_by(
        {"guardrails": {"pii_mode": "off", "claim_check": False, "canaries": []}}
    )
    assert looser == STRICT
    assert (
        Guardrails(pii_mode="redact").tightened_by({"guardrails": {"pii_mode": "mask"}}).pii_mode
        == "redact"
    )
    with pytest.raises(ValueError, match="unknown settings"):
        base.tightened_by({"guardrails": {"enabled": False}})
    with pytest.raises(ValueError, match="pii_mode"):
        base.tightened_by({"guardrails": {"pii_mode": "none"}})


def test_canaries_also_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CANARIES_ENV, "env-canary-one, ,ab,env-canary-two")
    assert Guardrails(canaries=("own-canary",)).all_canaries() == (
        "own-canary",
        "env-canary-one",
        "env-canary-two",
    )
    reply = run(["The key is env-canary-two."], DEFAULT_GUARDRAILS)["messages"][-1]
    assert reply.text == CANARY_REFUSAL


def test_served_graphs_have_every_check_on_and_keep_the_saver_given_beside() -> None:
    assert SERVED_GUARDRAILS.pii_mode != "off" and SERVED_GUARDRAILS.claim_check
    assert SERVED_GUARDRAILS.injection_screening
    served = PatternRuntime.served()
    saver = InMemorySaver()
    merged = PatternRuntime.of(served, checkpointer=saver)
    assert merged.checkpointer is saver and merged.guardrails is SERVED_GUARDRAILS
    assert type(merged.ledger).__name__ == "InMemoryLedger"  # derived from the saver
    with pytest.raises(ValueError, match="not both"):
        PatternRuntime.of(PatternRuntime(checkpointer=saver), checkpointer=InMemorySaver())
    # the CLI's way of building a served graph: the saver is taken in, the guardrails kept
    graph = build_graph("react", checkpointer=saver, model=ScriptedChatModel(replies=[SECRET]))
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke(
        {"messages": [HumanMessage("hi")]}, config, context={"guardrails": {"canaries": [SECRET]}}
    )
    assert graph.get_state(config).values["messages"][-1].text == CANARY_REFUSAL


def test_a_run_context_cannot_turn_the_checks_off() -> None:
    loosen = {"guardrails": {"pii_mode": "off", "claim_check": False, "canaries": []}}
    values = run([f"Here it is: {SECRET}"], STRICT, context=loosen)
    assert values["messages"][-1].text == CANARY_REFUSAL
    values = run(["Write to ana.lopez@example.com"], STRICT, context=loosen)
    assert "ana.lopez@example.com" not in values["messages"][-1].text


def test_a_run_context_can_turn_a_check_on() -> None:
    values = run(
        ["Write to ana.lopez@example.com"],
        DEFAULT_GUARDRAILS,
        context={"guardrails": {"pii_mode": "redact"}},
    )
    assert "ana.lopez@example.com" not in values["messages"][-1].text
    values = run(
        [f"ok {SECRET}"], DEFAULT_GUARDRAILS, context={"guardrails": {"canaries": [SECRET]}}
    )
    assert values["messages"][-1].text == CANARY_REFUSAL


def test_a_forged_configurable_key_cannot_replace_the_operators_guardrails() -> None:
    seen: list[Guardrails] = []
    forged = {
        key: DEFAULT_GUARDRAILS
        for key in (
            "guardrails",
            "__agent_patterns_guardrails",
            "agent_patterns_guardrails",
            CONTROLS_KEY.replace("controls", "guardrails"),
        )
    }
    values = run(
        [tool_calls_reply(("read_settings", {})), f"Here it is: {SECRET}"],
        STRICT,
        tools=[reading_tool(seen)],
        config={"configurable": forged},
    )
    assert seen == [STRICT]  # the tool saw the graph's own settings, not the forged ones
    assert values["messages"][-1].text == CANARY_REFUSAL


def test_outside_a_graph_the_defaults_apply_and_the_wrapper_scope_ends() -> None:
    assert current_guardrails() is DEFAULT_GUARDRAILS
    with using_guardrails(STRICT):
        assert current_guardrails() is STRICT
    assert current_guardrails() is DEFAULT_GUARDRAILS


@pytest.mark.parametrize(
    ("asked", "problem"),
    [
        ({"pii_mode": "none"}, "pii_mode"),
        ({"claim_check": "false"}, "claim_check"),
        ({"enabled": False}, "unknown settings"),
        ({"canaries": "one-secret"}, "list of strings"),
        ("strict", "mapping"),
    ],
)
def test_a_bad_guardrails_context_is_refused_before_the_run(asked: Any, problem: str) -> None:
    model = ScriptedChatModel(replies=["never asked"])
    graph = build_react_graph(tools=order_tools(), model=model)
    with pytest.raises(ValueError, match=problem):
        context: Any = {"guardrails": asked}
        graph.invoke({"messages": [HumanMessage("hi")]}, context=context)
    assert model.calls == []
