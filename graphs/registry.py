"""The served graphs by id, as `langgraph.json` names them: how tools rebuild one with a saver.

Each pattern module ends with ``SERVED_OPTIONS`` (the demo shop's wiring) and the module-level
``graph`` built from them. `build_graph` builds the same graph with other options (a
checkpointer, a store), so the CLI can resume a thread `langgraph dev` or a demo started.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs import (
    critique,
    debate,
    fraud_events,
    hitl,
    loop,
    memory_agent,
    orchestrator,
    parallel,
    pipeline,
    plan_execute,
    react,
    reflexion,
    research,
    router,
    supervisor,
    swarm,
)

__all__ = ["GRAPH_BUILDERS", "build_graph"]

_MODULES: dict[str, tuple[ModuleType, str]] = {
    "react": (react, "build_react_graph"),
    "hitl": (hitl, "build_hitl_graph"),
    "critique": (critique, "build_critique_graph"),
    "memory_agent": (memory_agent, "build_memory_agent_graph"),
    "reflexion": (reflexion, "build_reflexion_graph"),
    "plan_execute": (plan_execute, "build_plan_execute_graph"),
    "router": (router, "build_router_graph"),
    "supervisor": (supervisor, "build_supervisor_graph"),
    "swarm": (swarm, "build_swarm_graph"),
    "pipeline": (pipeline, "build_pipeline_graph"),
    "parallel": (parallel, "build_parallel_graph"),
    "loop": (loop, "build_loop_graph"),
    "fraud_events": (fraud_events, "build_fraud_events_graph"),
    "debate": (debate, "build_debate_graph"),
    "orchestrator": (orchestrator, "build_orchestrator_graph"),
    "research": (research, "build_research_graph"),
}

GRAPH_BUILDERS: dict[str, Callable[..., CompiledStateGraph[Any, Any, Any, Any]]] = {
    graph_id: getattr(module, factory) for graph_id, (module, factory) in _MODULES.items()
}
"""Each served graph's factory (called with its module's ``SERVED_OPTIONS`` by `build_graph`)."""


def build_graph(graph_id: str, **options: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the graph served as `graph_id`, wired as served, with `options` on top.

    Args:
        graph_id: the id in `langgraph.json`.
        **options: factory options (``checkpointer=``, ``store=``, ``runtime=`` ...); they
            win over the served wiring.

    Raises:
        ValueError: for an unknown id, listing the known ones.
    """
    try:
        module, _ = _MODULES[graph_id]
    except KeyError:
        known = ", ".join(sorted(_MODULES))
        raise ValueError(f"Unknown graph {graph_id!r}; known graphs: {known}") from None
    served: dict[str, Any] = getattr(module, "SERVED_OPTIONS", {})
    return GRAPH_BUILDERS[graph_id](**{**served, **options})
