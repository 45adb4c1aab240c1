"""Running one step of a plan on the executor, a sub-agent (`nodes.subagent.SubAgent`).

`StepExecutor` turns a `state.plan.PlanStep` and its dependencies' results into the step's
run (``{"result": {...}, "approvals": [...]}``, what `nodes.plan_steps` saves per task):

- a step whose dependency did not succeed is ``skipped``, with the reason, and never runs;
- otherwise the executor runs on the step's prompt (its description, expected outcome and
  dependencies' results, then the call it plans) through `SubAgent`: an interrupt inside it
  (an approval) pauses the whole run, any other exception is a ``failed`` step;
- a step that names a tool is ``done`` only when that tool returned a successful result;
  an error, a timeout or a rejected approval fail it.

The executor's model plays the role `state.plan.EXECUTOR_ROLE`. When the run resolves it to
the offline demo model, the executor is rebuilt for the step on the role's stand-in, which is
given the step itself (`state.plan.ExecutorInputs`); `step_follower_model` is that stand-in:
it calls the step's planned tool with its inputs and reports the result.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    ToolCall,
    ToolMessage,
)
from langgraph.pregel import Pregel

from models.offline import offline_stand_in
from models.scripted import ScriptedChatModel
from nodes.model_call import model_for_spec
from nodes.subagent import SubAgent, SubAgentResult
from state.plan import EXECUTOR_ROLE, ExecutorInputs, PlanStep

__all__ = [
    "EXECUTOR_PROMPT",
    "StepExecutor",
    "step_follower_model",
    "step_prompt",
]

EXECUTOR_PROMPT = (
    "You execute one step of a plan. Call the step's tool with its inputs, read the result "
    "and report it briefly. Do not do anything the step does not ask for."
)
"""The default executor's instructions."""

Results = Mapping[str, Mapping[str, Any]]
"""Step results by step id: ``{"status", "output", "error"}``."""


def step_prompt(step: PlanStep, results: Results) -> str:
    """The executor's task for one step: what to do, what its dependencies found, the call."""
    lines = [f"Step {step.id}: {step.description}"]
    if step.expected_outcome:
        lines.append(f"Expected outcome: {step.expected_outcome}")
    for dep in step.depends_on:
        lines.append(f"Result of {dep}: {results.get(dep, {}).get('output', '')}")
    if step.tool:
        lines.append(f"Call {step.tool} with {json.dumps(step.inputs, sort_keys=True)}.")
    return "\n".join(lines)


def step_follower_model(
    step: PlanStep, results: Results | None = None, *, delay_s: float = 0.0
) -> ScriptedChatModel:
    """An offline executor model for one step: call its planned tool, then report the result.

    The offline stand-in of `state.plan.EXECUTOR_ROLE` (its inputs are
    `state.plan.ExecutorInputs`). Deterministic and stateless: the tool call's id derives from
    the step and its dependencies' results, so a resumed run repeats exactly what an
    uninterrupted one does, and a step a replan changed gets a new id.

    Args:
        step: the step to follow.
        results: its dependencies' results (part of the call id).
        delay_s: seconds to sleep on every call, to simulate model latency (benchmarks).
    """
    seed = json.dumps({"step": step.model_dump(mode="json"), "results": results or {}}, default=str)
    call_id = "call_" + hashlib.sha256(seed.encode()).hexdigest()[:12]

    def follow(messages: list[BaseMessage]) -> AIMessage | str:
        if delay_s:
            time.sleep(delay_s)
        last = messages[-1]
        if isinstance(last, ToolMessage):
            verdict = "Failed" if last.status == "error" else "Done"
            return f"{verdict}: {last.text}"
        if not step.tool:
            return f"Done: Step {step.id}: {step.description}"
        return AIMessage(
            content="", tool_calls=[ToolCall(name=step.tool, args=step.inputs, id=call_id)]
        )

    return ScriptedChatModel(replies=[follow], cycle=True)


def _skipped(step: PlanStep, results: Results) -> dict[str, Any] | None:
    """The step's run when a dependency did not succeed (the step is skipped), else None."""
    blocked = [d for d in step.depends_on if results[d]["status"] != "done"]
    if not blocked:
        return None
    error = f"not run: depends on {', '.join(blocked)} which did not succeed"
    return {"result": {"status": "skipped", "output": "", "error": error}}


def _succeeded_calls(produced: Sequence[AnyMessage]) -> dict[str, Any]:
    """``{"calls": [...]}``: ids of the step's tool calls that succeeded (a saga's input)."""
    calls = [m.tool_call_id for m in produced if isinstance(m, ToolMessage) and m.status != "error"]
    return {"calls": calls} if calls else {}


def step_outcome(step: PlanStep, produced: Sequence[AnyMessage]) -> dict[str, Any]:
    """Turn the executor's messages into the step's result (done or failed).

    The result lists the ids of the tool calls that succeeded (``calls``, when any): the
    effects a saga may have to undo when the plan fails later (`nodes.saga`).
    """
    answer = next((m.text for m in reversed(produced) if isinstance(m, AIMessage)), "")
    calls = _succeeded_calls(produced)
    if step.tool:
        results = [m for m in produced if isinstance(m, ToolMessage) and m.name == step.tool]
        ok = [m for m in results if m.status != "error"]
        if not ok:
            error = results[-1].text if results else f"the executor did not call {step.tool}"
            return {"status": "failed", "output": answer, "error": error, **calls}
        return {"status": "done", "output": ok[-1].text, "error": None, "answer": answer, **calls}
    return {"status": "done", "output": answer, "error": None, **calls}


def _step_run(step: PlanStep, result: SubAgentResult, name: str) -> dict[str, Any]:
    """The step's run from what the executor returned (or raised)."""
    if result.failed:
        error = result.describe_error(name)
        return {"result": {"status": "failed", "output": "", "error": error}}
    messages = result.values.get("messages", [])
    produced = [m for m in messages if not isinstance(m, HumanMessage)]
    approvals = [{**r, "step": step.id} for r in result.values.get("approvals", [])]
    return {"result": step_outcome(step, produced), "approvals": approvals}


@dataclass(frozen=True)
class StepExecutor:
    """Runs plan steps on the executor sub-agent (sync and async).

    Attributes:
        agent: the executor as built.
        model: the model it was built with; None when it resolves ``context.model`` per run.
        rebuild: builds the executor on another model (for the role's offline stand-in);
            None for an executor given as a compiled graph, which always runs as given.
    """

    agent: SubAgent
    model: BaseChatModel | None = None
    rebuild: Callable[[BaseChatModel], Pregel[Any, Any, Any, Any]] | None = None

    def _agent_for(self, step: PlanStep, results: Results, parent_context: Any) -> SubAgent:
        """The executor for `step`: on the role's stand-in when the run plays offline."""
        if self.rebuild is None:
            return self.agent
        chosen = self.model or model_for_spec(getattr(parent_context, "model", ""))
        inputs = ExecutorInputs(step=step, results={k: dict(v) for k, v in results.items()})
        stand_in = offline_stand_in(chosen, EXECUTOR_ROLE, **inputs)
        if stand_in is None:
            return self.agent
        return SubAgent(self.rebuild(stand_in), name=self.agent.name)

    def _task(self, step: PlanStep, results: Results) -> dict[str, Any]:
        return {"messages": [HumanMessage(step_prompt(step, results))]}

    def run(self, step: PlanStep, results: Results, parent_context: Any) -> dict[str, Any]:
        """Run `step` (or skip it) given its dependencies' results; interrupts propagate.

        Args:
            step: the step.
            results: its dependencies' results by id.
            parent_context: the plan's run context (`SubAgent` projects it).

        Returns:
            The step's run: ``{"result": {...}}`` plus the executor's ``approvals``.
        """
        skipped = _skipped(step, results)
        if skipped is not None:
            return skipped
        agent = self._agent_for(step, results, parent_context)
        return _step_run(step, agent.run(self._task(step, results), parent_context), agent.name)

    async def arun(self, step: PlanStep, results: Results, parent_context: Any) -> dict[str, Any]:
        """Async twin of `run`."""
        skipped = _skipped(step, results)
        if skipped is not None:
            return skipped
        agent = self._agent_for(step, results, parent_context)
        outcome = await agent.arun(self._task(step, results), parent_context)
        return _step_run(step, outcome, agent.name)
