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

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from checkpointers.ledger import EffectLedger, default_ledger
from demo.orders import order_tools
from graphs._compile import compile_pattern
from graphs._tool_loop import add_tool_loop
from nodes.model_call import make_call_model
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S
from state.agent import AgentInput, AgentOutput, AgentState
from state.context import AgentContext
from tools.registry import ToolRegistry

__all__ = ["DEFAULT_RECURSION_LIMIT", "build_react_graph", "graph"]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per run; each tool round takes three (model, gate, tools)."""


def build_react_graph(
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] | None = None,
    *,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "react",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    ledger: EffectLedger | None = None,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
    exit_on_handoff: bool = False,
    system_prompt: str | None = None,
    instructions: str | None = None,
    name_replies: bool = False,
) -> CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput]:
    """Build the ReAct graph.

    Args:
        model: chat model; None resolves ``context.model`` per run (offline demo model when
            no API key is configured).
        tools: tools the agent may call; defaults to the demo order-support tools. Tools
            declare side effects (see `tools.registry`); those pass the approval gate under
            the default policy.
        checkpointer: saver for durable threads (see `checkpointers`); None for stateless
            runs, or when a server provides its own.
        store: long-term memory store, exposed to nodes as ``runtime.store``.
        name: graph name (shown in traces and when composed into other graphs).
        recursion_limit: hard cap on super-steps per run, on top of ``context.max_steps``.
        ledger: exactly-once record of side-effecting calls; defaults to the one that goes
            with the checkpointer (Postgres table for a Postgres saver, else in memory).
        tool_timeout_s: default per-call tool timeout in seconds.
        exit_on_handoff: end the run right after a turn that called a handoff tool
            (`tools.handoff`), so a parent graph (a swarm) can pass control on.
        system_prompt: this agent's instructions, in place of ``context.system_prompt`` (for
            agents inside a multi-agent graph, which share the parent's context).
        instructions: a role appended to the system prompt (the shared prompt stays).
        name_replies: tag the model's replies with `name`, so a shared conversation shows
            which agent wrote what.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `AgentContext`.
    """
    registry = ToolRegistry(order_tools() if tools is None else tools)
    tools_by_name = {tool.name: tool for tool in registry}

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
            system_prompt=system_prompt,
            instructions=instructions,
            reply_name=name if name_replies else None,
        ),
        tools_by_name=tools_by_name,
        ledger=ledger if ledger is not None else default_ledger(checkpointer),
        tool_timeout_s=tool_timeout_s,
        exit_on_handoff=exit_on_handoff,
    )
    builder.add_edge(START, "call_model")
    return compile_pattern(
        builder,
        checkpointer=checkpointer,
        store=store,
        name=name,
        recursion_limit=recursion_limit,
    )


graph = build_react_graph()
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
