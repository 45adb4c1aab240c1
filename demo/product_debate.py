"""A product decision for the debate pattern: should the mobile app launch offline mode?

Four perspectives (`debate_perspectives`) argue in two rounds: research (what users say),
engineering (what it costs to build), finance (whether it pays back) and support (what it
does to the queue). Then a neutral facilitator sums up.

Offline, on the demo model, each perspective plays `demo_perspective`, registered for its
role (`state.debate.perspective_role`), and the facilitator plays `demo_facilitator`
(`state.debate.FACILITATOR_ROLE`); `register_stand_ins` registers all five (the served
graph's wiring calls it). They play from their declared inputs (`state.debate.PerspectiveInputs`,
`state.debate.FacilitatorInputs`), never from the prompt's text: round 1 brings each
perspective's evidence, round 2 challenges a named claim of another perspective when it is in
the transcript the perspective sees (else it adds its second piece of evidence). The
facilitator cites only ids it finds in the transcript it receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.agent_spec import AgentSpec
from state.debate import FACILITATOR_ROLE, Claim, claim_id, perspective_role

__all__ = [
    "DEBATE_REQUEST",
    "demo_facilitator",
    "demo_perspective",
    "debate_perspectives",
    "register_stand_ins",
]

DEBATE_REQUEST = "Should we launch offline mode in the mobile app next quarter?"

_INSTRUCTIONS = {
    "research": "You speak for user research: surveys, interviews, usage data.",
    "engineering": "You speak for engineering: effort, risk and architecture.",
    "finance": "You speak for finance: cost, revenue and payback.",
    "support": "You speak for customer support: tickets, load and customer experience.",
}

_EVIDENCE: dict[str, list[dict[str, str]]] = {
    "research": [
        {
            "text": "Lack of offline access is a leading reason users churn.",
            "evidence": "Q3 churn survey (n=1,180): 42% of churned users mentioned it.",
        },
        {
            "text": "Users mostly want to read offline, not edit.",
            "evidence": "12 of 15 interviewees only needed to view documents on flights.",
        },
    ],
    "engineering": [
        {
            "text": "Full offline editing needs a sync layer: two quarters for three engineers.",
            "evidence": "The conflict-resolution spike left 14 open edge cases.",
        },
        {
            "text": "A read-only offline mode fits in one quarter with the current team.",
            "evidence": "It reuses the existing cache; no conflict resolution needed.",
        },
    ],
    "finance": [
        {
            "text": "Offline mode pays back within 12 months if churn drops by 2 points.",
            "evidence": "ARR $18M, annual churn 9%; build cost about $600k.",
        },
        {
            "text": "A two-quarter build doubles the cost and pushes payback to about 24 months.",
            "evidence": "Three engineers for two quarters is about $1.2M fully loaded.",
        },
    ],
    "support": [
        {
            "text": "Sync conflicts would raise ticket volume.",
            "evidence": "The editing beta logged 3.1 tickets per 100 users, mostly conflicts.",
        },
        {
            "text": "Read-only offline would cut 'app unusable on a plane' tickets.",
            "evidence": "About 400 such tickets a month today.",
        },
    ],
}

_CHALLENGES: dict[str, tuple[str, str, str]] = {
    "research": (
        claim_id("finance", 1, 1),
        "A 2-point churn drop is optimistic.",
        "Only 11% of churned users named offline access as their main reason.",
    ),
    "engineering": (
        claim_id("research", 1, 1),
        "Mentioning offline access is not wanting offline editing.",
        "The survey did not separate reading from editing.",
    ),
    "finance": (
        claim_id("engineering", 1, 1),
        "The estimate leaves out the sync service's running cost.",
        "Comparable sync services cost $8-10k a month to run.",
    ),
    "support": (
        claim_id("engineering", 1, 1),
        "Fourteen open edge cases means conflict tickets from day one.",
        "Each unresolved conflict case became a ticket category in the beta.",
    ),
}


def debate_perspectives() -> list[AgentSpec]:
    """The four perspectives of the product decision."""
    return [
        AgentSpec(name, f"The {name} perspective on the decision.", instructions=text)
        for name, text in _INSTRUCTIONS.items()
    ]


def _contribution(perspective: str, number: int, transcript: Sequence[Claim]) -> dict[str, Any]:
    """The perspective's points for round `number`, given what it sees."""
    facts = _EVIDENCE.get(perspective, [{"text": "No view.", "evidence": ""}])
    known = {claim["id"] for claim in transcript}
    challenge = _CHALLENGES.get(perspective)
    if number >= 2 and challenge is not None and challenge[0] in known:
        target, text, evidence = challenge
        points = [{"kind": "challenge", "text": text, "evidence": evidence, "target": target}]
        return {"points": [*points, {"kind": "evidence", **facts[-1]}]}
    return {"points": [{"kind": "evidence", **facts[min(number, len(facts)) - 1]}]}


def demo_perspective(
    *, perspective: str = "", round: int = 1, transcript: Sequence[Claim] = (), **_: Any
) -> ScriptedChatModel:
    """A perspective's contribution from its declared inputs (`PerspectiveInputs`)."""
    return ScriptedChatModel(replies=[_contribution(perspective, round, transcript)], cycle=True)


def _summary(transcript: Sequence[Claim]) -> dict[str, Any]:
    """The facilitator's summary, citing only ids found in `transcript`."""
    evidence = [c for c in transcript if c["kind"] == "evidence"]
    challenges = [c for c in transcript if c["kind"] == "challenge"]
    firsts = {c["perspective"]: c for c in reversed(evidence)}
    arguments = [{"text": c["text"], "claims": [c["id"]]} for c in firsts.values()]
    risks = [
        {"text": c["text"], "claims": [c["id"], *([c["target"]] if c["target"] else [])]}
        for c in challenges
    ]
    latest = max(c["round"] for c in transcript)
    basis = [c["id"] for c in evidence if c["round"] == latest] or [transcript[-1]["id"]]
    return {
        "strongest_arguments": arguments[::-1],
        "unresolved_risks": risks,
        "recommendation": (
            "Launch a read-only offline mode next quarter and measure churn before "
            "committing to offline editing."
        ),
        "recommendation_claims": basis,
    }


def demo_facilitator(*, transcript: Sequence[Claim] = (), **_: Any) -> ScriptedChatModel:
    """The facilitator: sums up from its declared inputs (`FacilitatorInputs`)."""
    return ScriptedChatModel(replies=[_summary(transcript)], cycle=True)


def register_stand_ins() -> None:
    """Register the perspectives' and the facilitator's offline stand-ins."""
    for name in _INSTRUCTIONS:
        register_offline(perspective_role(name), demo_perspective)
    register_offline(FACILITATOR_ROLE, demo_facilitator)
