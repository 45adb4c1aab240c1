"""Demo domain tools: the order-support desk from the seeds' e-commerce scenario.

Some tools only read (look up an order, its payment risk, the help centre, the shop's facts);
others change the world (file a support ticket, issue a refund, hand a case to a human team)
and so declare side effects. The data is a small fixed catalogue so every demo, test and
notebook is deterministic and offline.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from demo.effects import DuplicateEffectError, read_effects, record_effect
from models.heuristic_intents import stems
from tools.compensation import Compensation
from tools.idempotency import idempotency_key
from tools.registry import agent_tool

__all__ = [
    "ORDERS",
    "create_support_ticket",
    "escalate_to_human",
    "get_payment_risk",
    "get_store_info",
    "issue_refund",
    "lookup_order",
    "order_tools",
    "reverse_refund",
    "search_help_docs",
]

ORDERS: dict[str, dict[str, Any]] = {
    "A-1001": {
        "order_id": "A-1001",
        "customer": "Dana Reyes",
        "status": "delivered",
        "carrier": "DHL",
        "delivered_on": "2026-11-12",
        "items": [{"sku": "KETTLE-2L", "name": "Electric kettle", "price": 89.99}],
        "total": 89.99,
        "currency": "USD",
        "days_since_purchase": 12,
    },
    "A-1002": {
        "order_id": "A-1002",
        "customer": "Sam Okafor",
        "status": "shipped",
        "carrier": "UPS",
        "eta": "2026-11-24",
        "items": [{"sku": "DESK-OAK", "name": "Oak standing desk", "price": 420.00}],
        "total": 420.00,
        "currency": "USD",
        "days_since_purchase": 4,
    },
    "A-1004": {
        "order_id": "A-1004",
        "customer": "Kim Novak",
        "status": "delivered",
        "carrier": "DHL",
        "delivered_on": "2026-11-18",
        "items": [{"sku": "HEADPHONES-X", "name": "Wireless headphones", "price": 59.00}],
        "total": 59.00,
        "currency": "USD",
        "days_since_purchase": 6,
    },
    "A-1003": {
        "order_id": "A-1003",
        "customer": "Lee Park",
        "status": "processing",
        "carrier": None,
        "eta": "2026-11-28",
        "items": [{"sku": "MUG-SET", "name": "Stoneware mug set", "price": 34.50}],
        "total": 34.50,
        "currency": "USD",
        "days_since_purchase": 1,
    },
}

PAYMENT_RISK: dict[str, dict[str, Any]] = {
    "A-1001": {"fraud_score": 0.02, "prior_refunds": 0, "chargebacks": 0},
    "A-1002": {"fraud_score": 0.04, "prior_refunds": 1, "chargebacks": 0},
    "A-1003": {"fraud_score": 0.01, "prior_refunds": 0, "chargebacks": 0},
    "A-1004": {"fraud_score": 0.35, "prior_refunds": 4, "chargebacks": 1},
}

HELP_DOCS: list[dict[str, str]] = [
    {
        "id": "returns-policy",
        "title": "Returns and refunds",
        "text": "Items can be returned within 30 days of delivery. Damaged items are refunded in "
        "full without a return. Refunds reach the original payment method in 5-7 days.",
    },
    {
        "id": "shipping-times",
        "title": "Shipping times and tracking",
        "text": "Orders ship within 2 business days. Tracking appears once the carrier scans "
        "the parcel. Contact support if a parcel shows no movement for 5 days.",
    },
    {
        "id": "damaged-items",
        "title": "Damaged or broken items",
        "text": "If an item arrives damaged or broken, keep the packaging and ask for a refund "
        "or a replacement; photos help but are not required for orders under $100.",
    },
    {
        "id": "change-address",
        "title": "Changing the delivery address",
        "text": "The address can be changed while an order is processing. Once shipped, ask "
        "the carrier to redirect the parcel.",
    },
]

ORDER_ID_PATTERN = re.compile(r"^[A-Z]-\d{4}$")


class LookupOrderArgs(BaseModel):
    """Arguments of `lookup_order`."""

    order_id: str = Field(description="Order id, like A-1001.", pattern=ORDER_ID_PATTERN.pattern)


class PaymentRiskArgs(BaseModel):
    """Arguments of `get_payment_risk`."""

    order_id: str = Field(description="Order id, like A-1001.", pattern=ORDER_ID_PATTERN.pattern)


class SearchHelpDocsArgs(BaseModel):
    """Arguments of `search_help_docs`."""

    query: str = Field(description="What to look for in the help centre.", min_length=2)


class CreateSupportTicketArgs(BaseModel):
    """Arguments of `create_support_ticket`."""

    order_id: str = Field(description="Order id, like A-1001.", pattern=ORDER_ID_PATTERN.pattern)
    reason: str = Field(description="Why the customer needs a person.", min_length=3)


class IssueRefundArgs(BaseModel):
    """Arguments of `issue_refund`."""

    order_id: str = Field(description="Order id, like A-1001.", pattern=ORDER_ID_PATTERN.pattern)
    amount: float = Field(description="Amount to refund, in the order's currency.", gt=0)
    reason: str = Field(description="Why the refund is issued.", min_length=3)


class EscalateToHumanArgs(BaseModel):
    """Arguments of `escalate_to_human`."""

    team: Literal["customs", "fraud", "account_security"] = Field(
        description="The human team that takes the case over: customs (a parcel held at "
        "customs), fraud (a suspected fraud report), account_security (an account the "
        "customer cannot recover alone)."
    )
    summary: str = Field(
        description="What the person needs to know, in a few sentences.", min_length=3
    )
    order_id: str | None = Field(
        default=None,
        description="Order id, like A-1001, when the case is about an order.",
        pattern=ORDER_ID_PATTERN.pattern,
    )


class StoreInfoArgs(BaseModel):
    """Arguments of `get_store_info`."""

    topic: str = Field(description="What the customer asks about the shop.", min_length=2)


STORE_INFO: dict[str, str] = {
    "opening hours": "Customer service answers Monday to Saturday, 8:00 to 20:00 CET; the "
    "online shop is open all the time.",
    "gift cards": "Gift cards of 25, 50 and 100 USD are sold online and never expire.",
    "stores": "We sell online only; there are no physical stores or showrooms.",
    "contact": "Write to help@example.shop or use this chat; phone support is not offered.",
    "newsletter": "The newsletter goes out monthly; unsubscribe from the link in any issue.",
}


def _find_order(order_id: str) -> dict[str, Any]:
    order = ORDERS.get(order_id)
    if order is None:
        raise ValueError(f"No order {order_id} exists. Known orders look like A-1001.")
    return order


def _stable_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8].upper()
    return f"{prefix}-{digest}"


@agent_tool(args_schema=LookupOrderArgs, side_effects=False)
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order by id: status, carrier, delivery date or ETA, items and total."""
    return dict(_find_order(order_id))


@agent_tool(args_schema=PaymentRiskArgs, side_effects=False)
def get_payment_risk(order_id: str) -> dict[str, Any]:
    """Get the payment risk profile of an order: fraud score (0-1), prior refunds, chargebacks."""
    _find_order(order_id)
    return {"order_id": order_id, **PAYMENT_RISK[order_id]}


@agent_tool(args_schema=SearchHelpDocsArgs, side_effects=False)
def search_help_docs(query: str) -> list[dict[str, str]]:
    """Search the help centre (returns, refunds, shipping, damaged items) for articles."""
    words = {w for w in re.findall(r"[a-z]+", query.lower()) if len(w) > 2}
    scored = []
    for doc in HELP_DOCS:
        haystack = f"{doc['title']} {doc['text']}".lower()
        score = sum(1 for w in words if w in haystack)
        if score:
            scored.append((score, doc))
    scored.sort(key=lambda pair: -pair[0])
    return [doc for _, doc in scored[:2]]


@agent_tool(
    args_schema=CreateSupportTicketArgs,
    side_effects=True,
    idempotent=True,
    locked_args=("order_id",),
)
def create_support_ticket(order_id: str, reason: str) -> dict[str, Any]:
    """Create a support ticket so a person follows up when tools cannot resolve the issue."""
    _find_order(order_id)
    ticket = {
        "ticket_id": _stable_id("SUP", order_id, reason, idempotency_key() or ""),
        "order_id": order_id,
    }
    recorded = record_effect("ticket", {**ticket, "reason": reason})
    return {"ticket_id": recorded["ticket_id"], "order_id": order_id, "status": "open"}


class ReverseRefundArgs(BaseModel):
    """Arguments of `reverse_refund`."""

    refund_id: str = Field(description="The refund to reverse, like RF-1A2B3C4D.", min_length=3)
    order_id: str = Field(description="Its order.", pattern=ORDER_ID_PATTERN.pattern)


@agent_tool(
    args_schema=ReverseRefundArgs, side_effects=True, idempotent=True, locked_args=("refund_id",)
)
def reverse_refund(refund_id: str, order_id: str) -> dict[str, Any]:
    """Reverse a refund that has not settled yet (refunds settle in 5-7 days). Moves money."""
    refunds = [r for r in read_effects("refund") if r["refund_id"] == refund_id]
    if not refunds or refunds[0]["order_id"] != order_id:
        raise ValueError(f"There is no refund {refund_id} for order {order_id} to reverse.")
    reversal = {"refund_id": refund_id, "order_id": order_id, "amount": refunds[0]["amount"]}
    recorded = record_effect("refund_reversal", reversal, unique_on="refund_id")
    return {key: recorded[key] for key in reversal} | {"status": "reversed"}


@agent_tool(
    args_schema=IssueRefundArgs,
    side_effects=True,
    idempotent=True,
    locked_args=("order_id",),
    compensation=Compensation(
        reverse_refund,
        lambda args, result: {"refund_id": result["refund_id"], "order_id": args["order_id"]},
        "reverse the refund before it settles",
    ),
)
def issue_refund(order_id: str, amount: float, reason: str) -> dict[str, Any]:
    """Issue a refund to the customer's original payment method. Moves money."""
    # One refund per order, whichever thread asks: the payment log refuses a second one.
    order = _find_order(order_id)
    if amount > order["total"]:
        raise ValueError(
            f"Refund of {amount:.2f} exceeds the order total of {order['total']:.2f} "
            f"for {order_id}."
        )
    refund = {
        "refund_id": _stable_id("RF", order_id, f"{amount:.2f}", idempotency_key() or ""),
        "order_id": order_id,
        "amount": round(amount, 2),
        "currency": order["currency"],
    }
    try:
        recorded = record_effect("refund", {**refund, "reason": reason}, unique_on="order_id")
    except DuplicateEffectError as exc:
        earlier = exc.earlier
        raise ValueError(
            f"{order_id} was already refunded ({earlier['refund_id']}, "
            f"{earlier['amount']:.2f} {earlier['currency']}, {earlier['at'][:10]}); "
            "a second refund of the same order is refused."
        ) from exc
    return {key: recorded[key] for key in refund} | {"status": "issued"}


@agent_tool(
    args_schema=EscalateToHumanArgs,
    side_effects=True,
    idempotent=True,
    locked_args=("team", "order_id"),
)
def escalate_to_human(team: str, summary: str, order_id: str | None = None) -> dict[str, Any]:
    """Hand a case to a human team (customs, fraud, account security); a person follows up."""
    if order_id is not None:
        _find_order(order_id)
    case = {
        "case_id": _stable_id("ESC", team, order_id or "", summary, idempotency_key() or ""),
        "team": team,
        "order_id": order_id,
    }
    recorded = record_effect("escalation", {**case, "summary": summary})
    return {"case_id": recorded["case_id"], "team": team, "status": "handed to a person"}


@agent_tool(args_schema=StoreInfoArgs, side_effects=False)
def get_store_info(topic: str) -> list[dict[str, str]]:
    """Look up facts about the shop: opening hours, gift cards, stores, contact, newsletter."""
    words = stems(topic)
    found = [
        {"topic": name, "text": text}
        for name, text in STORE_INFO.items()
        if words & stems(f"{name} {text}")
    ]
    return found or [{"topic": "none", "text": f"No shop information about {topic!r}."}]


def order_tools() -> list[BaseTool]:
    """The order-support toolset, read-only tools first."""
    return [lookup_order, search_help_docs, create_support_ticket, issue_refund]
