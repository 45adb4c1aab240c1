"""The demo shop's refund desk: its configuration of the hitl workflow (`graphs.hitl`).

A customer asks for a refund. The desk reads the order id (and any amount) from the message,
looks up the order and its payment risk, asks the model for a `RefundRecommendation`, and
applies the refund policy in code: only a refund the model recommends, within
``auto_approve_limit``, with a fraud score within ``max_fraud_score`` and no earlier refund of
the order in the thread is approved automatically; anything else waits for a person, who may
lower the amount but not move the refund to another order (``order_id`` is locked). The reply
is drafted from the refund's facts, and a draft that claims a refund which was not issued is
replaced (`claims_unapproved_refund`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from demo.orders import get_payment_risk, issue_refund, lookup_order
from demo.refund_state import REFUND_SYSTEM_PROMPT, RefundRecommendation
from nodes.hitl_desk import HitlDesk, Lookup
from state.hitl import CaseView, HitlContext, PolicyDecision

__all__ = [
    "POLICY_NAME",
    "REPLY_SYSTEM_PROMPT",
    "claims_unapproved_refund",
    "read_refund_case",
    "refund_desk",
    "refund_policy",
    "refund_reply_facts",
]

POLICY_NAME = "refund-policy"
_ORDER_ID = re.compile(r"\b[A-Z]-\d{4}\b")
_REFUND_INTENT = re.compile(r"\b(refund\w*|money back|reimburs\w*|charge ?back)\b", re.I)
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


def read_refund_case(text: str) -> dict[str, Any] | str:
    """The order id and any amount named in a refund request, or the question to ask back."""
    order = _ORDER_ID.search(text)
    if order is None:
        return (
            "I can look into a refund once I know the order. Which order is it? "
            "(Order ids look like A-1001.)"
        )
    if not _REFUND_INTENT.search(text):
        return (
            f"This desk handles refund requests. Do you want a refund for "
            f"{order.group(0)}? If so, say so and tell me what went wrong."
        )
    amount = _AMOUNT.search(text)
    requested = float(amount.group(1) or amount.group(2)) if amount else None
    return {"order_id": order.group(0), "requested_amount": requested}


def _amount(view: CaseView, recommendation: Mapping[str, Any]) -> float:
    """The requested amount, else the recommended one, when within the total; else the total."""
    order_total = float((view.facts.get("order") or {}).get("total") or 0.0)
    for candidate in (view.case.get("requested_amount"), recommendation.get("amount")):
        if candidate and 0 < float(candidate) <= order_total:
            return round(float(candidate), 2)
    return round(order_total, 2)


def _review_reasons(
    view: CaseView, decision: str, amount: float, fraud: float, context: HitlContext
) -> list[str]:
    """Why a person must decide (empty: within policy)."""
    reasons = []
    if decision != "approve":
        reasons.append(f"the model recommends {decision}")
    if amount > context.auto_approve_limit:
        reasons.append(f"amount {amount:.2f} is above {context.auto_approve_limit:.2f}")
    if fraud > context.max_fraud_score:
        reasons.append(f"fraud score {fraud:.2f} is above {context.max_fraud_score:.2f}")
    order_id = view.case["order_id"]
    earlier = [
        str(result.get("refund_id"))
        for result in view.earlier_results
        if result.get("order_id") == order_id
    ]
    if earlier:
        reasons.append(f"{order_id} was already refunded here ({', '.join(earlier)})")
    return reasons


def refund_policy(view: CaseView, context: HitlContext) -> PolicyDecision:
    """The refund policy: automatic only when approved, small, low-risk and a first refund.

    Auto-approval needs all of: the model recommends approve, the amount is within
    ``auto_approve_limit``, the fraud score is at most ``max_fraud_score``, and the order was
    not refunded earlier in the thread. ``need_more_info`` proposes nothing.
    """
    recommendation = view.recommendation or {}
    order_id = view.case["order_id"]
    amount = _amount(view, recommendation)
    decision = recommendation.get("decision", "need_more_info")
    fraud = float((view.facts.get("payment_risk") or {}).get("fraud_score", 1.0))
    reasons = _review_reasons(view, decision, amount, fraud, context)
    if decision == "need_more_info":
        return PolicyDecision(
            verdict="no_action", reasons=tuple(reasons), details={"amount": amount}
        )
    summary = f"Recommendation: {decision} a refund of {amount:.2f} for {order_id}. " + (
        "Needs review: " + "; ".join(reasons) + "." if reasons else "Within policy."
    )
    args = {
        "order_id": order_id,
        "amount": amount,
        "reason": recommendation.get("rationale") or "customer refund request",
    }
    if not reasons:
        return PolicyDecision(
            verdict="auto_approve",
            args=args,
            call_key=order_id,
            summary=summary,
            approval_reason=f"within policy: amount {amount:.2f} <= "
            f"{context.auto_approve_limit:.2f}, fraud {fraud:.2f} <= "
            f"{context.max_fraud_score:.2f}, model recommends approve",
            details={"amount": amount},
        )
    note = (
        f"Model recommendation: {decision} — {recommendation.get('rationale', '')}\n"
        f"Cited facts: {'; '.join(recommendation.get('cited_facts', []))}\n"
        f"Why a person must decide: {'; '.join(reasons)}."
    )
    return PolicyDecision(
        verdict="review",
        reasons=tuple(reasons),
        args=args,
        call_key=order_id,
        summary=summary,
        note=note,
        details={"amount": amount},
    )


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


def _check_refund_draft(draft: str, outcome: Mapping[str, Any]) -> str | None:
    """A draft may claim a refund only when one was issued."""
    if outcome["status"] != "issued" and claims_unapproved_refund(draft):
        return "draft claimed a refund"
    return None


def _not_issued_facts(outcome: Mapping[str, Any]) -> list[str]:
    facts = [_NOT_ISSUED[outcome["why"]]]
    reason = outcome.get("reason", "")
    if outcome["why"] == "failed" and "already refunded" in reason:
        facts.append(reason.split("ValueError: ", 1)[-1])
    if "replied:" in reason:
        facts.append("Reviewer's note: " + reason.split("replied:", 1)[1].strip())
    return facts


def refund_reply_facts(view: CaseView, outcome: Mapping[str, Any]) -> list[str]:
    """What the customer reply is drafted from: the order and what happened to the refund."""
    order = view.facts.get("order") or {}
    items = ", ".join(i["name"] for i in order.get("items", []))
    facts = [f"Order {view.case.get('order_id')} ({items}), total {order.get('total')} USD."]
    status = outcome["status"]
    if status == "issued":
        facts.append(
            f"Refund {outcome['refund_id']} of {outcome['amount']:.2f} {outcome['currency']} "
            "was issued to the original payment method; it arrives in 5-7 days."
        )
    elif status == "not_issued":
        facts.extend(_not_issued_facts(outcome))
    elif status == "unknown":
        facts.append(
            "The refund is being checked: we will confirm by email whether it went through."
        )
    elif outcome.get("why") == "invalid_recommendation":
        facts.append(
            "No refund was issued yet: the request could not be assessed automatically; "
            "a colleague will review it and reply."
        )
    else:
        rationale = (view.recommendation or {}).get("rationale", "please describe the problem")
        facts.append(f"No refund was issued yet: more information is needed ({rationale}).")
    return facts


def refund_desk() -> HitlDesk:
    """The refund desk: the order tools, `RefundRecommendation` and the refund policy."""
    return HitlDesk(
        name="refund",
        read_case=read_refund_case,
        describe_case=lambda case: f"order {case.get('order_id')}",
        lookups={
            "order": Lookup(lookup_order, lambda case: {"order_id": case["order_id"]}),
            "payment_risk": Lookup(get_payment_risk, lambda case: {"order_id": case["order_id"]}),
        },
        recommendation_schema=RefundRecommendation,
        instructions=REFUND_SYSTEM_PROMPT,
        context_label="Order context",
        action=issue_refund,
        locked_args=("order_id",),
        policy_name=POLICY_NAME,
        decide=refund_policy,
        reply_facts=refund_reply_facts,
        reply_instructions=REPLY_SYSTEM_PROMPT,
        check_draft=_check_refund_draft,
    )
