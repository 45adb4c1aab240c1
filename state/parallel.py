"""State, schemas and model roles of the parallel (fan-out / fan-in) graph.

Every branch (an `state.agent_spec.AgentSpec`) receives the request and runs at the same
time; its result is recorded under its name (`BranchResult`). Then one aggregation answers:
a synthesizer writes the answer from every output (``synthesis``), the branches vote
(``vote``), or a judge scores each output and the best one wins (``best_of``).

The roles (`branch_role`, `SYNTHESIZER_ROLE`, `JUDGE_ROLE`) and the keyword inputs each
receives are declared here, so the graph and the offline stand-ins that play them on the
demo model (`models.offline.register_offline`) agree on them without reading prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from state.agent import AgentState

__all__ = [
    "AGGREGATIONS",
    "BRANCH_ROLE",
    "JUDGE_ROLE",
    "SYNTHESIZER_ROLE",
    "Aggregation",
    "BranchInputs",
    "BranchResult",
    "BranchStatus",
    "JudgeInputs",
    "ParallelState",
    "Score",
    "SynthesizerInputs",
    "branch_role",
]

Aggregation = Literal["synthesis", "vote", "best_of"]
AGGREGATIONS: tuple[Aggregation, ...] = ("synthesis", "vote", "best_of")

BranchStatus = Literal["done", "failed", "timed_out"]

BRANCH_ROLE = "parallel.branch"
"""The prefix of a branch's role: a branch built from a spec without a model of its own plays
`branch_role` (``parallel.branch.<its name>``), with `BranchInputs`. Offline, it is rebuilt
on the stand-in registered for its role, if any (else it runs on the demo model itself)."""


def branch_role(name: str) -> str:
    """The role a parallel branch named `name` plays: ``parallel.branch.<name>``.

    Per branch, so a scenario's stand-ins play only its own branches, never another graph's.
    """
    return f"{BRANCH_ROLE}.{name}"


SYNTHESIZER_ROLE = "parallel.synthesizer"
"""The role that writes the answer from every branch output (``synthesis``); its inputs are
`SynthesizerInputs`."""

JUDGE_ROLE = "parallel.judge"
"""The role that scores one branch output (``best_of``); its inputs are `JudgeInputs`."""


class BranchResult(TypedDict):
    """What became of one branch.

    Attributes:
        status: ``done``, ``failed`` (it raised) or ``timed_out`` (past ``branch_timeout_s``).
        output: the text of its last AI message (empty unless done).
        error: why it failed or timed out, else None.
    """

    status: BranchStatus
    output: str
    error: str | None


class Score(BaseModel):
    """The judge's score of one branch output (``best_of``)."""

    score: float = Field(ge=0, le=1, description="How well the output answers, 0 to 1.")
    reason: str = Field(default="", description="One sentence: why this score.")


class BranchInputs(TypedDict):
    """What a branch's model receives with the request.

    Attributes:
        branch: the branch's name (its `AgentSpec` name).
        request: the request every branch receives.
        tools: the branch's tools.
    """

    branch: str
    request: str
    tools: Sequence[BaseTool]


class SynthesizerInputs(TypedDict):
    """What the synthesizer receives with its prompt.

    Attributes:
        request: the request.
        results: every branch's `BranchResult` by name, in declared order (failed ones too).
    """

    request: str
    results: dict[str, BranchResult]


class JudgeInputs(TypedDict):
    """What the judge receives with the prompt scoring one output.

    Attributes:
        request: the request.
        branch: the branch whose output is scored.
        output: that output.
    """

    request: str
    branch: str
    output: str


class ParallelState(AgentState):
    """Conversation and audit trail plus what each branch returned and how it was aggregated.

    Attributes:
        branch_results: `BranchResult` per branch name, in declared order.
        status: ``answered``, ``below_quorum`` (too few branches succeeded) or
            ``invalid_output`` (the synthesizer or judge gave no valid answer).
        winner: the branch whose output is the answer (``vote`` and ``best_of``), else None.
        confidence: ``vote``: the winner's share of the successful branches' votes;
            ``best_of``: the winner's score; None for ``synthesis``.
        votes: ``vote``: the branches behind each normalised answer, in declared order.
        scores: ``best_of``: each successful branch's `Score` as JSON.
        invalid_output: why the synthesizer or judge gave no valid answer
            (`nodes.ask.InvalidOutput.record`), or None.
    """

    branch_results: dict[str, BranchResult]
    status: str
    winner: str | None
    confidence: float | None
    votes: dict[str, list[str]]
    scores: dict[str, dict[str, Any]]
    invalid_output: dict[str, Any] | None
