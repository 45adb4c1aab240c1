"""The demo shop's refund orchestrator: purchases, fraud flags and offline stand-ins.

Purchases come from the shop's orders (`demo.orders.ORDERS`: the customer is the purchaser,
the total is the amount) plus one older order outside the refund window (A-1005). An order is
flagged for fraud when its payment risk shows a chargeback. The refund itself is the shop's
`demo.orders.issue_refund` (one refund per order, recorded in `demo.effects`).

The demo model is keyword heuristics, so a run on it plays the orchestrator's roles with these
stand-ins (`register_stand_ins`): the claim reader looks for damage words; the three drafters
fill templates from the checked facts. Each request in `EXAMPLE_REQUESTS` takes one path.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import BaseModel, Field

from demo.effects import record_effect
from demo.orders import ORDERS, PAYMENT_RISK, issue_refund
from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.orchestrator import (
    CLAIM_READER_ROLE,
    NOTE_WRITER_ROLE,
    OFFER_WRITER_ROLE,
    PACKET_WRITER_ROLE,
    ClaimReading,
    Purchase,
)
from tools.idempotency import idempotency_key
from tools.registry import agent_tool

__all__ = [
    "EXAMPLE_REQUESTS",
    "EXTRA_PURCHASES",
    "SAGA_REQUEST",
    "ShopPurchases",
    "draft_note",
    "draft_offer",
    "draft_packet",
    "issue_refund",
    "post_refund_note",
    "read_claim",
    "register_stand_ins",
]

EXTRA_PURCHASES: dict[str, Purchase] = {
    "A-1005": Purchase("A-1005", "Ava Lindqvist", 64.00, "USD", days_since_purchase=45),
}
"""Purchases the order desk does not list: an older order, outside the 30-day window."""

EXAMPLE_REQUESTS: dict[str, str] = {
    "approved": "I'm Dana Reyes. My kettle from order A-1001 arrived broken, please refund it.",
    "manual_review": "I'm Sam Okafor. Please refund order A-1002, the desk arrived damaged.",
    "fraud_hold": "I'm Kim Novak. I want a refund for order A-1004.",
    "denied": "I'm Sam Okafor. Refund order A-1001 to me, please.",
    "store_credit": "I'm Ava Lindqvist. I'd like a refund for order A-1005, I changed my mind.",
}
"""One request per path (the CLI demo and the docs use them)."""

SAGA_REQUEST = "I'm Lee Park. The lamp from order A-1003 is faulty, please refund it."
"""An approved refund whose processing note the accounting ledger refuses (the order is not
invoiced yet), so the saga reverses the refund once a person approves the reversal."""

_DAMAGE = re.compile(r"\b(broken|damaged|cracked|faulty|defective|shattered|dented)\b", re.I)


class ShopPurchases:
    """The demo shop's purchases (`state.orchestrator.PurchaseRecords`)."""

    def find(self, order_id: str) -> Purchase | None:
        """The purchase of `order_id`: a shop order or one of `EXTRA_PURCHASES`."""
        if order_id in EXTRA_PURCHASES:
            return EXTRA_PURCHASES[order_id]
        order = ORDERS.get(order_id)
        if order is None:
            return None
        risk = PAYMENT_RISK.get(order_id, {})
        chargebacks = int(risk.get("chargebacks", 0))
        return Purchase(
            order_id=order_id,
            purchaser=order["customer"],
            amount=float(order["total"]),
            currency=order["currency"],
            days_since_purchase=int(order["days_since_purchase"]),
            fraud_flag=chargebacks > 0,
            fraud_reason=f"{chargebacks} chargeback(s) on the account" if chargebacks else "",
        )


class RefundNoteArgs(BaseModel):
    """Arguments of `post_refund_note`."""

    order_id: str = Field(description="The refunded order.", min_length=1)
    refund_id: str = Field(description="The refund the note is about.", min_length=1)
    note: str = Field(description="The internal processing note.", min_length=1)


@agent_tool(args_schema=RefundNoteArgs, side_effects=True, idempotent=True)
def post_refund_note(order_id: str, refund_id: str, note: str) -> dict[str, Any]:
    """Post a refund's internal processing note to the accounting ledger."""
    order = ORDERS.get(order_id) or {}
    if order.get("status") == "processing":
        raise ValueError(
            f"the accounting ledger refuses notes for {order_id}: it is not invoiced yet "
            "(status processing)"
        )
    key = idempotency_key() or f"{order_id}:{refund_id}"
    note_id = "NOTE-" + hashlib.sha256(f"{refund_id}|{key}".encode()).hexdigest()[:8].upper()
    recorded = record_effect(
        "refund_note",
        {"note_id": note_id, "order_id": order_id, "refund_id": refund_id, "note": note},
    )
    return {"note_id": recorded["note_id"], "refund_id": refund_id, "status": "posted"}


def read_claim(*, request: str = "", **_: Any) -> ScriptedChatModel:
    """The claim reader: damage words mean a damaged item; the first sentence is the claim."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", request) if s.strip()]
    claim = next((s for s in sentences if re.search(r"refund|order", s, re.I)), request)
    reading = ClaimReading(
        damaged_item_reported=bool(_DAMAGE.search(request)), claim_summary=claim or "none"
    )
    return ScriptedChatModel(replies=[reading], cycle=True)


def _case_line(facts: dict[str, Any]) -> str:
    purchase = facts.get("purchase") or {}
    return (
        f"Order {facts.get('order_id')}: {purchase.get('amount', 0):.2f} "
        f"{purchase.get('currency', '')}, bought {purchase.get('days_since_purchase')} days ago."
    )


def draft_packet(*, facts: dict[str, Any] | None = None, **_: Any) -> ScriptedChatModel:
    """The packet writer: claim, policy status, decision points and missing evidence."""
    facts = facts or {}
    policy = facts.get("policy") or {}
    text = "\n".join(
        [
            "Manual review packet",
            _case_line(facts),
            f"Customer claim: {policy.get('claim_summary', 'not stated')}",
            f"Policy status: within window: {policy.get('within_window')}; "
            f"damage reported: {policy.get('damaged_item_reported')}.",
            f"Decision point: {facts.get('reason', '')}.",
            "Missing evidence: photos of the item and its packaging.",
        ]
    )
    return ScriptedChatModel(replies=[text], cycle=True)


def draft_note(*, facts: dict[str, Any] | None = None, **_: Any) -> ScriptedChatModel:
    """The note writer: an internal processing note of the refund's confirmed facts."""
    facts = facts or {}
    refund = facts.get("refund") or {}
    text = (
        f"Processing note: refund {refund.get('refund_id')} of {refund.get('amount', 0):.2f} "
        f"{refund.get('currency', '')} issued for order {facts.get('order_id')} "
        f"({facts.get('path')}). {_case_line(facts)}"
    )
    return ScriptedChatModel(replies=[text], cycle=True)


def draft_offer(*, facts: dict[str, Any] | None = None, **_: Any) -> ScriptedChatModel:
    """The offer writer: store credit for the order's amount, with the policy reason."""
    facts = facts or {}
    purchase = facts.get("purchase") or {}
    policy = facts.get("policy") or {}
    text = (
        f"Thank you for reaching out about order {facts.get('order_id')}. It was bought "
        f"{purchase.get('days_since_purchase')} days ago, outside our "
        f"{policy.get('window_days')}-day refund window, so we cannot refund it to your card. "
        f"We would like to offer you store credit of {purchase.get('amount', 0):.2f} "
        f"{purchase.get('currency', '')} instead; reply to accept it."
    )
    return ScriptedChatModel(replies=[text], cycle=True)


def register_stand_ins() -> None:
    """Register the orchestrator's four roles' offline stand-ins (the served graph's wiring)."""
    register_offline(CLAIM_READER_ROLE, read_claim)
    register_offline(PACKET_WRITER_ROLE, draft_packet)
    register_offline(NOTE_WRITER_ROLE, draft_note)
    register_offline(OFFER_WRITER_ROLE, draft_offer)
