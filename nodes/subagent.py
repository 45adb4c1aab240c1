"""Running a sub-agent inside a node: sync and async, interrupts passed through, context projected.

A pattern that calls an agent from inside one of its nodes (a supervisor's worker, a plan
step's executor, a pipeline stage) runs it through `SubAgent`:

- the sub-agent runs on the run's own checkpointer (it is invoked inside the node, so it
  inherits the config): an approval interrupt inside it pauses the whole run, and on resume
  the node runs again and the sub-agent continues from its own checkpoint;
- `GraphBubbleUp` (interrupts, and the parent's own control flow) always propagates; any other
  exception becomes a `SubAgentResult` with the error, data for the calling pattern;
- its context is projected from the parent's: the fields both context schemas share, so the
  parent's (already policy-checked) limits, approval policy and model reach it unchanged;
  except ``system_prompt``: the parent's prompt is the parent's, a sub-agent speaks with its
  own instructions (or its context's default prompt);
- its streamed chunks carry ``lc_agent_name`` in the metadata;
- what the controls did inside it reaches the parent: its fallback switches are kept for the
  calling node's update (`nodes.control_events.keep_records`), and when a control stopped it
  (a budget, a terminal error) the same `nodes.run_stop.RunStopped` is raised in the calling
  node, so the parent's run ends cleanly too, naming the same reason.

Example:
    >>> from langgraph.graph import START, MessagesState, StateGraph
    >>> def shout(state: MessagesState) -> dict:
    ...     return {"messages": [("ai", state["messages"][-1].text.upper())]}
    >>> builder = StateGraph(MessagesState)
    >>> _ = builder.add_node("shout", shout).add_edge(START, "shout")
    >>> agent = SubAgent(builder.compile(), name="shouter")
    >>> agent.run({"messages": [("user", "hi")]}, None).values["messages"][-1].text
    'HI'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.pregel import Pregel

from nodes.control_events import FALLBACKS_CHANNEL, keep_records
from nodes.run_budget import current_run_id
from nodes.run_stop import RUN_STOP_CHANNEL, RunStopped
from state.context import AgentContext

__all__ = ["SubAgent", "SubAgentResult", "project_context"]

_NOT_INHERITED = {"system_prompt"}


@dataclass(frozen=True)
class SubAgentResult:
    """What a sub-agent run returned: its final values, or the error it raised."""

    values: dict[str, Any]
    error: Exception | None = None

    @property
    def failed(self) -> bool:
        """Whether the sub-agent raised (anything but an interrupt)."""
        return self.error is not None

    def describe_error(self, name: str) -> str:
        """One line for the calling pattern's state: ``<name> failed: <Type>: <message>``."""
        return f"{name} failed: {type(self.error).__name__}: {self.error}"


def project_context(
    parent: Any, schema: type[Any] = AgentContext, **overrides: Any
) -> dict[str, Any]:
    """The sub-agent's context: the parent's values of the fields `schema` declares.

    ``system_prompt`` is never inherited (a sub-agent keeps its own); pass it as an override.

    Args:
        parent: the parent run's context (a dataclass instance, a mapping or None).
        schema: the sub-agent's context dataclass.
        **overrides: values that replace the parent's (None values are left out).
    """
    wanted = {f.name for f in fields(schema)} - _NOT_INHERITED if is_dataclass(schema) else set()
    if parent is None:
        values: Mapping[str, Any] = {}
    elif is_dataclass(parent) and not isinstance(parent, type):
        values = {f.name: getattr(parent, f.name) for f in fields(parent)}
    else:
        values = dict(parent)
    projected = {name: value for name, value in values.items() if name in wanted}
    projected.update({k: v for k, v in overrides.items() if v is not None})
    return projected


class SubAgent:
    """A compiled agent graph a node runs, with the failure and interrupt rules above."""

    def __init__(
        self,
        graph: Pregel[Any, Any, Any, Any],
        *,
        name: str,
        context_schema: type[Any] = AgentContext,
    ) -> None:
        """Wrap `graph`.

        Args:
            graph: a compiled graph taking ``{"messages": [...]}``; compiled without a
                checkpointer of its own (it uses the run's).
            name: its name in traces, streamed chunks (``lc_agent_name``) and errors.
            context_schema: the context dataclass it reads; what `project_context` keeps.
        """
        self.name = name
        self.context_schema = context_schema
        self._bound = graph.with_config(metadata={"lc_agent_name": name})

    def run(
        self, inputs: Mapping[str, Any], parent_context: Any, **overrides: Any
    ) -> SubAgentResult:
        """Run to the end (or the next interrupt, which propagates)."""
        context = project_context(parent_context, self.context_schema, **overrides)
        try:
            values = dict(self._bound.invoke(dict(inputs), context=context))
        except GraphBubbleUp:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing sub-agent is data for the caller
            return SubAgentResult({}, exc)
        return _passed_on(values)

    async def arun(
        self, inputs: Mapping[str, Any], parent_context: Any, **overrides: Any
    ) -> SubAgentResult:
        """Async twin of `run` (``langgraph dev`` runs graphs async on an async saver)."""
        context = project_context(parent_context, self.context_schema, **overrides)
        try:
            values = await self._bound.ainvoke(dict(inputs), context=context)
        except GraphBubbleUp:
            raise
        except Exception as exc:  # noqa: BLE001
            return SubAgentResult({}, exc)
        return _passed_on(dict(values))


def _passed_on(values: dict[str, Any]) -> SubAgentResult:
    """The result, after passing the controls' records and stops on to the calling node."""
    keep_records(values.get(FALLBACKS_CHANNEL))
    stop = values.get(RUN_STOP_CHANNEL)
    if isinstance(stop, dict) and stop.get("run_id") and stop["run_id"] == current_run_id():
        raise RunStopped(
            str(stop.get("reason") or "a control stopped the run"),
            kind=stop.get("kind") or "budget",
            detail=stop.get("detail") or {},
        )
    return SubAgentResult(values)
