"""State, event and decision types of the event-driven fraud agent (`graphs.fraud_events`).

One thread per transaction event (the event id is the thread id). The event arrives as the
JSON text of the run's human message (``{"messages": [{"role": "user", "content": "{...}"}]}``),
so the graph keeps the input every graph of the project accepts.

Example:
    >>> event = TransactionEvent.model_validate_json(
    ...     '{"event_id": "evt-1", "user_id": "u-100", "amount": 12.5, "merchant": "Corner '
    ...     'Coffee", "time": "2026-11-20T08:00:00Z", "risk_signal": 0.1}'
    ... )
    >>> event.event_id, event.currency, event.amount
    ('evt-1', 'USD', 12.5)
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from state.agent import AgentState
from state.context import AgentContext

__all__ = [
    "DECIDER_ROLE",
    "EVENT_ID_PATTERN",
    "DeciderInputs",
    "FraudAction",
    "FraudDecision",
    "FraudEventsContext",
    "FraudEventsState",
    "TransactionEvent",
]

DECIDER_ROLE = "fraud_events.decider"
"""The role of the model that decides an event (its offline stand-in is registered by role)."""

EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
"""What an event id may look like: it becomes the thread id, so no spaces or slashes."""

FraudAction = Literal["block", "flag", "allow"]


class TransactionEvent(BaseModel):
    """One card transaction as it arrives on the ``transactions`` stream.

    Attributes:
        event_id: unique id of the event; the thread id of its decision.
        user_id: the card holder.
        amount: the amount charged (positive).
        currency: ISO currency code.
        merchant: the merchant's name as the card network reports it.
        time: when the transaction happened (ISO 8601).
        risk_signal: the card network's own risk score, 0 (clean) to 1 (almost surely fraud).
        device_id: the device the payment came from, if known.
        country: the country the payment came from (ISO code), if known.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(pattern=EVENT_ID_PATTERN)
    user_id: str = Field(min_length=1, max_length=64)
    amount: float = Field(gt=0, le=1_000_000)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    merchant: str = Field(min_length=1, max_length=200)
    time: datetime
    risk_signal: float = Field(ge=0, le=1)
    device_id: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, min_length=2, max_length=2)


class FraudDecision(BaseModel):
    """The decider's structured answer for one event.

    Attributes:
        action: ``block`` (block the card: only on strong evidence), ``flag`` (let it through
            and send it to an analyst) or ``allow``.
        reasoning: why, in one or two sentences, citing the signals.
        evidence: the signals the decision rests on (short phrases).
    """

    action: FraudAction = Field(description="block only on strong evidence; else flag or allow")
    reasoning: str = Field(min_length=1, max_length=2000, description="why, citing the signals")
    evidence: list[str] = Field(default_factory=list, description="the signals relied on")


class DeciderInputs(TypedDict):
    """What the decider receives with its prompt (and what its offline stand-in plays from).

    Attributes:
        event: the event to decide.
        enrichment: what the read-only tools found (``history``, ``merchant``, ``device``).
        strong_signals: the strong-evidence signals the code found (a block needs
            ``min_block_signals`` of them).
        medium_signals: weaker signals that justify a flag.
    """

    event: TransactionEvent
    enrichment: dict[str, Any]
    strong_signals: list[str]
    medium_signals: list[str]


class FraudEventsState(AgentState):
    """The event, what enrichment found, the decision and what became of it.

    Attributes:
        event: the parsed `TransactionEvent` as JSON (None until parsed).
        enrichment: the read-only tools' results by name (``history``, ``merchant``,
            ``device``).
        decision: ``{"event_id", "action", "reasoning", "evidence", "strong_signals",
            "model_action", "downgraded", "outcome"}``; ``action`` is the decision after the
            strong-evidence rule (``model_action`` what the model said), ``outcome`` one of
            ``allowed``, ``flagged``, ``awaiting_approval``, ``card_blocked``,
            ``block_not_run``.
        status: ``invalid`` (the input is no event), ``decided``, ``finished``.
        decisions_made: how many times this thread decided an event: 1 for a delivered event;
            a duplicate that got a second decision would show 2.
        invalid_output: why the decider gave no valid answer (the event is flagged then).
    """

    event: dict[str, Any] | None
    enrichment: dict[str, Any] | None
    decision: dict[str, Any] | None
    status: str
    decisions_made: Annotated[int, operator.add]
    invalid_output: dict[str, Any] | None


@dataclass(kw_only=True)
class FraudEventsContext(AgentContext):
    """Settings of a fraud-decision run (on top of `AgentContext`).

    ``approval_policy`` (inherited) decides whether a block waits for a person: the default
    ``side-effects`` sends every ``block_card`` to the approval gate; ``never`` lets the
    strong-evidence rule alone block (an operator's choice for trusted automation).
    """

    min_block_signals: int = field(
        default=2,
        metadata={
            "description": "Strong signals a block needs (high network risk score, a merchant "
            "with a bad reputation, an unknown device abroad, an amount far above the user's "
            "usual). A block with fewer is downgraded to a flag."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.min_block_signals <= 4:
            raise ValueError(
                f"min_block_signals must be between 1 and 4, got {self.min_block_signals}"
            )
