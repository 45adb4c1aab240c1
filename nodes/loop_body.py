"""Running one round of a loop's body, a sub-agent (`nodes.subagent.SubAgent`).

`LoopBody` turns a round (the request, the previous round's output and its remaining issues)
into the round's entry ``{"round", "input", "output", "error"}`` (plus the body's approval
records):

- the body's task is `round_task`: the request in round 1; later, the request, the previous
  output (quoted) and the issues the stop check still found, asking for a complete revision;
- it runs through `SubAgent`: an interrupt inside it (an approval) pauses the whole run and
  resumes inside; any other exception is the round's ``error`` (the output is then empty);
- the output is the text of the last AI message of its result.

A body built from a tool-agent spec plays the role `state.loop.body_role` of its name
(``loop.body.<name>``): when the run's model is the offline demo model and a stand-in is
registered for that role, the body is rebuilt for the round on the stand-in, given the round's
`state.loop.BodyInputs`; without one it runs on the demo model itself. A body given as a
compiled graph always runs as given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.pregel import Pregel

from models.offline import offline_stand_in
from nodes.model_call import model_for_spec
from nodes.subagent import SubAgent, SubAgentResult
from state.loop import BodyInputs, body_role

__all__ = ["LoopBody", "last_ai_text", "round_task"]


def round_task(request: str, previous: Mapping[str, Any] | None) -> str:
    """The body's task for a round: the request, plus the previous round and its feedback.

    Args:
        request: what every round answers.
        previous: the previous round's entry (``output``, ``error``, ``verdict``); None in
            round 1.
    """
    if previous is None:
        return request
    verdict = previous.get("verdict") or {}
    issues = list(verdict.get("remaining_issues") or [])
    if previous.get("error"):
        issues = issues or [f"the previous round failed: {previous['error']}"]
    listed = "\n".join(f"* {issue}" for issue in issues) or "* (none listed)"
    quoted = "\n".join(f"> {line}" for line in str(previous.get("output", "")).splitlines())
    reason = verdict.get("reason") or previous.get("error") or ""
    return (
        f"{request}\n\n"
        f"Your previous answer (round {previous['round']}):\n{quoted or '> (none)'}\n\n"
        f"It did not pass: {reason}\n"
        f"Remaining issues to fix:\n{listed}\n\n"
        "Write the complete revised answer."
    )


def last_ai_text(messages: Sequence[AnyMessage]) -> str:
    """The text of the last AI message (empty when there is none)."""
    return next((m.text for m in reversed(messages) if isinstance(m, AIMessage)), "")


def _entry(number: int, task: str, result: SubAgentResult, name: str) -> dict[str, Any]:
    """The round's entry from what the body returned (or raised)."""
    if result.failed:
        error = result.describe_error(name)
        return {"round": number, "input": task, "output": "", "error": error, "approvals": []}
    output = last_ai_text(result.values.get("messages", []))
    approvals = [{**r, "round": number} for r in result.values.get("approvals", [])]
    return {"round": number, "input": task, "output": output, "error": None, "approvals": approvals}


@dataclass(frozen=True)
class LoopBody:
    """Runs rounds of the loop's body (sync and async).

    Attributes:
        agent: the body as built.
        model: the model a tool-agent body was built with; None when it resolves
            ``context.model`` per run.
        rebuild: builds the body on another model (for the role's offline stand-in); None for
            a body given as a compiled graph, which always runs as given.
    """

    agent: SubAgent
    model: BaseChatModel | None = None
    rebuild: Callable[[BaseChatModel], Pregel[Any, Any, Any, Any]] | None = None

    def _agent_for(self, inputs: BodyInputs, parent_context: Any) -> SubAgent:
        """The body for this round: on the role's stand-in when the run plays offline."""
        if self.rebuild is None:
            return self.agent
        chosen = self.model or model_for_spec(getattr(parent_context, "model", ""))
        stand_in = offline_stand_in(chosen, body_role(self.agent.name), **inputs)
        if stand_in is None:
            return self.agent
        return SubAgent(self.rebuild(stand_in), name=self.agent.name)

    def _prepare(
        self, request: str, previous: Mapping[str, Any] | None, parent_context: Any
    ) -> tuple[SubAgent, str, int]:
        number = 1 if previous is None else int(previous["round"]) + 1
        issues = list(((previous or {}).get("verdict") or {}).get("remaining_issues") or [])
        inputs = BodyInputs(
            request=request,
            round=number,
            previous=None if previous is None else str(previous.get("output", "")),
            issues=issues,
        )
        return self._agent_for(inputs, parent_context), round_task(request, previous), number

    def run(
        self, request: str, previous: Mapping[str, Any] | None, parent_context: Any
    ) -> dict[str, Any]:
        """Run the next round; interrupts propagate.

        Args:
            request: what every round answers.
            previous: the previous round's entry; None for round 1.
            parent_context: the loop's run context (`SubAgent` projects it).

        Returns:
            The round's entry ``{"round", "input", "output", "error", "approvals"}``.
        """
        agent, task, number = self._prepare(request, previous, parent_context)
        result = agent.run({"messages": [HumanMessage(task)]}, parent_context)
        return _entry(number, task, result, agent.name)

    async def arun(
        self, request: str, previous: Mapping[str, Any] | None, parent_context: Any
    ) -> dict[str, Any]:
        """Async twin of `run`."""
        agent, task, number = self._prepare(request, previous, parent_context)
        result = await agent.arun({"messages": [HumanMessage(task)]}, parent_context)
        return _entry(number, task, result, agent.name)
