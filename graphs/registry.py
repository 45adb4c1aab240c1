"""The project's graphs by id, as `langgraph.json` names them: how tools find a builder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs.critique import build_critique_graph
from graphs.hitl import build_hitl_graph
from graphs.memory_agent import build_memory_agent_graph
from graphs.plan_execute import build_plan_execute_graph
from graphs.react import build_react_graph
from graphs.reflexion import build_reflexion_graph
from graphs.router import build_router_graph
from graphs.supervisor import build_supervisor_graph
from graphs.swarm import build_swarm_graph

__all__ = ["GRAPH_BUILDERS", "build_graph"]

GRAPH_BUILDERS: dict[str, Callable[..., CompiledStateGraph[Any, Any, Any, Any]]] = {
    "react": build_react_graph,
    "hitl": build_hitl_graph,
    "critique": build_critique_graph,
    "memory_agent": build_memory_agent_graph,
    "reflexion": build_reflexion_graph,
    "plan_execute": build_plan_execute_graph,
    "router": build_router_graph,
    "supervisor": build_supervisor_graph,
    "swarm": build_swarm_graph,
}


def build_graph(graph_id: str, **options: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the graph registered as `graph_id` (keyword options go to its factory).

    Raises:
        ValueError: for an unknown id, listing the known ones.
    """
    try:
        builder = GRAPH_BUILDERS[graph_id]
    except KeyError:
        known = ", ".join(sorted(GRAPH_BUILDERS))
        raise ValueError(f"Unknown graph {graph_id!r}; known graphs: {known}") from None
    return builder(**options)
