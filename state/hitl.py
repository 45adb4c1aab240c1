"""State, settings and policy types of the human-in-the-loop desk (`graphs.hitl`).

The hitl graph investigates a case, asks the model for a recommendation, lets a desk's policy
(code) decide whether a person must approve the action, acts through the shared gate and tool
node, and replies. These are the framework's types for it; a desk (`nodes.hitl_desk.HitlDesk`)
fills them with its own case, facts and rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from state.agent import AgentState
from state.context import AgentContext

__all__ = ["CaseView", "HitlContext", "HitlState", "PolicyDecision", "Verdict"]

Verdict = Literal["auto_approve", "review", "no_action"]
"""What a desk's policy decides: act now (bound as ``policy:auto``), ask a person, do nothing."""


class HitlState(AgentState, total=False):
    """The desk workflow's state; every field after `messages` is filled as it runs.

    Attributes:
        case: what the desk read from the request (e.g. ``{"order_id": "A-1002"}``); None
            when the request was answered without a case.
        facts: what the read-only look-ups returned, by look-up name; None when one failed.
        recommendation: the model's recommendation (the desk's schema, as JSON); None when
            the model gave no valid one.
        policy: the policy's decision: ``{"verdict", "needs_review", "reasons"}``, the
            reviewer's ``note`` and the desk's details (e.g. the amount); or
            ``invalid_output`` with why there was no recommendation.
        outcome: what happened to the action: ``{"status": "issued" | "not_issued" |
            "unknown" | "not_requested", "why": ..., "reply_check": ...}``.
    """

    case: dict[str, Any] | None
    facts: dict[str, Any] | None
    recommendation: dict[str, Any] | None
    policy: dict[str, Any] | None
    outcome: dict[str, Any] | None


@dataclass(kw_only=True)
class HitlContext(AgentContext):
    """Settings of a hitl desk: the agent settings plus the operator-bounded policy limits.

    The limits' names are fixed: the operator policy (`state.policy`) clamps them by name on
    a server. A desk reads the ones that fit its domain (the refund desk: an amount and a
    fraud score).
    """

    system_prompt: str = field(
        default="",
        metadata={
            "description": "Instructions for the recommendation step; empty uses the desk's."
        },
    )
    auto_approve_limit: float = field(
        default=100.0,
        metadata={"description": "Actions above this amount always need a person."},
    )
    max_fraud_score: float = field(
        default=0.1,
        metadata={"description": "Cases with a higher risk score always need a person."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.auto_approve_limit < 0:
            raise ValueError("auto_approve_limit must not be negative")
        if not 0 <= self.max_fraud_score <= 1:
            raise ValueError("max_fraud_score must be between 0 and 1")


@dataclass(frozen=True)
class CaseView:
    """What a desk's policy and reply see of the current turn (read-only).

    Attributes:
        case: the case the desk read from the request.
        facts: the look-ups' results, by look-up name.
        recommendation: the model's recommendation as JSON, or None (no valid one).
        turn: the number of requests (human messages) in the thread so far.
        earlier_results: the results (JSON objects) of the desk's action that already
            succeeded earlier in this thread, oldest first.
    """

    case: dict[str, Any]
    facts: dict[str, Any]
    recommendation: dict[str, Any] | None
    turn: int
    earlier_results: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True)
class PolicyDecision:
    """A desk policy's answer: the verdict, why, and the action it proposes.

    Attributes:
        verdict: ``auto_approve``, ``review`` or ``no_action``.
        reasons: why a person must decide (``review``), one short clause each.
        args: the action's arguments (required unless ``no_action``).
        call_key: names the proposed call: its id is ``<desk>-<call_key>-<turn>``.
        summary: the message that carries the proposed call in the conversation.
        note: context for the reviewer at the gate (evidence, reasons).
        approval_reason: recorded with an automatic approval (``auto_approve``).
        details: JSON values recorded in ``state["policy"]`` (e.g. ``{"amount": 89.99}``).
    """

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    args: dict[str, Any] | None = None
    call_key: str = ""
    summary: str = ""
    note: str = ""
    approval_reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in ("auto_approve", "review", "no_action"):
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if self.verdict != "no_action" and (self.args is None or not self.call_key):
            raise ValueError(f"a {self.verdict} decision needs the action's args and call_key")
        if self.verdict == "auto_approve" and self.reasons:
            raise ValueError("an automatic approval has no reasons for review")

    def record(self) -> dict[str, Any]:
        """The JSON record for ``state["policy"]`` (the reviewer's note only when there is one)."""
        record = {
            **self.details,
            "verdict": self.verdict,
            "needs_review": self.verdict == "review",
            "reasons": list(self.reasons),
        }
        return {**record, "note": self.note} if self.note else record
