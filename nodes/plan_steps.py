"""Run a plan's steps as LangGraph tasks: each step starts the moment its own dependencies finish.

LangGraph runs a graph in lock-step super-steps: a node sent in one super-step starts only
when every node of the previous one has finished, so with one ``Send`` per ready step a short
branch of a plan would wait for a slow one. Here the steps run inside one node instead, each
as a LangGraph task (`langgraph.func.task`) called from the node: a call returns a future at
once, and a step's task first waits for the futures of its own dependencies, then runs.

Durability: a task's result is saved to the checkpointer (as the task's write) the moment the
task finishes. When the node runs again in the same super-step (a new process after a crash, or
the resume after an interrupt), each call finds its saved result and returns it without
running; only unfinished steps run. LangGraph identifies a task by the order of the calls, so
the calls are made in a fixed order: by depth in the plan, then as listed.

Interrupts: a step that pauses (an approval inside the executor) raises `GraphInterrupt`; steps
that depend on it raise `DependencyPaused` (saved as nothing, so they run after the resume);
independent steps go on and finish. The node then re-raises every step's interrupt together,
and the run pauses; on resume only the paused step and its dependents run.

The same runner serves the parallel pattern (`nodes.parallel_branches`): its branches are
steps without dependencies, run under their own task name.

Threads: under ``invoke`` a step waiting for its dependencies holds one of the run's worker
threads (``max_concurrency`` in the run's config; Python's default is ``min(32, cpus + 4)``).
Calling shallow steps first means a waiting step only ever waits for steps called before it, so
the pool never deadlocks; a plan with more steps than threads runs with less parallelism than
it could. Under ``ainvoke`` (and LangGraph server) a waiting step costs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, cast

from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.func import task
from langgraph.types import Interrupt

from state.plan import PlanStep

__all__ = [
    "STEP_TASK",
    "DependencyPaused",
    "StepRun",
    "arun_plan_steps",
    "call_order",
    "run_plan_steps",
]

STEP_TASK = "execute_step"
"""Name of every step's task (in streamed ``tasks`` and ``updates`` events)."""

StepRun = dict[str, Any]
"""What running one step returns: ``{"result": {...}, ...}``, JSON-safe (it is checkpointed);
its task adds ``"step"``, the step's id."""


class DependencyPaused(GraphBubbleUp):
    """A step's dependency is paused at an interrupt: the step runs after the resume."""


def call_order(steps: Sequence[PlanStep], finished: Mapping[str, Any]) -> list[PlanStep]:
    """The steps without a result, shallowest first (depth over unfinished dependencies).

    Args:
        steps: the plan's steps (a valid DAG: `state.plan.Plan` checks it).
        finished: results of steps that already ran, by step id; those are left out.

    Returns:
        The unfinished steps, every one after all of its unfinished dependencies.
    """
    pending = {step.id: step for step in steps if step.id not in finished}
    depth: dict[str, int] = {}

    def depth_of(step_id: str) -> int:
        if step_id not in depth:
            deps = [d for d in pending[step_id].depends_on if d in pending]
            depth[step_id] = 1 + max(map(depth_of, deps)) if deps else 0
        return depth[step_id]

    position = {step_id: index for index, step_id in enumerate(pending)}
    return sorted(pending.values(), key=lambda step: (depth_of(step.id), position[step.id]))


def _as_task(
    func: Callable[[dict[str, Any]], Any], name: str = STEP_TASK
) -> Callable[[dict[str, Any]], Any]:
    """`langgraph.func.task` under one name for every job (its overloads defeat mypy here)."""
    return cast(Callable[[Callable[..., Any]], Any], task(name=name))(func)


def _collect(
    order: Sequence[PlanStep], outcomes: Sequence[StepRun | BaseException]
) -> dict[str, StepRun]:
    """Finished steps' runs by id; re-raise the interrupts (all together) or a failure."""
    runs: dict[str, StepRun] = {}
    interrupts: list[Interrupt] = []
    failure: BaseException | None = None
    for step, outcome in zip(order, outcomes, strict=True):
        if isinstance(outcome, GraphInterrupt):
            interrupts.extend(outcome.args[0])
        elif isinstance(outcome, DependencyPaused):
            continue
        elif isinstance(outcome, BaseException):
            failure = failure or outcome
        else:
            runs[step.id] = outcome
    if failure is not None:
        raise failure
    if interrupts:
        raise GraphInterrupt(tuple(interrupts))
    return runs


def run_plan_steps(
    steps: Sequence[PlanStep],
    finished: Mapping[str, Mapping[str, Any]],
    run_step: Callable[[PlanStep, dict[str, Mapping[str, Any]]], StepRun],
    *,
    task_name: str = STEP_TASK,
) -> dict[str, StepRun]:
    """Run every unfinished step as a task; call from inside a graph node (sync).

    Args:
        steps: the plan's steps.
        finished: results of steps that already ran, by id (dependencies may be among them).
        run_step: runs one step given its dependencies' results (``run["result"]`` of each);
            it must not raise for a failed step (return the failure as data) and must be
            deterministic enough to be skipped: its saved return value stands in for it.
        task_name: the tasks' name in streamed events (`STEP_TASK`; the parallel pattern
            runs its branches, steps without dependencies, under its own name).

    Returns:
        Each step's run, by id.

    Raises:
        GraphInterrupt: one or more steps paused; the steps that finished are saved.
    """
    order = call_order(steps, finished)
    futures: dict[str, Future[StepRun]] = {}

    def dependency_results(step: PlanStep) -> dict[str, Mapping[str, Any]]:
        results: dict[str, Mapping[str, Any]] = {}
        for dep in step.depends_on:
            if dep not in futures:
                results[dep] = finished[dep]
                continue
            try:
                results[dep] = futures[dep].result()["result"]
            except GraphBubbleUp as paused:
                raise DependencyPaused(dep) from paused
        return results

    def execute_step(payload: dict[str, Any]) -> StepRun:
        step = PlanStep.model_validate(payload["step"])
        return {**run_step(step, dependency_results(step)), "step": step.id}

    call = _as_task(execute_step, task_name)
    for step in order:
        futures[step.id] = call({"step": step.model_dump(mode="json")})
    outcomes: list[StepRun | BaseException] = []
    for future in futures.values():
        try:
            outcomes.append(future.result())
        except Exception as exc:  # noqa: BLE001 - sorted out by _collect
            outcomes.append(exc)
    return _collect(order, outcomes)


async def arun_plan_steps(
    steps: Sequence[PlanStep],
    finished: Mapping[str, Mapping[str, Any]],
    run_step: Callable[[PlanStep, dict[str, Mapping[str, Any]]], Awaitable[StepRun]],
    *,
    task_name: str = STEP_TASK,
) -> dict[str, StepRun]:
    """Async twin of `run_plan_steps`: waiting steps are coroutines, not threads."""
    order = call_order(steps, finished)
    futures: dict[str, Awaitable[StepRun]] = {}

    async def dependency_results(step: PlanStep) -> dict[str, Mapping[str, Any]]:
        results: dict[str, Mapping[str, Any]] = {}
        for dep in step.depends_on:
            if dep not in futures:
                results[dep] = finished[dep]
                continue
            try:
                results[dep] = (await futures[dep])["result"]
            except GraphBubbleUp as paused:
                raise DependencyPaused(dep) from paused
        return results

    async def execute_step(payload: dict[str, Any]) -> StepRun:
        step = PlanStep.model_validate(payload["step"])
        return {**await run_step(step, await dependency_results(step)), "step": step.id}

    call = _as_task(execute_step, task_name)
    for step in order:
        futures[step.id] = call({"step": step.model_dump(mode="json")})
    outcomes = await asyncio.gather(*futures.values(), return_exceptions=True)
    return _collect(order, outcomes)
