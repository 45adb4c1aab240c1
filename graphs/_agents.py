"""How a multi-agent pattern turns an `AgentSpec` into the graph that runs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph
from langgraph.pregel import Pregel

from graphs._compile import compile_pattern
from graphs._tool_loop import add_tool_loop
from graphs.react import DEFAULT_RECURSION_LIMIT, compile_tool_agent
from nodes.runtime import PatternRuntime
from nodes.shared_memory import make_call_model_with_shared_memory, make_remember_shared_tool
from state.agent import AgentInput, AgentOutput, AgentState
from state.agent_spec import AgentSpec
from state.shared_memory import SharedMemoryContext
from tools.registry import ToolRegistry

__all__ = ["agent_graph", "agent_tools"]


def agent_tools(specs: Sequence[AgentSpec]) -> list[BaseTool]:
    """The tools of a team's agents, for the parent's reply-claim check (`graphs._compile`).

    An agent given as a compiled graph brings its own tools, which its own graph checks.
    """
    return [tool for spec in specs for tool in spec.tools]


def agent_graph(
    spec: AgentSpec,
    *,
    model: BaseChatModel | None,
    runtime: PatternRuntime,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    extra_tools: Sequence[BaseTool] = (),
    exit_on_handoff: bool = False,
    name_replies: bool = False,
    shared_memory: bool = False,
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
        shared_memory: the pattern has a shared memory (`nodes.shared_memory`): the agent
            reads it before each model call and, when its spec says ``"write"``, gets the
            ``remember_shared`` tool. Its context is then `SharedMemoryContext`.

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
    chat_model = spec.model if spec.model is not None else model
    if shared_memory:
        return _shared_memory_agent(
            spec,
            chat_model,
            [*spec.tools, *extra_tools],
            runtime=runtime.for_subagent(),
            recursion_limit=recursion_limit,
            exit_on_handoff=exit_on_handoff,
            name_replies=name_replies,
        )
    return compile_tool_agent(
        chat_model,
        [*spec.tools, *extra_tools],
        instructions=spec.instructions,
        runtime=runtime.for_subagent(),
        name=spec.name,
        recursion_limit=recursion_limit,
        exit_on_handoff=exit_on_handoff,
        name_replies=name_replies,
    )


def _shared_memory_agent(
    spec: AgentSpec,
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    *,
    runtime: PatternRuntime,
    recursion_limit: int,
    exit_on_handoff: bool,
    name_replies: bool,
) -> Pregel[Any, Any, Any, Any]:
    """The ReAct loop of `compile_tool_agent`, reading (and, for writers, writing) shared memory.

    Same nodes and edges; only the model node differs (the shared notes in its system prompt)
    and a writer has one more tool, bound to its name.
    """
    writes = [make_remember_shared_tool(spec.name)] if spec.shared_memory == "write" else []
    registry = ToolRegistry([*tools, *writes])
    builder = StateGraph(
        AgentState,
        context_schema=SharedMemoryContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    add_tool_loop(
        builder,
        call_model=make_call_model_with_shared_memory(
            model,
            list(registry),
            instructions=spec.instructions,
            reply_name=spec.name if name_replies else None,
        ),
        tools_by_name={tool.name: tool for tool in registry},
        runtime=runtime,
        exit_on_handoff=exit_on_handoff,
    )
    builder.add_edge(START, "call_model")
    return compile_pattern(
        builder,
        runtime=runtime,
        name=spec.name,
        recursion_limit=recursion_limit,
        tools=list(registry),
    )
