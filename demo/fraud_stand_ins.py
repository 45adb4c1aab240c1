"""Offline stand-in for the fraud decider when a run uses the demo model.

The demo model (keyword heuristics, not an LLM) cannot weigh evidence, so a run on it plays
this scripted decider, from the inputs the pattern declares for the role
(`state.fraud_events.DeciderInputs`), never from the prompt's text:

- two or more strong signals: ``block``;
- any strong or medium signal: ``flag`` (an analyst looks at it, the payment goes through);
- nothing: ``allow``.

`register_stand_ins` registers it; the served graph's wiring calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.fraud_events import DECIDER_ROLE, FraudDecision, TransactionEvent

__all__ = ["decide", "demo_decider", "register_stand_ins"]


def decide(event: TransactionEvent, strong: Sequence[str], medium: Sequence[str]) -> FraudDecision:
    """The stand-in's decision for `event` given the signals the code found."""
    where = f"{event.amount:.2f} {event.currency} at {event.merchant}"
    if len(strong) >= 2:
        reasoning = f"Block: {where} shows strong evidence of fraud ({'; '.join(strong)})."
        return FraudDecision(action="block", reasoning=reasoning, evidence=list(strong))
    if strong or medium:
        signals = [*strong, *medium]
        reasoning = f"Flag for review: {where} has warning signs ({'; '.join(signals)})."
        return FraudDecision(action="flag", reasoning=reasoning, evidence=signals)
    reasoning = f"Allow: {where} matches the card holder's usual activity."
    return FraudDecision(action="allow", reasoning=reasoning, evidence=[])


def demo_decider(
    *,
    event: TransactionEvent | None = None,
    strong_signals: Sequence[str] = (),
    medium_signals: Sequence[str] = (),
    **_: Any,
) -> ScriptedChatModel:
    """The decider: `decide` on the declared inputs, as a `FraudDecision`.

    Args:
        event: the event to decide (`state.fraud_events.DeciderInputs`).
        strong_signals: the strong-evidence signals the code found.
        medium_signals: the weaker signals.
        **_: other inputs, ignored.
    """
    if event is None:
        answer = FraudDecision(action="flag", reasoning="No event was given to decide.")
    else:
        answer = decide(event, strong_signals, medium_signals)
    return ScriptedChatModel(replies=[answer], cycle=True)


def register_stand_ins() -> None:
    """Register the decider as the fraud agent's offline stand-in (by role)."""
    register_offline(DECIDER_ROLE, demo_decider)
