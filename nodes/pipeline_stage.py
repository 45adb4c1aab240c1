"""Running one pipeline stage as a sub-agent, and the text contract between stages.

The contract (what a stage receives as its one human message, `stage_task`):

- the first stage receives the request itself (the text of the run's latest human message);
- every later stage receives the request and the previous stage's output::

      Request:
      <the request>

      Output of <previous stage>:
      <its output, or the reviewer's edit of it>

A stage's output is the text of the last AI message of its result. `StageRunner` runs the
stage through `nodes.subagent.SubAgent`, so an approval interrupt inside it pauses the whole
run and a resume continues inside it; anything else it raises is a ``failed`` `StageRecord`.

A stage built from a spec without a model plays the role `state.pipeline.stage_role` of its
name; when the run resolves to the offline demo model and a stand-in is registered for that
role, the stage is rebuilt for this run on the stand-in, given `state.pipeline.StageInputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.pregel import Pregel

from models.offline import offline_stand_in
from nodes.model_call import model_for_spec
from nodes.subagent import SubAgent, SubAgentResult
from state.pipeline import StageInputs, StageRecord, stage_role

__all__ = ["StageRun", "StageRunner", "stage_task"]


def stage_task(request: str, previous: Mapping[str, Any] | None) -> str:
    """The exact text a stage receives: the request, then the previous stage's output.

    Args:
        request: the original request.
        previous: the previous stage's `StageRecord`, or None for the first stage.
    """
    if previous is None:
        return request
    return f"Request:\n{request}\n\nOutput of {previous['name']}:\n{previous['output']}"


@dataclass(frozen=True)
class StageRun:
    """What one stage run produced: its trace record and the approvals made inside it."""

    record: StageRecord
    approvals: list[dict[str, Any]]


def _lift_approvals(records: Sequence[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    """The stage's audit records, tagged with the path of the agent that asked."""
    return [
        {**record, "agent": f"{stage}/{record['agent']}" if record.get("agent") else stage}
        for record in records
    ]


def _outcome(name: str, task: str, result: SubAgentResult) -> StageRun:
    """The stage's record from what its sub-agent returned (or raised)."""
    if result.failed:
        record = StageRecord(
            name=name, input=task, output="", status="failed", error=result.describe_error(name)
        )
        return StageRun(record, [])
    messages = list(result.values.get("messages", []))
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    approvals = _lift_approvals(result.values.get("approvals", []), name)
    if last is None or not last.text.strip():
        error = f"{name} failed: it returned no answer"
        return StageRun(
            StageRecord(name=name, input=task, output="", status="failed", error=error), approvals
        )
    if last.name == "budget":  # its own step budget ended it before it answered
        error = f"{name} failed: stopped before answering: {last.text}"
        return StageRun(
            StageRecord(name=name, input=task, output=last.text, status="failed", error=error),
            approvals,
        )
    record = StageRecord(name=name, input=task, output=last.text, status="done", error=None)
    return StageRun(record, approvals)


@dataclass(frozen=True)
class StageRunner:
    """Runs one stage on its sub-agent (sync and async).

    Attributes:
        agent: the stage as built.
        model: the model it was built with; None when it resolves ``context.model`` per run.
        rebuild: builds the stage on another model (for its role's offline stand-in); None
            for a stage given as a compiled graph, which always runs as given.
    """

    agent: SubAgent
    model: BaseChatModel | None = None
    rebuild: Callable[[BaseChatModel], Pregel[Any, Any, Any, Any]] | None = None

    @property
    def name(self) -> str:
        """The stage's name."""
        return self.agent.name

    def _agent_for(self, inputs: StageInputs, parent_context: Any) -> SubAgent:
        """The stage's agent: on its role's stand-in when the run plays offline."""
        if self.rebuild is None:
            return self.agent
        chosen = self.model or model_for_spec(getattr(parent_context, "model", ""))
        stand_in = offline_stand_in(chosen, stage_role(self.name), **inputs)
        if stand_in is None:
            return self.agent
        return SubAgent(self.rebuild(stand_in), name=self.name)

    def _prepare(
        self, request: str, previous: Mapping[str, Any] | None, parent_context: Any
    ) -> tuple[SubAgent, str]:
        task = stage_task(request, previous)
        inputs = StageInputs(
            stage=self.name,
            request=request,
            previous=None if previous is None else str(previous["output"]),
            task=task,
        )
        return self._agent_for(inputs, parent_context), task

    def run(
        self, request: str, previous: Mapping[str, Any] | None, parent_context: Any
    ) -> StageRun:
        """Run the stage on the request and the previous stage's record; interrupts propagate.

        Args:
            request: the original request.
            previous: the previous stage's `StageRecord` (None for the first stage).
            parent_context: the pipeline run's context (`SubAgent` projects it).
        """
        agent, task = self._prepare(request, previous, parent_context)
        result = agent.run({"messages": [HumanMessage(task)]}, parent_context)
        return _outcome(self.name, task, result)

    async def arun(
        self, request: str, previous: Mapping[str, Any] | None, parent_context: Any
    ) -> StageRun:
        """Async twin of `run`."""
        agent, task = self._prepare(request, previous, parent_context)
        result = await agent.arun({"messages": [HumanMessage(task)]}, parent_context)
        return _outcome(self.name, task, result)
