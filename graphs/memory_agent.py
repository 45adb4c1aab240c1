"""Memory-augmented agent: ReAct that recalls what it knows about the user and remembers more.

Before the tool loop, `recall_memories` searches the user's long-term memories (the graph's
store, namespace ``("memories", user_id)``) with the request and puts the relevant ones into
the model's system prompt. After the final answer, `remember_facts` extracts facts worth
keeping from what the user said and stores them with provenance (thread, source message,
time). A later thread of the same user starts with those memories; another user's never see
them. The loop in between is the ReAct loop, node for node (`graphs.react`).

With ``knowledge=True`` (the default) the agent also answers from the knowledge base kept in
the same store (`memory.knowledge`): `retrieve_knowledge` searches the scopes the caller may
read (project, their teams, their own) and the model sees the relevant passages with their
citations; the read-only ``search_knowledge`` tool lets it search again; its answers' citations
are checked and, in grounded mode, it says it does not know when nothing relevant was found
(`nodes.knowledge`, `nodes.grounding`). A store without knowledge changes nothing.

    recall_memories ─► retrieve_knowledge ─► call_model ──(no tool calls)──► remember_facts ─► END
                                                │ ├──(budget used up)──► stop_at_budget ──┘
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
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs._compile import compile_pattern
from graphs._tool_loop import add_tool_loop
from graphs.react import DEFAULT_RECURSION_LIMIT
from nodes.grounding import make_call_model_with_knowledge
from nodes.knowledge import make_retrieve_knowledge
from nodes.knowledge_tool import make_search_knowledge_tool
from nodes.memory import (
    MEMORIES_NAMESPACE,
    make_call_model_with_memories,
    make_recall_memories,
    make_remember_facts,
)
from nodes.retry import TRANSIENT_RETRY
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.knowledge import KnowledgeMemoryContext, KnowledgeMemoryOutput, KnowledgeMemoryState
from tools.registry import ToolRegistry

__all__ = ["build_memory_agent_graph", "graph"]


def build_memory_agent_graph(
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] = (),
    *,
    instructions: str = "",
    namespace_root: str = MEMORIES_NAMESPACE,
    knowledge: bool = True,
    grounded: bool | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "memory_agent",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledStateGraph[
    KnowledgeMemoryState, KnowledgeMemoryContext, AgentInput, KnowledgeMemoryOutput
]:
    """Build the memory-augmented ReAct graph.

    Args:
        model: chat model for the answers and for fact extraction (structured output); None
            resolves ``context.model`` per run.
        tools: tools the agent may call.
        instructions: the agent's system prompt; empty uses ``context.system_prompt``.
        namespace_root: first label of the users' memory namespaces.
        knowledge: retrieve knowledge-base passages before the model call, offer the
            ``search_knowledge`` tool and check the answer's citations (`nodes.grounding`).
        grounded: the operator's grounded mode (a client may turn it on per run, never off);
            None reads ``AGENT_PATTERNS_GROUNDED``. Only with `knowledge`.
        runtime: checkpointer, store, ledger and tool timeout (`PatternRuntime`). The store is
            the long-term memory (`memory.open_store(...)`, LangGraph's `PostgresStore` ...),
            shared by all threads; without any store the memory steps do nothing.
        checkpointer: shorthand for the runtime's saver; None when a server provides its own.
        store: shorthand for the runtime's store; None when a server provides its own.
        name: graph name.
        recursion_limit: hard cap on super-steps per run, on top of ``context.max_steps``.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context
        `state.knowledge.KnowledgeMemoryContext` (user id, recall limit and threshold,
        whether to remember, knowledge limit, minimum relevance, grounded mode).
    """
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    registry = ToolRegistry([*tools, *([make_search_knowledge_tool()] if knowledge else [])])
    builder = StateGraph(
        KnowledgeMemoryState,
        context_schema=KnowledgeMemoryContext,
        input_schema=AgentInput,
        output_schema=KnowledgeMemoryOutput,
    )
    builder.add_node(
        "recall_memories",
        make_recall_memories(namespace_root=namespace_root),
        retry_policy=TRANSIENT_RETRY,
    )
    call_model = make_call_model_with_memories(model, list(registry), instructions=instructions)
    if knowledge:
        builder.add_node(
            "retrieve_knowledge",
            make_retrieve_knowledge(grounded=grounded),
            retry_policy=TRANSIENT_RETRY,
        )
        with_memories = make_call_model_with_memories(model, list(registry))
        call_model = make_call_model_with_knowledge(
            with_memories, instructions=instructions, grounded=grounded
        )
    add_tool_loop(
        builder,
        call_model=call_model,
        tools_by_name={tool.name: tool for tool in registry},
        runtime=shared,
        finish="remember_facts",
    )
    builder.add_node(
        "remember_facts",
        make_remember_facts(model, namespace_root=namespace_root),
        retry_policy=TRANSIENT_RETRY,
    )
    builder.add_edge(START, "recall_memories")
    if knowledge:
        builder.add_edge("recall_memories", "retrieve_knowledge")
        builder.add_edge("retrieve_knowledge", "call_model")
    else:
        builder.add_edge("recall_memories", "call_model")
    builder.add_edge("remember_facts", END)
    return compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=list(registry),
    )


from demo.orders import order_tools  # noqa: E402  (the served graph's wiring only)

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "tools": order_tools()}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_memory_agent_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; no checkpointer of its own (the server brings one)."""
