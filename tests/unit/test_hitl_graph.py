"""The refund-approval graph: policy, the gate's four answers, the reply check, the ledger."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from checkpointers.ledger import InMemoryLedger
from demo.effects import read_effects
from demo.refund_desk import claims_unapproved_refund, refund_desk
from demo.refund_state import RefundRecommendation
from graphs.hitl import build_hitl_graph
from models import ScriptedChatModel
from nodes.runtime import PatternRuntime
from tests.snapshots import assert_matches_snapshot


def recommendation(decision: str = "approve", amount: float = 0.0) -> RefundRecommendation:
    return RefundRecommendation(
        decision=decision,  # type: ignore[arg-type]
        amount=amount,
        cited_facts=["delivered 12 days ago", "fraud score 0.02"],
        rationale="Damaged on arrival, within the 30-day window.",
    )


def run(
    question: str, replies: list[Any], ledger: InMemoryLedger | None = None, **context: Any
) -> tuple[Any, ScriptedChatModel, dict[str, Any]]:
    model = ScriptedChatModel(replies=replies)
    runtime = PatternRuntime(checkpointer=InMemorySaver(), ledger=ledger)
    graph = build_hitl_graph(model=model, desk=refund_desk(), runtime=runtime)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [("user", question)]}, config, context=context or None)
    return graph, model, config


def test_low_risk_refund_is_approved_automatically_and_audited() -> None:
    graph, model, config = run(
        "My kettle A-1001 arrived broken, please refund it.",
        [recommendation("approve", 89.99), "Your refund of 89.99 USD has been issued."],
    )

    values = graph.get_state(config).values
    assert not graph.get_state(config).interrupts
    [refund] = read_effects("refund")
    assert refund["amount"] == 89.99 and values["outcome"]["status"] == "issued"
    [record] = values["approvals"]
    assert record["reviewer"] == "policy:auto" and record["decision"] == "accept"
    assert "within policy" in record["reason"]
    assert values["messages"][-1].text == "Your refund of 89.99 USD has been issued."
    prompt = model.calls[0].messages[-1].text
    assert '"fraud_score": 0.02' in prompt and '"total": 89.99' in prompt, (
        "context reached the model"
    )


def _gated(**context: Any) -> tuple[Any, ScriptedChatModel, dict[str, Any]]:
    graph, model, config = run(
        "Order A-1002 is late, refund it.",
        [recommendation("approve", 420.0), "Thanks, we looked into it."],
        **context,
    )
    state = graph.get_state(config)
    assert state.next == ("approval_gate",), "420.00 is above the 100.00 limit"
    return graph, model, config


def test_high_risk_refund_waits_with_the_recommendation_and_reasons() -> None:
    graph, _, config = _gated()

    [pending] = graph.get_state(config).interrupts
    request = pending.value[0]
    assert request["action_request"] == {
        "action": "issue_refund",
        "args": {
            "order_id": "A-1002",
            "amount": 420.0,
            "reason": "Damaged on arrival, within the 30-day window.",
        },
    }
    assert "amount 420.00 is above 100.00" in request["description"]
    assert "Model recommendation: approve" in request["description"]
    assert "fraud score 0.02" in request["description"]
    assert read_effects("refund") == []


def test_high_risk_refund_approved() -> None:
    graph, _, config = _gated()

    result = graph.invoke(Command(resume=[{"type": "accept", "reviewer": "fin-ops"}]), config)

    assert [r["amount"] for r in read_effects("refund")] == [420.0]
    assert result["approvals"][-1]["reviewer"] == "fin-ops"


def test_high_risk_refund_edited_refunds_the_lower_amount() -> None:
    graph, model, config = _gated()
    edited = {"order_id": "A-1002", "amount": 120.0, "reason": "late delivery credit"}

    graph.invoke(Command(resume={"type": "edit", "args": edited, "reviewer": "fin-ops"}), config)

    assert [r["amount"] for r in read_effects("refund")] == [120.0]
    values = graph.get_state(config).values
    assert values["outcome"]["amount"] == 120.0
    facts = model.calls[-1].messages[-1].text
    assert "of 120.00 USD was issued" in facts


def test_high_risk_refund_rejected_no_refund_and_reply_says_so() -> None:
    graph, model, config = run(
        "Order A-1002 is late, refund it.",
        [recommendation("approve", 420.0), "Good news: your refund has been issued!"],
    )

    graph.invoke(
        Command(resume=[{"type": "ignore", "reviewer": "fin-ops", "reason": "not yet late"}]),
        config,
    )

    values = graph.get_state(config).values
    assert read_effects("refund") == []
    assert values["outcome"]["status"] == "not_issued"
    assert values["outcome"]["reply_check"].startswith("draft claimed a refund")
    reply = values["messages"][-1].text
    assert "No refund was issued" in reply and "has been issued" not in reply
    assert "No refund was issued" in model.calls[-1].messages[-1].text


def test_respond_passes_the_reviewers_note_to_the_reply() -> None:
    graph, model, config = _gated()

    graph.invoke(
        Command(resume={"type": "response", "args": "Send photos of the box.", "reviewer": "ops"}),
        config,
    )

    assert read_effects("refund") == []
    assert "Reviewer's note: Send photos of the box." in model.calls[-1].messages[-1].text


def test_malformed_decision_is_explained_and_the_thread_stays_resumable() -> None:
    graph, _, config = _gated()

    edit = {"order_id": "A-1002", "amount": "lots", "reason": "x"}
    graph.invoke(Command(resume={"type": "edit", "args": edit}), config)

    [pending] = graph.get_state(config).interrupts
    assert "edited arguments are invalid" in pending.value[0]["description"]
    graph.invoke(Command(resume="approve"), config)
    assert len(read_effects("refund")) == 1


@pytest.mark.parametrize(
    ("question", "model_says", "reason"),
    [
        ("Refund A-1004, headphones broke", recommendation("approve", 59.0), "fraud score 0.35"),
        ("Refund A-1001 please", recommendation("deny", 0.0), "the model recommends deny"),
    ],
)
def test_fraud_or_a_denial_also_needs_a_person(question: str, model_says: Any, reason: str) -> None:
    graph, _, config = run(question, [model_says, "ok"])

    [pending] = graph.get_state(config).interrupts
    assert reason in pending.value[0]["description"]


def test_need_more_info_asks_the_customer_without_a_gate() -> None:
    graph, _, config = run(
        "Refund A-1001?", [recommendation("need_more_info"), "Could you tell us what happened?"]
    )

    values = graph.get_state(config).values
    assert not graph.get_state(config).interrupts and read_effects("refund") == []
    assert values["outcome"]["status"] == "not_requested"
    assert values["messages"][-1].text == "Could you tell us what happened?"


def test_an_edit_may_not_move_the_refund_to_another_order() -> None:
    graph, _, config = _gated()
    other = {"order_id": "A-1003", "amount": 30.0, "reason": "goodwill"}

    graph.invoke(Command(resume={"type": "edit", "args": other, "reviewer": "x"}), config)

    [pending] = graph.get_state(config).interrupts
    assert "an edit may not change order_id" in pending.value[0]["description"]
    assert read_effects("refund") == []


def test_a_second_refund_of_the_same_order_in_the_thread_needs_a_person() -> None:
    model = ScriptedChatModel(
        replies=[recommendation("approve", 89.99), "done", recommendation("approve", 89.99)]
    )
    graph = build_hitl_graph(model=model, desk=refund_desk(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "twice"}}
    graph.invoke({"messages": [("user", "Refund A-1001, it broke")]}, config)
    first_refund = read_effects("refund")[0]["refund_id"]

    graph.invoke({"messages": [("user", "Refund A-1001 again please")]}, config)

    [pending] = graph.get_state(config).interrupts
    assert f"A-1001 was already refunded here ({first_refund})" in pending.value[0]["description"]
    assert len(read_effects("refund")) == 1


@pytest.mark.parametrize(
    ("answer", "fact"),
    [
        ({"type": "ignore", "reviewer": "ops"}, "a reviewer declined it"),
        (
            {"type": "edit", "args": {"order_id": "A-1002", "amount": 999, "reason": "goodwill"}},
            "the payment system could not process it",
        ),
    ],
)
def test_the_reply_facts_say_why_no_refund_was_issued(answer: Any, fact: str) -> None:
    graph, model, config = _gated()

    graph.invoke(Command(resume=answer), config)

    assert fact in model.calls[-1].messages[-1].text
    assert graph.get_state(config).values["outcome"]["status"] == "not_issued"


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("Your refund has been issued.", True),
        ("We have refunded 59 USD to your card.", True),
        ("We've credited your card.", True),
        ("Good news: we processed your refund today!", True),
        ("No refund was issued: a reviewer declined it.", False),
        ("Your refund has not been approved yet.", False),
        ("We could not process a refund for this order.", False),
        ("Thanks for reaching out about your order.", False),
    ],
)
def test_claim_detection(text: str, claims: bool) -> None:
    assert claims_unapproved_refund(text) is claims


def test_a_question_without_refund_intent_is_not_a_refund() -> None:
    graph, model, config = run("What about A-1003?", [])

    assert (
        "This desk handles refund requests" in graph.get_state(config).values["messages"][-1].text
    )
    assert model.calls == [] and read_effects("refund") == []


def test_without_an_order_id_it_asks_for_one() -> None:
    graph, model, config = run("I want my money back", [])

    assert "Which order is it?" in graph.get_state(config).values["messages"][-1].text
    assert model.calls == []


def test_unknown_order_is_reported_not_crashed() -> None:
    graph, model, config = run("Refund Z-9999", [])

    assert "could not look up order Z-9999" in graph.get_state(config).values["messages"][-1].text


def test_ledger_returns_the_recorded_refund_when_the_step_is_replayed() -> None:
    ledger = InMemoryLedger()
    graph, _, config = run(
        "Refund A-1001, broken", [recommendation("approve", 89.99), "done", "again"], ledger=ledger
    )
    [entry] = ledger.entries()
    assert entry.status == "completed" and entry.tool == "issue_refund"

    # Replay the refund step from the checkpoint before it ran (time travel / fork).
    before = next(s for s in graph.get_state_history(config) if s.next == ("run_tools",))
    graph.invoke(None, before.config)

    assert len(read_effects("refund")) == 1, "the fork must not refund again"
    assert ledger.entries()[0].attempts == 1


def test_graph_structure_snapshot() -> None:
    graph = build_hitl_graph(model=ScriptedChatModel(replies=[]), desk=refund_desk())
    assert_matches_snapshot("hitl", graph.get_graph().draw_mermaid())
