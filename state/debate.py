"""State, schemas and model roles of the debate-with-a-facilitator graph (`graphs.debate`).

Perspectives (each an `state.agent_spec.AgentSpec`) contribute in rounds to one shared
transcript. A contribution is structured (`Contribution`): one to three points, each either
new ``evidence`` or a ``challenge`` naming the id of the claim it disputes. The graph gives
every point an id (`claim_id`: ``<perspective>-r<round>-<n>``), so later points and the
facilitator can cite it. After the last round a neutral facilitator answers with a
`FacilitatorSummary` that only cites claim ids; the graph checks each citation against the
transcript and drops (and flags) any that does not exist.

The roles (`perspective_role`, `FACILITATOR_ROLE`) and the keyword inputs each receives
(`PerspectiveInputs`, `FacilitatorInputs`) are declared here, so the graph and the offline
stand-ins that play them on the demo model (`models.offline.register_offline`) agree on them
without reading prompts.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field

from state.agent import AgentState

__all__ = [
    "FACILITATOR_ROLE",
    "PERSPECTIVE_ROLE",
    "Claim",
    "Contribution",
    "DebateState",
    "FacilitatorInputs",
    "FacilitatorSummary",
    "Point",
    "PerspectiveInputs",
    "SummaryItem",
    "claim_id",
    "perspective_role",
]

PERSPECTIVE_ROLE = "debate.perspective"
"""The prefix of a perspective's role: ``debate.perspective.<its name>``, with
`PerspectiveInputs`."""

FACILITATOR_ROLE = "debate.facilitator"
"""The neutral facilitator's role; its inputs are `FacilitatorInputs`."""

PointKind = Literal["evidence", "challenge"]


def perspective_role(name: str) -> str:
    """The role a perspective named `name` plays: ``debate.perspective.<name>``."""
    return f"{PERSPECTIVE_ROLE}.{name}"


def claim_id(perspective: str, round_number: int, index: int) -> str:
    """The id of a perspective's `index`-th point (from 1) in round `round_number` (from 1)."""
    return f"{perspective}-r{round_number}-{index}"


class Point(BaseModel):
    """One point of a contribution: a claim with its evidence, or a challenge of a claim."""

    kind: PointKind = Field(
        description="'evidence': a new claim backed by evidence; 'challenge': disputes a claim."
    )
    text: str = Field(min_length=1, description="The claim, in one or two sentences.")
    evidence: str = Field(default="", description="The facts or data behind it.")
    target: str | None = Field(
        default=None,
        description="For a challenge: the id of the claim it disputes (e.g. 'finance-r1-1').",
    )


class Contribution(BaseModel):
    """A perspective's structured contribution to one round."""

    points: list[Point] = Field(min_length=1, max_length=3, description="One to three points.")


class Claim(TypedDict):
    """One point as it stands in the transcript.

    Attributes:
        id: its id (`claim_id`).
        perspective: who made it.
        round: the round it was made in (from 1).
        kind: ``evidence`` or ``challenge``.
        text: the claim.
        evidence: the evidence given for it.
        target: the claim a challenge disputes (None for evidence, or when the target it
            named did not exist: see ``DebateState.flags``).
    """

    id: str
    perspective: str
    round: int
    kind: str
    text: str
    evidence: str
    target: str | None


class SummaryItem(BaseModel):
    """One argument or risk of the facilitator's summary, with the claims it rests on."""

    text: str = Field(min_length=1, description="The argument or risk, restated neutrally.")
    claims: list[str] = Field(
        min_length=1, description="Ids of the transcript's claims it rests on."
    )


class FacilitatorSummary(BaseModel):
    """The facilitator's summary: it cites the transcript's claims and adds none."""

    strongest_arguments: list[SummaryItem] = Field(
        description="The strongest arguments made, for and against."
    )
    unresolved_risks: list[SummaryItem] = Field(
        default_factory=list, description="Risks raised and not answered."
    )
    recommendation: str = Field(min_length=1, description="The recommended decision.")
    recommendation_claims: list[str] = Field(
        min_length=1, description="Ids of the claims the recommendation rests on."
    )


class PerspectiveInputs(TypedDict):
    """What a perspective's model receives with its prompt.

    Attributes:
        perspective: the perspective's name.
        request: the question under debate.
        round: this round's number (from 1).
        transcript: the claims it may see (earlier rounds; in sequential rounds also the
            ones made before it in this round), oldest first.
    """

    perspective: str
    request: str
    round: int
    transcript: list[Claim]


class FacilitatorInputs(TypedDict):
    """What the facilitator receives with its prompt.

    Attributes:
        request: the question under debate.
        transcript: every claim of the debate, oldest first.
    """

    request: str
    transcript: list[Claim]


class DebateState(AgentState, total=False):
    """Conversation and audit trail plus the debate of the latest request.

    Attributes:
        request: the question under debate (the latest human message).
        round: the number of rounds finished.
        transcript: every `Claim`, in the order made.
        contributions: one record per perspective and round: ``{"round", "perspective",
            "status"}`` (``done`` or ``invalid_output``), ``"claims"`` (its claim ids) and
            ``"error"`` (why there is none, or None).
        flags: problems the graph caught in code: a challenge naming an unknown claim, a
            facilitator citing one (``{"source", "claim", "problem"}``).
        summary: the checked `FacilitatorSummary` as JSON, or None.
        status: ``answered``, ``invalid_output`` (the facilitator gave no valid summary)
            or ``no_claims`` (no perspective contributed).
        invalid_output: why the facilitator gave no valid summary, or None.
    """

    request: str
    round: int
    transcript: list[Claim]
    contributions: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    summary: dict[str, Any] | None
    status: str
    invalid_output: dict[str, Any] | None
