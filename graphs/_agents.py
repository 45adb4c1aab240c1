"""How a multi-agent pattern turns an `AgentSpec` into the graph that runs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.pregel import Pregel

from graphs.react import DEFAULT_RECURSION_LIMIT, compile_tool_agent
from nodes.runtime import PatternRuntime
from state.agent_spec import AgentSpec

__all__ = ["agent_graph"]


def agent_graph(
    spec: AgentSpec,
    *,
    model: BaseChatModel | None,
    runtime: PatternRuntime,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    extra_tools: Sequence[BaseTool] = (),
    exit_on_handoff: bool = False,
    name_replies: bool = False,
) -> Pregel[Any, Any, Any, Any]:
    """The spec's own graph, or a ReAct tool loop built from it.

    The loop is compiled without a checkpointer (``runtime.for_subagent()``): it checkpoints
    into the parent's thread, so an approval interrupt inside it pauses the whole run and a
    resume continues inside it. It shares the parent's ledger.

    Args:
        spec: the agent.
        model: the pattern's model, used when the spec has none (None: ``context.model``).
        runtime: the parent pattern's runtime.
        recursion_limit: cap on the agent's super-steps per run.
        extra_tools: tools the pattern adds (a swarm's handoffs).
        exit_on_handoff: end the loop after a turn that handed off (`graphs.react`).
        name_replies: tag the agent's replies with its name.

    Raises:
        ValueError: the pattern needs to add tools to an agent given as a compiled graph.
    """
    if spec.graph is not None:
        if extra_tools:
            names = ", ".join(tool.name for tool in extra_tools)
            raise ValueError(
                f"Agent {spec.name!r} is a compiled graph, so this pattern cannot add its tools "
                f"({names}); describe it with instructions and tools instead."
            )
        return spec.graph
    return compile_tool_agent(
        spec.model if spec.model is not None else model,
        [*spec.tools, *extra_tools],
        instructions=spec.instructions,
        runtime=runtime.for_subagent(),
        name=spec.name,
        recursion_limit=recursion_limit,
        exit_on_handoff=exit_on_handoff,
        name_replies=name_replies,
    )
