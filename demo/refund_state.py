"""The refund desk's data: what the model recommends, and what it is told to do."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["REFUND_SYSTEM_PROMPT", "RefundRecommendation"]

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
