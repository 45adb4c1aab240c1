"""State, plan model, context and model roles of the plan-and-execute graph.

A `Plan` is a DAG of `PlanStep`s: each step names a tool, its inputs, the outcome expected
and the steps it depends on. Validation rejects duplicate ids, unknown dependencies and cycles,
so a plan a model (or a reviewer's edit) produces is checked before anything runs.

The three roles (`PLANNER_ROLE`, `EXECUTOR_ROLE`, `REPLANNER_ROLE`) and the keyword inputs each
receives are declared here, so the graph and whatever plays a role offline agree on them
without reading each other's prompts: the graph passes them with every call
(``nodes.model_call.resolve_model(..., role=PLANNER_ROLE, inputs=PlannerInputs(...))``) and an
offline stand-in registered for the role (`models.offline.register_offline`) is built from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, model_validator

from state.agent import AgentState
from state.context import AgentContext
from state.saga import SagaState

__all__ = [
    "EXECUTOR_ROLE",
    "PLANNER_ROLE",
    "REPLANNER_ROLE",
    "ExecutorInputs",
    "Plan",
    "PlanExecuteContext",
    "PlanExecuteState",
    "PlanStep",
    "PlannerInputs",
    "Replan",
    "ReplannerInputs",
    "StepStatus",
    "merge_step_results",
]

StepStatus = Literal["done", "failed", "skipped"]

PLANNER_ROLE = "plan_execute.planner"
"""The role that writes the `Plan`; its inputs are `PlannerInputs`."""

EXECUTOR_ROLE = "plan_execute.executor"
"""The model role of the default executor, which runs one step; its inputs are
`ExecutorInputs` (offline: `nodes.plan_executor.step_follower_model`)."""

REPLANNER_ROLE = "plan_execute.replanner"
"""The role that reads the results and returns a `Replan`; its inputs are `ReplannerInputs`."""


class PlanStep(BaseModel):
    """One step of a plan."""

    id: str = Field(min_length=1, description="Unique step id, e.g. 's1'.")
    description: str = Field(description="What the step does, for the executor and reviewer.")
    tool: str | None = Field(default=None, description="Tool the step calls (None: no tool).")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments.")
    expected_outcome: str = Field(default="", description="What success looks like.")
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of steps that must be done first."
    )


def _check_dag(steps: list[PlanStep]) -> None:
    """Raise ValueError on duplicate ids, unknown dependencies or a cycle."""
    ids = [step.id for step in steps]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate step ids: {', '.join(duplicates)}")
    for step in steps:
        missing = [d for d in step.depends_on if d not in ids]
        if missing:
            raise ValueError(f"step {step.id} depends on unknown steps: {', '.join(missing)}")
    deps = {step.id: step.depends_on for step in steps}
    state: dict[str, int] = {}  # 1: visiting, 2: done

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise ValueError(f"dependency cycle: {' -> '.join([*path, node])}")
        state[node] = 1
        for dep in deps[node]:
            visit(dep, [*path, node])
        state[node] = 2

    for step_id in ids:
        visit(step_id, [])


class Plan(BaseModel):
    """A goal and the steps (a DAG) that reach it."""

    goal: str = Field(description="What the plan achieves.")
    steps: list[PlanStep] = Field(min_length=1, description="The steps, in any order.")

    @model_validator(mode="after")
    def _valid_dag(self) -> Plan:
        _check_dag(self.steps)
        return self


class Replan(BaseModel):
    """The replanner's decision after reading the results."""

    finished: bool = Field(description="True to stop and answer; False to revise the plan.")
    answer: str = Field(default="", description="Final answer to the user when finished.")
    steps: list[PlanStep] = Field(
        default_factory=list,
        description="Revised remaining steps (may depend on steps already done); they "
        "replace every step that is not done.",
    )


class PlannerInputs(TypedDict):
    """What the planner receives with its prompt.

    Attributes:
        request: the text of the latest human message: what the plan is for.
        tools: the tools the steps may call.
    """

    request: str
    tools: Sequence[BaseTool]


class ExecutorInputs(TypedDict):
    """What the executor's model receives with the prompt of one step.

    Attributes:
        step: the step to run.
        results: its dependencies' results by step id (``{"status", "output", "error"}``).
    """

    step: PlanStep
    results: dict[str, dict[str, Any]]


class ReplannerInputs(TypedDict):
    """What the replanner receives with its prompt.

    Attributes:
        request: the text of the latest human message.
        plan: the plan that ran.
        results: every step's result by id (including steps a replan dropped).
    """

    request: str
    plan: Plan
    results: dict[str, dict[str, Any]]


def merge_step_results(
    left: dict[str, dict[str, Any]] | None, right: dict[str, dict[str, Any] | None] | None
) -> dict[str, dict[str, Any]]:
    """Reducer of ``step_results``: merge by step id; a None value removes that step's result."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class PlanExecuteState(AgentState, SagaState):
    """Conversation and audit trail plus the plan and what became of each step.

    Attributes:
        plan: the current `Plan` as JSON (None before planning).
        step_results: per step id ``{"status": "done"|"failed"|"skipped", "output": str,
            "error": str | None}``, merged by id (`merge_step_results`).
        status: ``executing`` (planned, steps to run), ``no_plan`` (the planner produced
            no valid plan), ``rejected`` (a reviewer rejected the plan), ``finished``.
        replans: how many times the remaining plan was revised.
        invalid_output: why the planner or replanner gave no valid answer even when asked
            again (`nodes.ask.InvalidOutput.record`), or None.
        saga: the compensations of a run that finished with a step not done after earlier
            steps had effects (`nodes.saga`), or None.
    """

    plan: dict[str, Any] | None
    step_results: Annotated[dict[str, dict[str, Any]], merge_step_results]
    status: str
    replans: int
    invalid_output: dict[str, Any] | None


@dataclass(kw_only=True)
class PlanExecuteContext(AgentContext):
    """Settings of a plan-and-execute run (on top of `AgentContext`)."""

    approve_plan: bool = field(
        default=True,
        metadata={
            "description": "Ask a person to approve the whole plan (accept, edit the plan, or "
            "reject) before any step runs. Side-effecting tool calls inside steps still follow "
            "approval_policy."
        },
    )
    max_replans: int = field(
        default=2,
        metadata={
            "description": "How many times the replanner may revise the remaining plan; past "
            "it, the run ends with a summary of what was done and what failed."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.max_replans <= 10:
            raise ValueError(f"max_replans must be between 0 and 10, got {self.max_replans}")
