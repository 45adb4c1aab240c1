"""The refund orchestrator: five paths routed in code, payment exactly once, clean failures."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from checkpointers.ledger import InMemoryLedger
from demo.effects import read_effects
from demo.refund_orchestrator import EXAMPLE_REQUESTS, ShopPurchases, issue_refund
from graphs.orchestrator import build_orchestrator_graph
from models import ScriptedChatModel
from nodes.runtime import PatternRuntime
from state.orchestrator import ClaimReading, choose_path
from tests.snapshots import assert_matches_snapshot


def reading(damaged: bool = False) -> ClaimReading:
    return ClaimReading(damaged_item_reported=damaged, claim_summary="The customer wants a refund.")


def run(
    path: str,
    replies: list[Any] | ScriptedChatModel,
    ledger: InMemoryLedger | None = None,
    **context: Any,
) -> tuple[Any, ScriptedChatModel, dict[str, Any]]:
    model = (
        replies if isinstance(replies, ScriptedChatModel) else ScriptedChatModel(replies=replies)
    )
    runtime = PatternRuntime(checkpointer=InMemorySaver(), ledger=ledger or InMemoryLedger())
    graph = build_orchestrator_graph(
        model, records=ShopPurchases(), refund_tool=issue_refund, runtime=runtime
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    request = EXAMPLE_REQUESTS.get(path, path)
    run_context: Any = context or None
    user_input: Any = {"messages": [("user", request)]}
    graph.invoke(user_input, config, context=run_context)
    return graph, model, config


def values(graph: Any, config: dict[str, Any]) -> dict[str, Any]:
    return dict(graph.get_state(config).values)


def test_approved_refunds_once_then_the_model_drafts_the_processing_note() -> None:
    graph, model, config = run("approved", [reading(damaged=True), "Note: refund issued."])

    state = values(graph, config)
    assert state["route"]["path"] == "approved"
    [refund] = read_effects("refund")
    assert refund["order_id"] == "A-1001" and refund["amount"] == 89.99
    assert state["outcome"]["status"] == "issued"
    [record] = state["approvals"]
    assert record["reviewer"] == "policy:orchestrator" and record["decision"] == "accept"
    assert state["messages"][-1].text == "Note: refund issued."
    note_prompt = model.calls[-1].messages[-1].text
    assert refund["refund_id"] in note_prompt, "the note is drafted from the confirmed refund"


def test_both_checks_run_in_the_same_super_step() -> None:
    graph, _, config = run("approved", [reading(), "note"])

    history = list(graph.get_state_history(config))
    steps = [set(snapshot.next) for snapshot in history]
    assert {"verify_purchase", "check_policy"} in steps


def test_denied_when_the_requester_is_not_the_purchaser_and_nothing_is_paid() -> None:
    graph, model, config = run("denied", [reading()])

    state = values(graph, config)
    assert state["route"]["path"] == "denied"
    assert state["purchase"]["purchased_by_requester"] is False
    assert read_effects("refund") == []
    assert "Refund denied for order A-1001" in state["messages"][-1].text
    assert "Dana" not in state["messages"][-1].text, "the purchaser's name is not disclosed"
    assert len(model.calls) == 1, "only the claim was read; no draft"


def test_an_anonymous_request_is_denied() -> None:
    graph, _, config = run("Please refund order A-1001, it is broken.", [reading(True)])

    state = values(graph, config)
    assert state["route"]["path"] == "denied"
    assert state["purchase"]["requester_identified"] is False


def test_the_requester_from_the_context_wins_over_the_message() -> None:
    graph, _, config = run("denied", [reading(), "note"], requester="Dana Reyes")

    assert values(graph, config)["route"]["path"] == "approved"


def test_fraud_hold_routes_to_the_fraud_team_and_pays_nothing() -> None:
    graph, _, config = run("fraud_hold", [reading()])

    state = values(graph, config)
    assert state["route"]["path"] == "fraud_hold"
    assert state["fraud_referral"]["team"] == "fraud"
    assert state["fraud_referral"]["order_id"] == "A-1004"
    assert "chargeback" in state["route"]["reason"]
    assert read_effects("refund") == []
    assert "routed to the fraud team" in state["messages"][-1].text


def test_store_credit_outside_the_window_is_an_offer_drafted_by_the_model() -> None:
    graph, model, config = run("store_credit", [reading(), "We can offer store credit."])

    state = values(graph, config)
    assert state["route"]["path"] == "store_credit"
    assert state["policy"]["within_window"] is False
    assert read_effects("refund") == []
    assert state["messages"][-1].text == "We can offer store credit."
    assert '"days_since_purchase": 45' in model.calls[-1].messages[-1].text


def test_a_longer_window_approves_the_same_request() -> None:
    graph, _, config = run("store_credit", [reading(), "note"], refund_window_days=60)

    assert values(graph, config)["route"]["path"] == "approved"


def _manual_review() -> tuple[Any, ScriptedChatModel, dict[str, Any]]:
    graph, model, config = run(
        "manual_review", [reading(True), "PACKET: damaged desk, 420.00", "Note: issued."]
    )
    state = graph.get_state(config)
    assert state.next == ("approval_gate",)
    assert state.values["route"]["path"] == "manual_review"
    assert read_effects("refund") == []
    return graph, model, config


def test_manual_review_shows_the_drafted_packet_at_the_gate() -> None:
    graph, _, config = _manual_review()

    [pending] = graph.get_state(config).interrupts
    request = pending.value[0]
    assert request["action_request"]["args"]["order_id"] == "A-1002"
    assert "PACKET: damaged desk, 420.00" in request["description"]


def test_manual_review_accepted_refunds_once() -> None:
    graph, _, config = _manual_review()

    graph.invoke(Command(resume=[{"type": "accept", "reviewer": "fin-ops"}]), config)

    [refund] = read_effects("refund")
    assert refund["amount"] == 420.0
    state = values(graph, config)
    assert state["approvals"][-1]["reviewer"] == "fin-ops"
    assert state["messages"][-1].text == "Note: issued."


def test_manual_review_edit_may_lower_the_amount_not_move_the_order() -> None:
    graph, _, config = _manual_review()
    moved = {"order_id": "A-1001", "amount": 100.0, "reason": "partial"}
    graph.invoke(Command(resume={"type": "edit", "args": moved}), config)
    assert graph.get_state(config).interrupts, "moving the refund is refused; it asks again"

    lowered = {"order_id": "A-1002", "amount": 100.0, "reason": "partial"}
    graph.invoke(Command(resume={"type": "edit", "args": lowered}), config)

    assert [r["amount"] for r in read_effects("refund")] == [100.0]


def test_manual_review_rejected_pays_nothing_and_says_so() -> None:
    graph, model, config = _manual_review()
    calls = len(model.calls)

    graph.invoke(Command(resume=[{"type": "ignore", "reason": "no photos"}]), config)

    state = values(graph, config)
    assert read_effects("refund") == []
    assert state["outcome"]["status"] == "not_issued" and state["outcome"]["why"] == "rejected"
    assert state["messages"][-1].text.startswith("No refund was issued for order A-1002")
    assert len(model.calls) == calls, "no processing note for a refund that did not happen"


@pytest.mark.parametrize(
    ("purchase", "policy", "path"),
    [
        ({"purchased_by_requester": False}, {"fraud_flag": True}, "denied"),
        ({"purchased_by_requester": True}, {"fraud_flag": True}, "fraud_hold"),
        (
            {"purchased_by_requester": True},
            {"requires_manual_review": True, "within_window": False},
            "manual_review",
        ),
        ({"purchased_by_requester": True}, {"within_window": True}, "approved"),
        ({"purchased_by_requester": True}, {"within_window": False}, "store_credit"),
    ],
)
def test_choose_path_tests_the_rules_in_order(
    purchase: dict[str, Any], policy: dict[str, Any], path: str
) -> None:
    assert choose_path(purchase, policy)[0] == path


def test_damage_outside_the_window_goes_to_manual_review() -> None:
    request = "I'm Ava Lindqvist. Order A-1005 arrived cracked, refund please."
    graph, _, config = run(request, [reading(damaged=True), "PACKET"])

    state = values(graph, config)
    assert state["route"]["path"] == "manual_review"
    assert "damage reported outside the refund window" in state["route"]["reason"]


def test_invalid_claim_reading_ends_cleanly_without_a_payment() -> None:
    graph, model, config = run(
        "approved", ScriptedChatModel(replies=[{"damaged_item_reported": "maybe"}], cycle=True)
    )

    state = values(graph, config)
    assert read_effects("refund") == []
    assert state["invalid_output"]["role"] == "orchestrator.claim_reader"
    assert state.get("route") is None
    assert "No refund was issued" in state["messages"][-1].text
    assert len(model.calls) == 2, "asked once more with the error, then gave up"


def test_a_claim_reader_that_raises_ends_cleanly_without_a_payment() -> None:
    broken = ScriptedChatModel(replies=[ValueError("model exploded")], cycle=True)
    graph, _, config = run("approved", broken)

    state = values(graph, config)
    assert read_effects("refund") == []
    assert state["invalid_output"]["reason"] == (
        "the orchestrator.claim_reader failed: ValueError: model exploded"
    )
    assert state["messages"][-1].text.startswith(
        "I could not process this refund request automatically: the orchestrator.claim_reader "
        "failed: ValueError: model exploded."
    )


def test_a_note_writer_that_raises_after_the_refund_still_reports_the_refund() -> None:
    graph, _, config = run("approved", [reading(), ValueError("model exploded")])

    state = values(graph, config)
    [refund] = read_effects("refund")
    text = state["messages"][-1].text
    assert text.startswith(f"Refund {refund['refund_id']} of 89.99 USD was issued")
    assert "the orchestrator.note_writer failed: ValueError: model exploded" in text


def test_a_packet_writer_that_raises_still_gates_with_the_checked_facts() -> None:
    graph, _, config = run("manual_review", [reading(True), ValueError("model exploded")])

    [pending] = graph.get_state(config).interrupts
    assert "No packet (the orchestrator.packet_writer failed" in pending.value[0]["description"]
    assert '"amount": 420.0' in pending.value[0]["description"]
    assert read_effects("refund") == []


def test_an_offer_writer_that_raises_still_offers_credit_from_the_facts() -> None:
    graph, _, config = run("store_credit", [reading(), ValueError("model exploded")])

    text = values(graph, config)["messages"][-1].text
    assert "store credit of 64.00 USD is offered" in text
    assert "the orchestrator.offer_writer failed" in text
    assert read_effects("refund") == []


def test_a_request_without_an_order_asks_for_one() -> None:
    graph, model, config = run("I'm Dana Reyes, refund my kettle.", [])

    assert "Which order" in values(graph, config)["messages"][-1].text
    assert model.calls == []


def test_an_unknown_order_is_reported_not_crashed() -> None:
    graph, _, config = run("I'm Dana Reyes, refund Z-9999.", [])

    assert "could not find order Z-9999" in values(graph, config)["messages"][-1].text


def test_a_replayed_refund_step_does_not_pay_twice() -> None:
    ledger = InMemoryLedger()
    graph, _, config = run("approved", [reading(), "note", "note again"], ledger=ledger)
    before = next(s for s in graph.get_state_history(config) if s.next == ("run_tools",))

    graph.invoke(None, before.config)

    assert len(read_effects("refund")) == 1
    assert ledger.entries()[0].attempts == 1


def test_graph_structure_snapshot() -> None:
    graph = build_orchestrator_graph(
        ScriptedChatModel(replies=[]), records=ShopPurchases(), refund_tool=issue_refund
    )
    assert_matches_snapshot("orchestrator", graph.get_graph().draw_mermaid())
