"""How every pattern is compiled: the runtime's saver and store, name, recursion limit, tag.

Every pattern runs behind the input boundary (`graphs._boundary.BoundaryGraph`), and every
node under the graph's guardrails and output checks (`nodes.output_guard`): the factory passes
the graph's own tools, its sub-agents' included, so a reply is judged against what THIS graph
can do, never against tools of other graphs in the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs._boundary import behind_boundary
from graphs._stop_guard import guard_builder
from nodes.controls import CONTROLS_KEY
from nodes.output_guard import OutputGuard
from nodes.runtime import PatternRuntime

__all__ = ["compile_pattern"]


def compile_pattern(
    builder: StateGraph[Any, Any, Any, Any],
    *,
    runtime: PatternRuntime,
    name: str,
    recursion_limit: int,
    tools: Sequence[BaseTool] = (),
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile with an explicit recursion limit and tag checkpoints with ``graph_id``.

    The tag (the same key LangGraph server writes) lets tools such as ``approvals list`` find
    which graph a thread belongs to. The graph validates every top-level run's input before
    anything is checkpointed (see `graphs._boundary`).

    Args:
        builder: the pattern's graph builder.
        runtime: the shared build settings (saver, store, ledger, controls, guardrails).
        name: the graph's name (``graph_id``).
        recursion_limit: cap on super-steps per run.
        tools: the graph's tools, its sub-agents' included: the reply-claim check judges a
            reply against their side-effecting ones (none: the check is a no-op).
    """
    output = OutputGuard.of(runtime.guardrails, tools, runtime.ledger)
    compiled = behind_boundary(
        guard_builder(builder, output).compile(
            checkpointer=runtime.checkpointer, store=runtime.store, name=name
        )
    )
    return compiled.with_config(
        recursion_limit=recursion_limit,
        metadata={"graph_id": name},
        configurable={CONTROLS_KEY: runtime.controls},
    )
