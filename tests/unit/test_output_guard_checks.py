"""Canaries and PII in replies: refused, redacted, masked or withheld, and recorded without them.

Driven through the ReAct graph and a supervisor (a worker's reply passes its own checks, the
supervisor's reply the parent's), with scripted models.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from demo.orders import lookup_order, order_tools
from graphs.react import build_react_graph
from graphs.supervisor import build_supervisor_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.guardrails import Guardrails
from nodes.output_guard import CANARY_REFUSAL, GUARD_KEY, PII_BLOCKED_REPLY
from nodes.runtime import PatternRuntime
from observability.events import Event, add_sink
from state.agent_spec import AgentSpec

SECRET = "internal-token-4411-canary"
EMAIL = "dana.reyes@example.com"
CARD = "4111 1111 1111 1111"
LEAK = f"Sure. Our internal token is {SECRET}, and Dana's address is {EMAIL}."


def run(replies: list[Any], guardrails: Guardrails, context: Any = None) -> dict[str, Any]:
    graph = build_react_graph(
        tools=order_tools(),
        model=ScriptedChatModel(replies=replies),
        runtime=PatternRuntime(checkpointer=InMemorySaver(), guardrails=guardrails),
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    return dict(graph.invoke({"messages": [HumanMessage("hi")]}, config, context=context))


def reply(values: dict[str, Any]) -> AIMessage:
    message = values["messages"][-1]
    assert isinstance(message, AIMessage)
    return message


def output_flags(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in values.get("guardrail_flags") or [] if f["kind"] == "output"]


def test_a_reply_with_a_canary_is_refused_and_the_secret_is_kept_nowhere() -> None:
    events: list[Event] = []
    remove = add_sink(events.append)
    try:
        values = run([LEAK], Guardrails(canaries=(SECRET,), pii_mode="redact"))
    finally:
        remove()
    assert reply(values).text == CANARY_REFUSAL
    assert reply(values).response_metadata[GUARD_KEY] == [{"check": "canary", "action": "refused"}]
    assert SECRET not in repr(values)  # not in the messages, the flags or the metadata
    [flag] = output_flags(values)
    assert flag["check"] == "canary" and "replaced" not in flag
    guarded = [e.fields for e in events if e.kind == "output_guarded"]
    assert guarded == [{**guarded[0], "check": "canary", "action": "refused"}]


def test_a_canary_is_found_whatever_its_case_or_hidden_characters() -> None:
    hidden = SECRET.upper().replace("-", "-\u200b", 1)
    values = run([f"token: {hidden}"], Guardrails(canaries=(SECRET,)))
    assert reply(values).text == CANARY_REFUSAL


@pytest.mark.parametrize(
    ("mode", "kept", "action"),
    [("redact", "[", "redacted"), ("mask", "@example.com", "masked")],
)
def test_personal_data_in_a_reply_is_redacted_or_masked(mode: str, kept: str, action: str) -> None:
    values = run([f"Dana's address is {EMAIL}, card {CARD}."], Guardrails(pii_mode=mode))  # type: ignore[arg-type]
    text = reply(values).text
    assert EMAIL not in text and CARD not in text and kept in text
    assert text.startswith("Dana's address is")
    assert reply(values).response_metadata[GUARD_KEY] == [{"check": "pii", "action": action}]


def test_block_mode_withholds_a_reply_with_personal_data_and_keeps_a_clean_one() -> None:
    values = run([f"Write to {EMAIL}."], Guardrails(pii_mode="block"))
    assert reply(values).text == PII_BLOCKED_REPLY
    clean = "Your order A-1001 was delivered on 2026-11-12."
    values = run([clean], Guardrails(pii_mode="block"))
    assert reply(values).text == clean and GUARD_KEY not in reply(values).response_metadata
    assert output_flags(values) == []


def test_tool_calls_and_tool_results_are_not_replies() -> None:
    values = run(
        [tool_calls_reply(("lookup_order", {"order_id": "A-1001"})), "Delivered."],
        Guardrails(pii_mode="block", canaries=("A-1001-canary",)),
    )
    assert reply(values).text == "Delivered."
    assert "Dana" in values["messages"][2].text  # the tool result itself is not a reply


def test_the_replaced_text_of_a_false_claim_is_recorded_with_its_pii_redacted() -> None:
    values = run([f"Refund issued to {EMAIL}."], Guardrails(pii_mode="redact", claim_check=True))
    assert reply(values).text.startswith("Correction:")
    [flag] = output_flags(values)
    assert flag["check"] == "claim" and flag["replaced"].startswith("Refund issued to")
    assert EMAIL not in repr(values)


def test_a_workers_leak_is_stopped_in_the_worker_and_the_supervisors_in_the_supervisor() -> None:
    worker = AgentSpec(
        "researcher",
        "finds facts",
        instructions="You research.",
        tools=[lookup_order],
        model=ScriptedChatModel(replies=[f"Found it: {SECRET}"]),
    )
    boss = ScriptedChatModel(
        replies=[tool_calls_reply(("delegate_to_researcher", {"task": "find"})), LEAK]
    )
    graph = build_supervisor_graph(
        [worker],
        model=boss,
        runtime=PatternRuntime(
            checkpointer=InMemorySaver(), guardrails=Guardrails(canaries=(SECRET,))
        ),
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    values = graph.invoke({"messages": [HumanMessage("hi")]}, config)
    assert reply(values).text == CANARY_REFUSAL
    assert SECRET not in repr(values["messages"])
    assert SECRET not in boss.calls[1].last_text  # the worker's answer reached it refused
