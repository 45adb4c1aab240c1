"""The fraud-events graph with scripted deciders: allow, flag, block behind the approval gate,
the strong-evidence rule, a misbehaving decider, bad input and the offline demo scenario."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from demo.effects import read_effects
from demo.fraud import (
    FRAUD_EVENT,
    FRAUD_REQUEST,
    OUTAGE_MERCHANT,
    block_card,
    card_desk_tools,
    demo_event,
)
from graphs.fraud_events import (
    SERVED_OPTIONS,
    block_call_id,
    build_fraud_events_graph,
    evidence_signals,
    graph,
)
from models import ScriptedChatModel
from state.fraud_events import FraudDecision, TransactionEvent
from tests.snapshots import assert_matches_snapshot

COFFEE = demo_event("evt-coffee")
RISKY = FRAUD_EVENT  # four strong signals
ONE_SIGNAL = demo_event("evt-one", risk_signal=0.9)  # one strong signal only


def decision(action: str, reasoning: str = "because") -> FraudDecision:
    return FraudDecision(action=action, reasoning=reasoning, evidence=["x"])  # type: ignore[arg-type]


def build(*replies: Any) -> tuple[CompiledStateGraph[Any, Any, Any, Any], ScriptedChatModel]:
    model = ScriptedChatModel(replies=list(replies))
    compiled = build_fraud_events_graph(
        card_desk_tools(), block_card, model=model, checkpointer=InMemorySaver()
    )
    return compiled, model


def run(
    compiled: CompiledStateGraph[Any, Any, Any, Any], event: dict[str, Any], **context: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {"configurable": {"thread_id": event["event_id"]}}
    out = compiled.invoke(
        {"messages": [HumanMessage(json.dumps(event))]}, config, context=context or None
    )
    return dict(out), config


def state(compiled: CompiledStateGraph[Any, Any, Any, Any], config: dict[str, Any]) -> Any:
    return compiled.get_state(config)


def test_graph_structure_snapshot() -> None:
    assert_matches_snapshot("fraud_events", graph.get_graph().draw_mermaid())


def test_allow_decides_once_and_answers() -> None:
    compiled, model = build(decision("allow", "Usual coffee."))

    out, config = run(compiled, COFFEE)

    values = state(compiled, config).values
    assert values["decision"]["action"] == "allow"
    assert values["decision"]["outcome"] == "allowed"
    assert values["decisions_made"] == 1
    assert out["messages"][-1].text == "Event evt-coffee: ALLOW. Usual coffee."
    (call,) = model.calls
    assert call.structured_output == "FraudDecision"
    assert '"merchant": "Corner Coffee"' in call.last_text  # the event and its enrichment
    assert '"user_history"' in call.last_text
    assert read_effects() == []


def test_flag_lets_the_payment_through_for_an_analyst() -> None:
    compiled, _ = build(decision("flag", "Odd amount."))

    out, config = run(compiled, ONE_SIGNAL)

    assert state(compiled, config).values["decision"]["outcome"] == "flagged"
    assert out["messages"][-1].text.startswith("Event evt-one: FLAG. Odd amount.")
    assert state(compiled, config).next == ()


def test_block_waits_for_approval_then_blocks_exactly_once() -> None:
    compiled, _ = build(decision("block", "Gift-card burst abroad."))

    _, config = run(compiled, RISKY)

    snapshot = state(compiled, config)
    assert snapshot.values["decision"]["outcome"] == "awaiting_approval"
    (pending,) = snapshot.interrupts
    request = pending.value[0]["action_request"]
    assert request == {
        "action": "block_card",
        "args": {"user_id": "u-300", "event_id": "evt-demo-1", "reason": "Gift-card burst abroad."},
    }
    assert read_effects("card_block") == []  # nothing happens before a person decides

    resume = Command(resume={pending.id: {"type": "accept", "reviewer": "analyst"}})
    out = compiled.invoke(resume, config)

    assert [e["user_id"] for e in read_effects("card_block")] == ["u-300"]
    values = state(compiled, config).values
    assert values["decision"]["outcome"] == "card_blocked"
    assert values["approvals"][0]["decision"] == "accept"
    assert "Card block: done" in out["messages"][-1].text
    assert values["decisions_made"] == 1


def test_a_rejected_block_is_not_run() -> None:
    compiled, _ = build(decision("block", "Gift-card burst abroad."))
    _, config = run(compiled, RISKY)
    (pending,) = state(compiled, config).interrupts

    reject = {"type": "ignore", "reviewer": "analyst", "reason": "customer confirmed"}
    out = compiled.invoke(Command(resume={pending.id: reject}), config)

    assert read_effects("card_block") == []
    assert state(compiled, config).values["decision"]["outcome"] == "block_not_run"
    assert "Card block: not done" in out["messages"][-1].text
    assert "customer confirmed" in out["messages"][-1].text


def test_an_operator_policy_of_never_blocks_without_a_person() -> None:
    compiled, _ = build(decision("block", "Gift-card burst abroad."))

    out, config = run(compiled, RISKY, approval_policy="never")

    assert state(compiled, config).interrupts == ()
    assert [e["event_id"] for e in read_effects("card_block")] == ["evt-demo-1"]
    assert state(compiled, config).values["decision"]["outcome"] == "card_blocked"
    tool_message = next(m for m in out["messages"] if m.type == "tool")
    assert tool_message.tool_call_id == block_call_id("evt-demo-1")


def test_a_block_without_strong_evidence_is_downgraded_to_flag() -> None:
    compiled, _ = build(decision("block", "Risky."))

    out, config = run(compiled, ONE_SIGNAL)

    made = state(compiled, config).values["decision"]
    assert made["model_action"] == "block" and made["action"] == "flag"
    assert made["downgraded"] == "a block needs 2 strong signals, found 1"
    assert state(compiled, config).interrupts == () and read_effects() == []
    assert "Downgraded from block" in out["messages"][-1].text


def test_min_block_signals_is_a_run_setting() -> None:
    compiled, _ = build(decision("block", "Risky."))

    _, config = run(compiled, ONE_SIGNAL, min_block_signals=1)

    assert state(compiled, config).values["decision"]["outcome"] == "awaiting_approval"


def test_a_misbehaving_decider_ends_cleanly_with_a_flag() -> None:
    compiled, model = build({"action": "nuke", "reasoning": "?"})
    model.cycle = True  # the same invalid answer when asked again

    out, config = run(compiled, RISKY)

    values = state(compiled, config).values
    assert len(model.calls) == 2  # asked again once with the validation error
    assert values["decision"]["action"] == "flag"
    assert values["invalid_output"]["outcome"] == "fallback"
    assert "action" in values["invalid_output"]["reason"]
    assert "no valid decision" in out["messages"][-1].text
    assert state(compiled, config).next == () and read_effects() == []


def test_input_that_is_not_an_event_ends_with_the_reason() -> None:
    compiled, model = build()
    config = {"configurable": {"thread_id": "t-bad"}}

    out = compiled.invoke({"messages": [HumanMessage('{"event_id": "x"}')]}, config)

    assert out["messages"][-1].text.startswith("Not a valid transaction event")
    assert "risk_signal: Field required" in out["messages"][-1].text
    assert state(compiled, config).values["status"] == "invalid"
    assert model.calls == []


def test_a_failing_enrichment_fails_the_run_and_a_retry_continues_from_the_checkpoint() -> None:
    compiled, model = build(decision("allow"))
    outage = demo_event("evt-outage", merchant=OUTAGE_MERCHANT)

    with pytest.raises(ConnectionError):
        run(compiled, outage)

    config = {"configurable": {"thread_id": "evt-outage"}}
    assert state(compiled, config).next == ("enrich",)
    with pytest.raises(ConnectionError):
        compiled.invoke(None, config)
    assert model.calls == []


def test_evidence_signals_find_strong_and_medium_signals() -> None:
    event = TransactionEvent.model_validate(RISKY)
    enrichment: dict[str, Any] = {}  # the event alone
    strong, medium = evidence_signals(event, enrichment)
    assert strong == ["network risk score 0.91"] and medium == []

    enrichment = {
        "user_history": {"known": True, "avg_amount": 41.0},
        "merchant_reputation": {"reputation": 0.1},
        "device_signals": {"device_id": "d-9", "known_device": False, "abroad": True,
                           "country": "NG"},
    }  # fmt: skip
    strong, _ = evidence_signals(event, enrichment)
    assert len(strong) == 4


def test_the_fraud_scenario_runs_offline_on_the_demo_model() -> None:
    served = build_fraud_events_graph(**SERVED_OPTIONS, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "evt-demo-1"}}

    out = served.invoke(
        {"messages": [HumanMessage(FRAUD_REQUEST)]}, config, context={"model": "demo"}
    )

    made = served.get_state(config).values["decision"]
    assert made["action"] == "block" and made["outcome"] == "awaiting_approval"
    assert "strong evidence" in made["reasoning"]
    assert out["messages"][-1].tool_calls[0]["name"] == "block_card"

    coffee = {"configurable": {"thread_id": "evt-coffee"}}
    served.invoke(
        {"messages": [HumanMessage(json.dumps(COFFEE))]}, coffee, context={"model": "demo"}
    )
    assert served.get_state(coffee).values["decision"]["action"] == "allow"
