"""ReAct with an approval gate: the model reasons, calls tools, reads results, answers.

Read-only tool calls run directly; calls to tools with side effects stop at the approval gate
(an Agent Inbox-compatible interrupt) and run only as the reviewer decides. Every run has a
step budget and a recursion limit and ends with a clear message when it hits one.

    call_model ──(no tool calls)──────────────► END
        │ ├──(budget used up)──► stop_at_budget ─► END
        │ ├──(side effects)────► approval_gate ─┐
        │ └──(read-only)───────► run_tools ◄────┘
        └◄──────────────────────────┘
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs._compile import compile_pattern
from graphs._tool_loop import add_tool_loop
from nodes.model_call import make_call_model
from nodes.runtime import PatternRuntime
from state.agent import AgentInput, AgentOutput, AgentState
from state.context import AgentContext
from tools.registry import ToolRegistry

__all__ = ["DEFAULT_RECURSION_LIMIT", "build_react_graph", "compile_tool_agent", "graph"]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per run; each tool round takes three (model, gate, tools)."""

ReactGraph = CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput]


def build_react_graph(
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] = (),
    *,
    instructions: str = "",
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "react",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> ReactGraph:
    """Build the ReAct graph.

    Args:
        model: chat model; None resolves ``context.model`` per run (the offline heuristic
            model when no API key is configured).
        tools: tools the agent may call. Tools declare side effects (see `tools.registry`);
            those pass the approval gate under the default policy.
        instructions: the agent's system prompt; empty uses the run's
            ``context.system_prompt`` (which Studio and SDK users may set per run).
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``; None for
            stateless runs, or when a server provides its own.
        store: shorthand for the runtime's long-term memory store (``runtime.store`` in nodes).
        name: graph name (shown in traces and when composed into other graphs).
        recursion_limit: hard cap on super-steps per run, on top of ``context.max_steps``.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `AgentContext`.
    """
    return compile_tool_agent(
        model,
        tools,
        instructions=instructions,
        runtime=PatternRuntime.of(runtime, checkpointer=checkpointer, store=store),
        name=name,
        recursion_limit=recursion_limit,
    )


def compile_tool_agent(
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    *,
    instructions: str,
    runtime: PatternRuntime,
    name: str,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    exit_on_handoff: bool = False,
    name_replies: bool = False,
) -> ReactGraph:
    """The ReAct tool loop every agent-building pattern compiles (`graphs._agents`).

    Args:
        model: chat model, or None for the run's ``context.model``.
        tools: the agent's tools (names must be unique).
        instructions: system prompt; empty uses ``context.system_prompt``.
        runtime: the shared build settings.
        name: graph name.
        recursion_limit: cap on super-steps per run.
        exit_on_handoff: end the run right after a turn that called a handoff tool
            (`tools.handoff`), so a parent graph (a swarm) can pass control on.
        name_replies: tag the model's replies with `name`, so a shared conversation shows
            which agent wrote what.
    """
    registry = ToolRegistry(tools)
    builder = StateGraph(
        AgentState,
        context_schema=AgentContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    add_tool_loop(
        builder,
        call_model=make_call_model(
            model,
            list(registry),
            instructions=instructions or None,
            reply_name=name if name_replies else None,
        ),
        tools_by_name={tool.name: tool for tool in registry},
        runtime=runtime,
        exit_on_handoff=exit_on_handoff,
    )
    builder.add_edge(START, "call_model")
    return compile_pattern(
        builder,
        runtime=runtime,
        name=name,
        recursion_limit=recursion_limit,
        tools=list(registry),
    )


from demo.orders import order_tools  # noqa: E402  (the served graph's wiring only)

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "tools": order_tools()}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_react_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; no checkpointer of its own (the server brings one)."""
