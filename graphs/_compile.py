"""How every pattern is compiled: checkpointer, store, name, recursion limit, tag, boundary.

Every pattern runs behind the input boundary (`graphs._boundary.BoundaryGraph`).
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs._boundary import behind_boundary

__all__ = ["compile_pattern"]


def compile_pattern(
    builder: StateGraph[Any, Any, Any, Any],
    *,
    checkpointer: BaseCheckpointSaver | None,
    store: BaseStore | None,
    name: str,
    recursion_limit: int,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile with an explicit recursion limit and tag checkpoints with ``graph_id``.

    The tag (the same key LangGraph server writes) lets tools such as ``approvals list`` find
    which graph a thread belongs to. The graph validates every top-level run's input before
    anything is checkpointed (see `graphs._boundary`).
    """
    compiled = behind_boundary(builder.compile(checkpointer=checkpointer, store=store, name=name))
    return compiled.with_config(recursion_limit=recursion_limit, metadata={"graph_id": name})
