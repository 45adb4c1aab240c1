"""State, settings, roles and routing rules of the custom-logic refund orchestrator.

The orchestrator (`graphs.orchestrator`) checks a refund request in code: who bought the
order (purchase verification) and what the refund policy says (window, fraud flag, manual
review), both in the same super-step, then routes it by `choose_path` to one of five paths.
`choose_path` is the whole routing rule, in code and in this file so it can be audited and
tested on its own; the model only interprets the customer's claim (`ClaimReading`) and drafts
text (a review packet, a processing note, a store-credit offer).

The roles and the inputs each receives are declared here, so the graph and the offline
stand-ins (`demo.refund_orchestrator`) agree on them without reading each other's prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict

from pydantic import BaseModel, Field

from state.agent import AgentState
from state.context import AgentContext
from state.saga import SagaState

__all__ = [
    "CLAIM_READER_ROLE",
    "NOTE_WRITER_ROLE",
    "OFFER_WRITER_ROLE",
    "PACKET_WRITER_ROLE",
    "PATHS",
    "ClaimReaderInputs",
    "ClaimReading",
    "DraftInputs",
    "OrchestratorContext",
    "OrchestratorState",
    "Path",
    "Purchase",
    "PurchaseRecords",
    "choose_path",
]

Path = Literal["denied", "fraud_hold", "manual_review", "approved", "store_credit"]
PATHS: tuple[Path, ...] = ("denied", "fraud_hold", "manual_review", "approved", "store_credit")
"""The five paths, in the order `choose_path` tests them."""

CLAIM_READER_ROLE = "orchestrator.claim_reader"
"""Reads the customer's claim into a `ClaimReading`; inputs `ClaimReaderInputs`."""

PACKET_WRITER_ROLE = "orchestrator.packet_writer"
"""Drafts the manual-review packet for the reviewer; inputs `DraftInputs`."""

NOTE_WRITER_ROLE = "orchestrator.note_writer"
"""Drafts the internal processing note after a refund; inputs `DraftInputs`."""

OFFER_WRITER_ROLE = "orchestrator.offer_writer"
"""Drafts the store-credit offer to the customer; inputs `DraftInputs`."""


class ClaimReading(BaseModel):
    """The model's reading of the customer's message (interpretation only, no decision)."""

    damaged_item_reported: bool = Field(
        description="True when the customer says the item arrived damaged, broken or faulty."
    )
    claim_summary: str = Field(min_length=3, description="The customer's claim in one sentence.")


class ClaimReaderInputs(TypedDict):
    """What the claim reader receives: ``request``, the customer's message."""

    request: str


class DraftInputs(TypedDict):
    """What every drafting role receives: ``facts``, the checked facts of the case as JSON."""

    facts: dict[str, Any]


@dataclass(frozen=True)
class Purchase:
    """One purchase as the payment system knows it.

    Attributes:
        order_id: the order.
        purchaser: who paid for it (the only person a refund may be issued for).
        amount: what was paid.
        currency: the currency of `amount`.
        days_since_purchase: age of the purchase, for the refund window.
        fraud_flag: True when the fraud team flagged the account or the payment.
        fraud_reason: why it is flagged (empty when not).
    """

    order_id: str
    purchaser: str
    amount: float
    currency: str
    days_since_purchase: int
    fraud_flag: bool = False
    fraud_reason: str = ""


class PurchaseRecords(Protocol):
    """Where the orchestrator reads purchases from (the demo shop, a payment service)."""

    def find(self, order_id: str) -> Purchase | None:
        """The purchase of `order_id`, or None when there is none."""
        ...


def choose_path(purchase: dict[str, Any], policy: dict[str, Any]) -> tuple[Path, str]:
    """The routing rule: which path a checked request takes, and why (never the model's call).

    Args:
        purchase: the purchase verification (``purchased_by_requester``).
        policy: the policy check (``fraud_flag``, ``requires_manual_review``,
            ``within_window``).

    Returns:
        The path and a one-line reason, tested in this order: denied, fraud hold, manual
        review, approved, store credit.
    """
    if not purchase.get("purchased_by_requester"):
        return "denied", "the requester is not the purchaser of the order"
    if policy.get("fraud_flag"):
        return "fraud_hold", f"a fraud flag is active ({policy.get('fraud_reason') or 'flagged'})"
    if policy.get("requires_manual_review"):
        return "manual_review", "; ".join(policy.get("review_reasons") or ["policy exception"])
    if policy.get("within_window"):
        return "approved", "the purchaser asked within the refund window"
    return "store_credit", "outside the refund window: store credit instead of a refund"


class OrchestratorState(AgentState, SagaState, total=False):
    """The orchestrator's state: each turn's request, checks, path and outcome.

    Attributes:
        request: what was read from the request in code: ``order_id``, ``requester``.
        purchase: the purchase verification: ``order_found``, ``purchased_by_requester``,
            ``amount``, ``currency``, ``days_since_purchase``.
        policy: the policy check: ``within_window``, ``window_days``, ``fraud_flag``,
            ``fraud_reason``, ``damaged_item_reported``, ``claim_summary``,
            ``requires_manual_review``, ``review_reasons``.
        route: the path taken and the facts behind it: ``path``, ``reason``, ``facts``.
        fraud_referral: the record routed to the fraud team (fraud hold only).
        outcome: what happened to the refund: ``status`` (``issued``, ``not_issued``,
            ``not_requested``), ``why``, and the refund's id and amount when issued.
        invalid_output: why the claim reader gave no valid reading, or None.
        saga: the refund's compensation when posting its processing note failed
            (`nodes.saga`), or None.
    """

    request: dict[str, Any] | None
    purchase: dict[str, Any] | None
    policy: dict[str, Any] | None
    route: dict[str, Any] | None
    fraud_referral: dict[str, Any] | None
    outcome: dict[str, Any] | None
    invalid_output: dict[str, Any] | None


@dataclass(kw_only=True)
class OrchestratorContext(AgentContext):
    """Settings of an orchestrator run (on top of `AgentContext`)."""

    refund_window_days: int = field(
        default=30,
        metadata={"description": "Days after purchase a cash refund is allowed; later: credit."},
    )
    manual_review_limit: float = field(
        default=100.0,
        metadata={"description": "Refunds above this amount go to a person (manual review)."},
    )
    requester: str = field(
        default="",
        metadata={
            "description": "Who is asking (e.g. the signed-in customer's name); empty reads "
            "it from the request ('I am <name>')."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.refund_window_days < 0:
            raise ValueError("refund_window_days must not be negative")
        if self.manual_review_limit < 0:
            raise ValueError("manual_review_limit must not be negative")
