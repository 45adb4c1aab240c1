"""State, schemas, settings and model roles of the hierarchical research graph (`graphs.research`).

A root agent breaks a research goal into three to five workstreams (`ResearchPlan`, each a
`Workstream`: name, deliverable, questions). Specialist workers research them; a worker answers
with a `WorkerReport`: either findings (with the assumptions they rest on and the evidence
still missing) or, when the workstream is too broad, a split into two to four
sub-workstreams. At the depth limit a worker is asked for a `FinalReport` instead, which has
no split. The root then writes an `ExecutiveBrief` naming the conflicts between workstreams,
the unsupported assumptions and the missing evidence.

The workstreams form a tree kept flat in state (`WorkstreamRecord`, ids ``ws1``, ``ws1.2``
...), each with its worker, status, findings or failure. The roles (`PLANNER_ROLE`,
`worker_role`, `SYNTHESIS_ROLE`) and the inputs each receives (`PlannerInputs`,
`WorkerInputs`, `SynthesisInputs`) are declared here, so the graph and the offline stand-ins
(`demo.market_research`) agree on them without reading prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field, model_validator

from state.agent import AgentState
from state.context import AgentContext

__all__ = [
    "PLANNER_ROLE",
    "SYNTHESIS_ROLE",
    "WORKER_ROLE",
    "Conflict",
    "ExecutiveBrief",
    "FinalReport",
    "Finding",
    "PlannerInputs",
    "ResearchContext",
    "ResearchPlan",
    "ResearchState",
    "SourcedNote",
    "SynthesisInputs",
    "WorkerInputs",
    "WorkerReport",
    "Workstream",
    "WorkstreamRecord",
    "WorkstreamStatus",
    "child_id",
    "worker_role",
]

PLANNER_ROLE = "research.root.plan"
"""The root agent breaking the goal into workstreams; inputs `PlannerInputs`."""

SYNTHESIS_ROLE = "research.root.synthesis"
"""The root agent writing the executive brief; inputs `SynthesisInputs`."""

WORKER_ROLE = "research.worker"
"""The prefix of a worker's role: ``research.worker.<its name>``, with `WorkerInputs`."""

WorkstreamStatus = Literal["pending", "done", "split", "failed", "unassigned"]


def worker_role(name: str) -> str:
    """The role a worker named `name` plays: ``research.worker.<name>``."""
    return f"{WORKER_ROLE}.{name}"


def child_id(parent: str | None, index: int) -> str:
    """The id of a workstream: ``ws<n>`` at the root, ``<parent>.<n>`` below (from 1)."""
    return f"ws{index}" if parent is None else f"{parent}.{index}"


class Workstream(BaseModel):
    """One workstream: a clear deliverable and the focused questions that produce it."""

    name: str = Field(min_length=1, max_length=120, description="Short name of the workstream.")
    deliverable: str = Field(min_length=1, description="What the workstream must deliver.")
    questions: list[str] = Field(
        min_length=1, max_length=4, description="One to four focused research questions."
    )


class ResearchPlan(BaseModel):
    """The root agent's decomposition of the goal."""

    workstreams: list[Workstream] = Field(
        min_length=3, max_length=5, description="Three to five independent workstreams."
    )


class Finding(BaseModel):
    """One finding of a workstream, with the evidence behind it."""

    claim: str = Field(min_length=1, description="The finding, in one or two sentences.")
    evidence: str = Field(default="", description="The facts or sources behind it.")


class FinalReport(BaseModel):
    """A worker's findings (the only answer allowed at the depth limit)."""

    kind: Literal["findings"] = Field(
        default="findings", description="Always 'findings': no split is allowed here."
    )
    findings: list[Finding] = Field(min_length=1, description="What the research found.")
    assumptions: list[str] = Field(
        default_factory=list, description="Assumptions the findings rest on, not verified."
    )
    gaps: list[str] = Field(default_factory=list, description="Evidence still missing.")


class WorkerReport(BaseModel):
    """A worker's answer: findings, or a split of a too-broad workstream."""

    kind: Literal["findings", "split"] = Field(
        description="'findings': the research is answered; 'split': the workstream is too "
        "broad and is split into sub-workstreams."
    )
    findings: list[Finding] = Field(default_factory=list, description="For 'findings'.")
    assumptions: list[str] = Field(default_factory=list, description="For 'findings'.")
    gaps: list[str] = Field(default_factory=list, description="For 'findings'.")
    split: list[Workstream] = Field(
        default_factory=list, description="For 'split': two to four sub-workstreams."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> WorkerReport:
        if self.kind == "findings" and not self.findings:
            raise ValueError("kind 'findings' needs at least one finding")
        if self.kind == "split" and not 2 <= len(self.split) <= 4:
            raise ValueError("kind 'split' needs two to four sub-workstreams in 'split'")
        return self


class Conflict(BaseModel):
    """Two or more workstreams whose findings disagree."""

    workstreams: list[str] = Field(
        min_length=2, description="Ids of the workstreams that disagree (e.g. 'ws1', 'ws2.1')."
    )
    description: str = Field(min_length=1, description="What they disagree on.")


class SourcedNote(BaseModel):
    """An unsupported assumption or a missing piece of evidence, with its workstream."""

    workstream: str = Field(description="Id of the workstream it comes from.")
    text: str = Field(min_length=1, description="The assumption or the missing evidence.")


class ExecutiveBrief(BaseModel):
    """The root agent's executive brief over every workstream's findings."""

    summary: str = Field(min_length=1, description="The answer to the goal, in a paragraph.")
    recommendation: str = Field(min_length=1, description="The recommended decision.")
    conflicts: list[Conflict] = Field(
        default_factory=list, description="Conflicts between workstreams' findings."
    )
    unsupported_assumptions: list[SourcedNote] = Field(
        default_factory=list, description="Assumptions the findings rest on without evidence."
    )
    missing_evidence: list[SourcedNote] = Field(
        default_factory=list, description="Evidence the decision still needs."
    )


class WorkstreamRecord(TypedDict):
    """One workstream of the tree as it stands in state.

    Attributes:
        id: ``ws<n>`` for the root's workstreams, ``<parent id>.<n>`` below.
        parent: the parent's id (None for the root's).
        depth: 1 for the root's workstreams, one more per split.
        name: its name.
        deliverable: what it must deliver.
        questions: its questions.
        worker: the worker assigned (None: not yet, or nobody matched).
        assignment: how the worker was chosen: ``{"how", "score", "matched"}``
            (``how``: ``capabilities``, ``generalist`` or ``unassigned``).
        status: ``pending``, ``done`` (findings), ``split`` (see `children`), ``failed``
            or ``unassigned``.
        must_answer: True when the worker may not split it (the depth limit, or no room
            left under ``max_workstreams``).
        findings: its findings (``{"claim", "evidence"}``), when done.
        assumptions: the assumptions its findings rest on.
        gaps: the evidence its worker said is missing.
        children: its sub-workstreams' ids, when split.
        error: why it failed or is unassigned, or a refused split's note; else None.
    """

    id: str
    parent: str | None
    depth: int
    name: str
    deliverable: str
    questions: list[str]
    worker: str | None
    assignment: dict[str, Any] | None
    status: str
    must_answer: bool
    findings: list[dict[str, str]]
    assumptions: list[str]
    gaps: list[str]
    children: list[str]
    error: str | None


class PlannerInputs(TypedDict):
    """What the root planner receives: ``goal``, the research goal."""

    goal: str


class WorkerInputs(TypedDict):
    """What a worker receives with its prompt.

    Attributes:
        worker: the worker's name.
        goal: the overall research goal.
        workstream: the `WorkstreamRecord` it researches.
        may_split: whether it may answer with a split.
    """

    worker: str
    goal: str
    workstream: WorkstreamRecord
    may_split: bool


class SynthesisInputs(TypedDict):
    """What the root receives to write the brief: the ``goal`` and every ``workstreams``."""

    goal: str
    workstreams: list[WorkstreamRecord]


class ResearchState(AgentState, total=False):
    """Conversation and audit trail plus the research of the latest goal.

    Attributes:
        goal: the research goal (the latest human message).
        limits: the run's effective limits: ``max_depth``, ``max_workstreams``.
        workstreams: the workstream tree, flat, in creation order (`WorkstreamRecord`).
        level: how many research levels ran.
        brief: the checked `ExecutiveBrief` as JSON (plus ``failed_workstreams``), or None.
        flags: problems caught in code (a brief naming an unknown workstream, a refused
            split): ``{"source", "problem"}``.
        status: ``researching``, ``answered``, ``invalid_output`` (the root gave no valid
            plan or brief), ``failed`` (the root's model failed) or ``no_findings``.
        invalid_output: why the root gave no valid plan or brief, or None.
    """

    goal: str
    limits: dict[str, int]
    workstreams: list[WorkstreamRecord]
    level: int
    brief: dict[str, Any] | None
    flags: list[dict[str, Any]]
    status: str
    invalid_output: dict[str, Any] | None


@dataclass(kw_only=True)
class ResearchContext(AgentContext):
    """Settings of a research run (on top of `AgentContext`); they may only tighten."""

    max_depth: int | None = field(
        default=None,
        metadata={
            "description": "Lower the depth limit for this run (1: no workstream may split). "
            "Never above the operator's limit: a higher value is ignored. Empty: the "
            "operator's limit."
        },
    )
    max_workstreams: int | None = field(
        default=None,
        metadata={
            "description": "Lower the cap on workstreams in the whole tree for this run "
            "(at least 3). Never above the operator's cap: a higher value is ignored."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_depth is not None and self.max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, got {self.max_depth}")
        if self.max_workstreams is not None and self.max_workstreams < 3:
            raise ValueError(f"max_workstreams must be at least 3, got {self.max_workstreams}")
