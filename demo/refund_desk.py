"""Nodes of the refund-approval workflow: intake, investigation, recommendation, policy, reply.

The workflow investigates with tools, asks the model for a structured recommendation, decides
in code whether a person must approve, and lets the shared approval gate and tool node do the
rest. A recommendation that does not fit `RefundRecommendation` is asked for again once with
the error (`nodes.ask.ask_structured`); still invalid, no refund is proposed: the run ends
with a reply saying nothing was issued, and ``refund`` records why (``why``:
``invalid_recommendation``). The customer reply is drafted by the model and then checked in
code: a draft that claims a refund which was not issued is replaced by a safe template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.tools import BaseTool
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Send

from checkpointers.ledger import EffectLedger, args_hash
from demo.refund_state import RefundContext, RefundRecommendation, RefundState
from nodes.approval_gate import bind_decision, gate_sends
from nodes.ask import InvalidOutput, ask_structured, ask_text
from nodes.context import AgentNode, context_as
from nodes.model_call import resolve_model
from nodes.retry import call_with_retries
from state.approval import ApprovalRecord

__all__ = [
    "REPLY_SYSTEM_PROMPT",
    "claims_unapproved_refund",
    "make_check_policy",
    "make_draft_reply",
    "make_investigate",
    "make_recommend",
    "parse_request",
    "route_after_policy",
]

DESK = "refund_desk"
_ORDER_ID = re.compile(r"\b[A-Z]-\d{4}\b")
_REFUND_INTENT = re.compile(r"\b(refund\w*|money back|reimburs\w*|charge ?back)\b", re.I)
POLICY_NAME = "refund-policy"
_AMOUNT = re.compile(
    r"(?:\$|usd\s*)(\d+(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s*(?:\$|usd|dollars)\b", re.I
)
_CLAIM = re.compile(
    r"\brefund(?:ed)?\b[^.?!]*\b(?:issued|approved|processed|sent|on its way|completed|credited)\b"
    r"|\b(?:issued|processed|approved|sent|credited)\b[^.?!]*\brefund"
    r"|\b(?:we|i)\s*(?:have\s+|'ve\s+)?(?:refunded|credited|reimbursed)\b",
    re.I,
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|cannot|unable|isn't|wasn't|hasn't|haven't|won't|yet)\b|n't\b", re.I
)
REPLY_SYSTEM_PROMPT = (
    "Draft a short, empathetic reply to the customer from the facts given. Do not claim a "
    "refund was issued or approved unless the facts say it was issued. Do not invent details."
)


def _model(model: BaseChatModel | None, context: RefundContext) -> BaseChatModel:
    return resolve_model(model, context.model)


def _reply(text: str) -> AIMessage:
    return AIMessage(content=text, name=DESK)


def parse_request(state: RefundState) -> dict[str, Any]:
    """Find the order id and any amount named in the latest customer message."""
    human = next((m for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), None)
    text = human.text if human else ""
    order = _ORDER_ID.search(text)
    if order is None:
        return {
            "order_id": None,
            "messages": [
                _reply(
                    "I can look into a refund once I know the order. Which order is it? "
                    "(Order ids look like A-1001.)"
                )
            ],
        }
    if not _REFUND_INTENT.search(text):
        return {
            "order_id": order.group(0),
            "messages": [
                _reply(
                    f"This desk handles refund requests. Do you want a refund for "
                    f"{order.group(0)}? If so, say so and tell me what went wrong."
                )
            ],
        }
    amount = _AMOUNT.search(text)
    requested = float(amount.group(1) or amount.group(2)) if amount else None
    return {"order_id": order.group(0), "requested_amount": requested}


def make_investigate(tools_by_name: Mapping[str, BaseTool]) -> AgentNode:
    """Build the node that gathers the order context with the read-only tools."""

    def investigate(state: RefundState) -> dict[str, Any]:
        """Look up the order and its payment risk."""
        order_id = state.get("order_id")
        lookup, risk_profile = tools_by_name["lookup_order"], tools_by_name["get_payment_risk"]
        try:  # read-only: transient failures are retried with backoff
            order = call_with_retries(lambda: lookup.invoke({"order_id": order_id}))
            risk = call_with_retries(lambda: risk_profile.invoke({"order_id": order_id}))
        except Exception as exc:  # noqa: BLE001 - reported to the customer, not raised
            return {
                "order": None,
                "messages": [_reply(f"I could not look up order {order_id}: {exc}")],
            }
        return {"order": order, "risk": risk}

    return investigate


def route_after_step(state: RefundState) -> str:
    """Stop when the previous step already answered the customer (no order, lookup failed)."""
    last = state["messages"][-1]
    return END if isinstance(last, AIMessage) and last.name == DESK else "continue"


def make_recommend(model: BaseChatModel | None) -> AgentNode:
    """Build the node that asks the model for a structured recommendation."""

    def recommend(state: RefundState, *, runtime: Runtime[RefundContext]) -> dict[str, Any]:
        """Ask the model: approve, deny or need more information, citing facts.

        Still invalid after the re-ask: ``recommendation`` is None and ``policy`` holds the
        `InvalidOutput` record, so `check_policy` proposes nothing and the reply says why.
        """
        context = context_as(runtime, RefundContext)
        facts = {"order": state.get("order"), "payment_risk": state.get("risk")}
        customer = next(m for m in reversed(state["messages"]) if isinstance(m, HumanMessage))
        recommendation = ask_structured(
            _model(model, context),
            [
                SystemMessage(context.system_prompt),
                HumanMessage(
                    f"Customer message:\n{customer.text}\n\n"
                    f"Order context:\n{json.dumps(facts, indent=2)}"
                ),
            ],
            RefundRecommendation,
            role="refund recommender",
            label="recommendation",
        )
        if isinstance(recommendation, InvalidOutput):
            reason = f"no valid recommendation: {recommendation.reason}"
            policy = {"amount": None, "needs_review": False, "reasons": [reason]}
            return {
                "recommendation": None,
                "policy": {**policy, "invalid_output": recommendation.record()},
            }
        return {"recommendation": recommendation.model_dump(mode="json")}

    return recommend


def _amount(state: RefundState, recommendation: dict[str, Any]) -> float:
    order_total = float((state.get("order") or {}).get("total") or 0.0)
    for candidate in (state.get("requested_amount"), recommendation.get("amount")):
        if candidate and 0 < float(candidate) <= order_total:
            return round(float(candidate), 2)
    return round(order_total, 2)


def make_check_policy(ledger: EffectLedger) -> AgentNode:
    """Build the node that applies the deterministic refund policy.

    Args:
        ledger: where an automatic approval is bound, like a person's at the gate (the tool
            node runs the refund only on a decision it finds there).
    """

    def check_policy(state: RefundState, *, runtime: Runtime[RefundContext]) -> dict[str, Any]:
        """Decide in code whether a person must approve; propose the refund as a tool call.

        Auto-approval needs all three: the model recommends approve, the amount is within
        ``auto_approve_limit`` and the fraud score is at most ``max_fraud_score``. An
        automatic approval is written to the audit trail like a person's.
        """
        context = context_as(runtime, RefundContext)
        if _invalid_recommendation(state):
            return {}  # nothing to propose: the reply says why
        recommendation = state.get("recommendation") or {}
        risk = state.get("risk") or {}
        amount = _amount(state, recommendation)
        decision = recommendation.get("decision", "need_more_info")
        reasons = []
        if decision != "approve":
            reasons.append(f"the model recommends {decision}")
        if amount > context.auto_approve_limit:
            reasons.append(f"amount {amount:.2f} is above {context.auto_approve_limit:.2f}")
        fraud = float(risk.get("fraud_score", 1.0))
        if fraud > context.max_fraud_score:
            reasons.append(f"fraud score {fraud:.2f} is above {context.max_fraud_score:.2f}")
        earlier = _earlier_refunds(state)
        if earlier:
            reasons.append(f"{state['order_id']} was already refunded here ({', '.join(earlier)})")
        policy = {"amount": amount, "needs_review": bool(reasons), "reasons": reasons}
        if decision == "need_more_info":
            return {"policy": {**policy, "needs_review": False}}
        turn = sum(isinstance(m, HumanMessage) for m in state["messages"])
        call = ToolCall(
            name="issue_refund",
            args={
                "order_id": state["order_id"],
                "amount": amount,
                "reason": recommendation.get("rationale") or "customer refund request",
            },
            id=f"refund-{state['order_id']}-{turn}",
            type="tool_call",
        )
        summary = (
            f"Recommendation: {decision} a refund of {amount:.2f} for {state['order_id']}. "
            + ("Needs review: " + "; ".join(reasons) + "." if reasons else "Within policy.")
        )
        update: dict[str, Any] = {
            "policy": policy,
            "messages": [AIMessage(content=summary, name=DESK, tool_calls=[call])],
        }
        if not reasons:
            record = ApprovalRecord(
                tool_call_id=call["id"] or "",
                action=call["name"],
                args=dict(call["args"]),
                decision="accept",
                reviewer="policy:auto",
                reason=f"within policy: amount {amount:.2f} <= "
                f"{context.auto_approve_limit:.2f}, fraud {fraud:.2f} <= "
                f"{context.max_fraud_score:.2f}, model recommends approve",
                policy=POLICY_NAME,
                requested_at=datetime.now(UTC).isoformat(),
                args_hash=args_hash(dict(call["args"])),
            ).model_dump(mode="json")
            bind_decision(ledger, record)
            update["approvals"] = [record]
        return update

    return check_policy


def _invalid_recommendation(state: RefundState) -> dict[str, Any] | None:
    """This turn's `InvalidOutput` record when the model gave no valid recommendation."""
    if state.get("recommendation") is not None:
        return None
    return (state.get("policy") or {}).get("invalid_output")


def route_after_policy(state: RefundState, *, runtime: Runtime[RefundContext]) -> str | list[Send]:
    """To the reply (nothing to do), the tool node (auto-approved) or the gate (review)."""
    policy = state.get("policy") or {}
    last = state["messages"][-1]
    if not isinstance(last, AIMessage) or not last.tool_calls:
        return "draft_reply"
    if not policy.get("needs_review"):
        return "run_tools"
    recommendation = state.get("recommendation") or {}
    note = (
        f"Model recommendation: {recommendation.get('decision')} — "
        f"{recommendation.get('rationale', '')}\n"
        f"Cited facts: {'; '.join(recommendation.get('cited_facts', []))}\n"
        f"Why a person must decide: {'; '.join(policy.get('reasons', []))}."
    )
    return gate_sends(
        list(last.tool_calls),
        context_as(runtime, RefundContext),
        note=note,
        locked_args=["order_id"],
        policy=POLICY_NAME,
    )


def _earlier_refunds(state: RefundState) -> list[str]:
    """Refund ids already issued for this order earlier in the thread."""
    found = []
    for message in state["messages"]:
        if isinstance(message, ToolMessage) and message.name == "issue_refund":
            if message.status != "error" and not message.text.startswith("Not run."):
                result = json.loads(message.text)
                if result.get("order_id") == state.get("order_id"):
                    found.append(str(result.get("refund_id")))
    return found


def _outcome(state: RefundState) -> dict[str, Any]:
    """What happened to the refund, read from the tool node's answer.

    Statuses: ``issued``; ``not_issued`` with ``why`` = ``rejected`` (a person),
    ``expired`` (the deadline policy), ``answered`` (a reviewer replied instead) or ``failed``
    (the tool refused, e.g. an amount above the total); ``unknown`` (the tool was cut short:
    the customer must not be told either way); ``not_requested``.
    """
    last = state["messages"][-1]
    invalid = _invalid_recommendation(state)
    if invalid is not None and not isinstance(last, ToolMessage):
        return {
            "status": "not_requested",
            "why": "invalid_recommendation",
            "reason": invalid["reason"],
        }
    if not isinstance(last, ToolMessage) or last.name != "issue_refund":
        return {"status": "not_requested"}
    text = last.text
    if text.startswith("Outcome unknown") or "outcome is unknown" in text.lower():
        return {"status": "unknown", "reason": text}
    if text.startswith("Rejected by policy:deadline"):
        return {"status": "not_issued", "why": "expired", "reason": text}
    if text.startswith("Rejected by"):
        return {"status": "not_issued", "why": "rejected", "reason": text}
    if text.startswith("Not run."):
        return {"status": "not_issued", "why": "answered", "reason": text}
    if last.status == "error":
        return {"status": "not_issued", "why": "failed", "reason": text}
    return {"status": "issued", **json.loads(text)}


_NOT_ISSUED = {
    "rejected": "No refund was issued: a reviewer declined it.",
    "expired": "No refund was issued: the request was not approved in time; it can be "
    "submitted again.",
    "answered": "No refund was issued yet: a reviewer needs something first.",
    "failed": "No refund was issued: the payment system could not process it.",
}


def claims_unapproved_refund(text: str) -> bool:
    """Whether a reply says a refund was issued, approved, processed or credited.

    Sentences that negate it ("No refund was issued", "has not been approved yet") are not
    claims.
    """
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    return any(_CLAIM.search(s) and not _NEGATION.search(s) for s in sentences)


def _facts(state: RefundState, outcome: dict[str, Any]) -> list[str]:
    order = state.get("order") or {}
    items = ", ".join(i["name"] for i in order.get("items", []))
    facts = [f"Order {state.get('order_id')} ({items}), total {order.get('total')} USD."]
    recommendation = state.get("recommendation") or {}
    if outcome["status"] == "issued":
        facts.append(
            f"Refund {outcome['refund_id']} of {outcome['amount']:.2f} {outcome['currency']} "
            "was issued to the original payment method; it arrives in 5-7 days."
        )
    elif outcome["status"] == "not_issued":
        facts.append(_NOT_ISSUED[outcome["why"]])
        if outcome["why"] == "failed" and "already refunded" in outcome.get("reason", ""):
            facts.append(outcome["reason"].split("ValueError: ", 1)[-1])
        if "replied:" in outcome.get("reason", ""):
            facts.append("Reviewer's note: " + outcome["reason"].split("replied:", 1)[1].strip())
    elif outcome["status"] == "unknown":
        facts.append(
            "The refund is being checked: we will confirm by email whether it went through."
        )
    elif outcome.get("why") == "invalid_recommendation":
        facts.append(
            "No refund was issued yet: the request could not be assessed automatically; "
            "a colleague will review it and reply."
        )
    else:
        facts.append(
            "No refund was issued yet: more information is needed "
            f"({recommendation.get('rationale', 'please describe the problem')})."
        )
    return facts


def _template(facts: list[str]) -> str:
    return "Thank you for your patience.\n" + "\n".join(f"- {fact}" for fact in facts)


def make_draft_reply(model: BaseChatModel | None) -> Callable[..., dict[str, Any]]:
    """Build the node that drafts the customer reply and checks it in code."""

    def draft_reply(state: RefundState, *, runtime: Runtime[RefundContext]) -> dict[str, Any]:
        """Draft the reply from the facts; never let it claim a refund that was not issued."""
        context = context_as(runtime, RefundContext)
        outcome = _outcome(state)
        facts = _facts(state, outcome)
        text = ask_text(
            _model(model, context),
            [
                SystemMessage(REPLY_SYSTEM_PROMPT),
                HumanMessage("Facts:\n" + "\n".join(f"- {fact}" for fact in facts)),
            ],
            role="reply writer",
        ).strip()
        checked = "passed"
        if not text:
            text, checked = _template(facts), "empty draft replaced by the template"
        elif outcome["status"] != "issued" and claims_unapproved_refund(text):
            text, checked = _template(facts), "draft claimed a refund; replaced by the template"
        return {
            "refund": {**outcome, "reply_check": checked},
            "messages": [AIMessage(content=text, name="customer_reply")],
        }

    return draft_reply
