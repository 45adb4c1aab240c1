"""State, context and model roles of the sequential pipeline (`graphs.pipeline`).

A pipeline runs its stages (`state.agent_spec.AgentSpec`) one after the other. Each stage's
input and output is kept in ``stages`` (a `StageRecord` per stage that ran, in order), so a
run's trace shows exactly what every stage received and returned.

Each stage built from a spec plays the model role `stage_role` of its name
(``"pipeline.<stage>"``), with `StageInputs` as the inputs an offline stand-in receives
(`models.offline.register_offline`): on the offline demo model a stage with a registered
stand-in is rebuilt on it; any other model, or a stage without a stand-in, runs as built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field

from state.agent import AgentState
from state.context import AgentContext

__all__ = [
    "ROLE_PREFIX",
    "PipelineContext",
    "PipelineState",
    "StageInputs",
    "StageOutputReview",
    "StageRecord",
    "StageStatus",
    "stage_role",
]

ROLE_PREFIX = "pipeline."
"""Prefix of the stages' model roles: a stage named ``x`` plays ``pipeline.x``."""

StageStatus = Literal["done", "edited", "failed"]


def stage_role(stage: str) -> str:
    """The model role a stage named `stage` plays (its inputs are `StageInputs`)."""
    return ROLE_PREFIX + stage


class StageInputs(TypedDict):
    """What a stage's offline stand-in receives (built once per stage run).

    Attributes:
        stage: the stage's name.
        request: the text of the run's latest human message (the original request).
        previous: the previous stage's output (after a reviewer's edit), or None for the
            first stage.
        task: the exact text the stage receives as its human message (`nodes.pipeline_stage
            .stage_task`).
    """

    stage: str
    request: str
    previous: str | None
    task: str


class StageRecord(TypedDict):
    """One stage's run, as the pipeline's trace keeps it.

    Attributes:
        name: the stage's name.
        input: the exact text it received.
        output: the text of its last AI message (a reviewer's edit replaces it).
        status: ``done``, ``edited`` (a reviewer replaced its output) or ``failed``.
        error: why it failed (``<stage> failed: <Type>: <message>``), else None.
    """

    name: str
    input: str
    output: str
    status: StageStatus
    error: str | None


class StageOutputReview(BaseModel):
    """The arguments of the read-only pseudo-tool a reviewer sees between two stages."""

    stage: str = Field(description="The stage whose output is reviewed (cannot be edited).")
    output: str = Field(
        min_length=1, description="The stage's output; the next stage receives this text."
    )


class PipelineState(AgentState):
    """Conversation and audit trail plus the trace of the stages.

    Attributes:
        stages: the `StageRecord` of every stage that ran in this turn, in order; each stage
            writes the whole list (stages run one at a time), the first one starts it afresh.
        status: ``running``, ``finished`` (the last stage answered), ``failed`` (a stage
            raised; later stages did not run) or ``rejected`` (a reviewer stopped the run).
    """

    stages: list[dict[str, Any]]
    status: str


@dataclass(kw_only=True)
class PipelineContext(AgentContext):
    """Settings of a pipeline run (on top of `AgentContext`)."""

    approve_stages: bool = field(
        default=True,
        metadata={
            "description": "Pause for a person's review after the stages the pipeline was "
            "built to review (approve_after): accept, edit the stage's output, or reject. "
            "False runs every stage without stopping (trusted automation). Side-effecting "
            "tool calls inside stages still follow approval_policy."
        },
    )
