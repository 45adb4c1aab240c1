"""Memory-augmented agent: ReAct that recalls what it knows about the user and remembers more.

Before the tool loop, `recall_memories` searches the user's long-term memories (the graph's
store, namespace ``("memories", user_id)``) with the request and puts the relevant ones into
the model's system prompt. After the final answer, `remember_facts` extracts facts worth
keeping from what the user said and stores them with provenance (thread, source message,
time). A later thread of the same user starts with those memories; another user's never see
them. The loop in between is the ReAct loop, node for node (`graphs.react`).

    recall_memories ─► call_model ──(no tool calls)──────────► remember_facts ─► END
                          │ ├──(budget used up)──► stop_at_budget ──┘
                          │ ├──(side effects)────► approval_gate ─┐
                          │ └──(read-only)───────► run_tools ◄────┘
                          └◄──────────────────────────┘
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from checkpointers.ledger import EffectLedger, default_ledger
from demo.orders import order_tools
from graphs._compile import compile_pattern
from graphs._tool_loop import add_tool_loop
from graphs.react import DEFAULT_RECURSION_LIMIT
from nodes.memory import (
    MEMORIES_NAMESPACE,
    make_call_model_with_memories,
    make_recall_memories,
    make_remember_facts,
)
from nodes.retry import TRANSIENT_RETRY
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S
from state.agent import AgentInput
from state.memory import MemoryAgentOutput, MemoryAgentState, MemoryContext
from tools.registry import ToolRegistry

__all__ = ["build_memory_agent_graph", "graph"]


def build_memory_agent_graph(
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] | None = None,
    *,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "memory_agent",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    namespace_root: str = MEMORIES_NAMESPACE,
    ledger: EffectLedger | None = None,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[MemoryAgentState, MemoryContext, AgentInput, MemoryAgentOutput]:
    """Build the memory-augmented ReAct graph.

    Args:
        model: chat model for the answers and for fact extraction (structured output); None
            resolves ``context.model`` per run.
        tools: tools the agent may call; defaults to the demo order-support tools.
        checkpointer: saver for durable threads; None when a server provides its own.
        store: the long-term memory store (`memory.open_store(...)`, LangGraph's
            `PostgresStore` ...), shared by all threads; None when a server provides its own.
            Without any store the memory steps do nothing.
        name: graph name.
        recursion_limit: hard cap on super-steps per run, on top of ``context.max_steps``.
        namespace_root: first label of the users' memory namespaces.
        ledger: exactly-once record of side-effecting calls; defaults to the one that goes
            with the checkpointer (see `graphs.react`).
        tool_timeout_s: default per-call tool timeout in seconds.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `MemoryContext` (user id,
        recall limit and threshold, whether to remember).
    """
    registry = ToolRegistry(order_tools() if tools is None else tools)
    tools_by_name = {tool.name: tool for tool in registry}
    builder = StateGraph(
        MemoryAgentState,
        context_schema=MemoryContext,
        input_schema=AgentInput,
        output_schema=MemoryAgentOutput,
    )
    builder.add_node(
        "recall_memories",
        make_recall_memories(namespace_root=namespace_root),
        retry_policy=TRANSIENT_RETRY,
    )
    add_tool_loop(
        builder,
        call_model=make_call_model_with_memories(model, list(registry)),
        tools_by_name=tools_by_name,
        ledger=ledger if ledger is not None else default_ledger(checkpointer),
        tool_timeout_s=tool_timeout_s,
        finish="remember_facts",
    )
    builder.add_node(
        "remember_facts",
        make_remember_facts(model, namespace_root=namespace_root),
        retry_policy=TRANSIENT_RETRY,
    )
    builder.add_edge(START, "recall_memories")
    builder.add_edge("recall_memories", "call_model")
    builder.add_edge("remember_facts", END)
    return compile_pattern(
        builder,
        checkpointer=checkpointer,
        store=store,
        name=name,
        recursion_limit=recursion_limit,
    )


graph = build_memory_agent_graph()
"""The graph `langgraph.json` serves; the server brings the checkpointer and the store."""
