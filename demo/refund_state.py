"""State, settings and structured output of the refund-approval (human-in-the-loop) graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from state.agent import AgentState
from state.context import AgentContext

__all__ = ["RefundContext", "RefundRecommendation", "RefundState"]

REFUND_SYSTEM_PROMPT = (
    "You are a refund operations agent. From the customer's message and the order context, "
    "recommend approve, deny or need_more_info, with the amount to refund and the specific "
    "facts you relied on. Never recommend approving when the fraud score exceeds 0.1 without "
    "saying so. Be precise; a person may review your recommendation."
)


class RefundRecommendation(BaseModel):
    """What the model recommends for a refund request (structured output)."""

    decision: Literal["approve", "deny", "need_more_info"] = Field(
        description="approve the refund, deny it, or ask the customer for more information"
    )
    amount: float = Field(ge=0, description="amount to refund in the order's currency")
    cited_facts: list[str] = Field(
        description="facts from the order context the recommendation relies on"
    )
    rationale: str = Field(description="one or two sentences explaining the decision")


class RefundState(AgentState, total=False):
    """The refund workflow's state; every field after `messages` is filled as it runs.

    Attributes:
        order_id: the order named in the request.
        requested_amount: the amount the customer asked for, if they named one.
        order: what `lookup_order` returned.
        risk: what `get_payment_risk` returned.
        recommendation: the model's `RefundRecommendation` (JSON).
        policy: the deterministic checks: ``{"needs_review", "reasons", "amount"}``.
        refund: the outcome: ``{"status": "issued" | "not_issued" | "not_requested", ...}``.
    """

    order_id: str | None
    requested_amount: float | None
    order: dict[str, Any] | None
    risk: dict[str, Any] | None
    recommendation: dict[str, Any] | None
    policy: dict[str, Any] | None
    refund: dict[str, Any] | None


@dataclass(kw_only=True)
class RefundContext(AgentContext):
    """Settings of the refund-approval graph (the agent settings plus its policy limits)."""

    system_prompt: str = field(
        default=REFUND_SYSTEM_PROMPT,
        metadata={"description": "Instructions for the recommendation step."},
    )
    auto_approve_limit: float = field(
        default=100.0,
        metadata={"description": "Refunds above this amount always need a person."},
    )
    max_fraud_score: float = field(
        default=0.1,
        metadata={"description": "Orders with a higher fraud score always need a person."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.auto_approve_limit < 0:
            raise ValueError("auto_approve_limit must not be negative")
        if not 0 <= self.max_fraud_score <= 1:
            raise ValueError("max_fraud_score must be between 0 and 1")
