"""How every pattern is compiled: the runtime's saver and store, name, recursion limit, tag.

Every pattern runs behind the input boundary (`graphs._boundary.BoundaryGraph`).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs._boundary import behind_boundary
from graphs._stop_guard import guard_builder
from nodes.controls import CONTROLS_KEY
from nodes.runtime import PatternRuntime

__all__ = ["compile_pattern"]


def compile_pattern(
    builder: StateGraph[Any, Any, Any, Any],
    *,
    runtime: PatternRuntime,
    name: str,
    recursion_limit: int,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile with an explicit recursion limit and tag checkpoints with ``graph_id``.

    The tag (the same key LangGraph server writes) lets tools such as ``approvals list`` find
    which graph a thread belongs to. The graph validates every top-level run's input before
    anything is checkpointed (see `graphs._boundary`).
    """
    compiled = behind_boundary(
        guard_builder(builder).compile(
            checkpointer=runtime.checkpointer, store=runtime.store, name=name
        )
    )
    return compiled.with_config(
        recursion_limit=recursion_limit,
        metadata={"graph_id": name},
        configurable={CONTROLS_KEY: runtime.controls},
    )
