"""What a top-level run tells observers: its ``run_finished`` event and its trace metadata.

`graphs._boundary.BoundaryGraph` calls these around every top-level run (a subgraph's run is
part of its parent's):

- `traced_config` adds, only while tracing is on (`observability.tracing.tracing_mode`), the
  run's trace tags (``pattern:<name>``, ``graph:<id>``) and metadata (``pattern``, ``graph_id``,
  ``user_id``, ``model``; ``thread_id`` and ``run_id`` come from the configurable as LangChain
  copies them). The run's name in the trace is the compiled graph's name, the pattern.
- `finish_run` emits ``run_finished`` with the pattern, the outcome (``success``,
  ``interrupted`` when the thread waits for a person, ``stopped`` when a control ended the
  run, ``error``) and the latency. Reading the outcome costs one state read, made only when a
  sink listens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import CONF, CONFIG_KEY_CHECKPOINT_NS
from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from models.factory import resolve_model_spec
from nodes.identity import authenticated_user_id
from nodes.run_stop import RUN_STOP_CHANNEL
from observability.events import emit, sinks_active
from observability.timing import elapsed, error_name
from observability.tracing import tracing_mode

__all__ = ["finish_run", "is_top_level", "model_spec", "run_outcome", "traced_config"]


def is_top_level(graph: Pregel[Any, Any, Any, Any], config: RunnableConfig | None) -> bool:
    """Whether a run of `graph` with `config` is a top-level run (not a subgraph's)."""
    merged = {**(graph.config or {}).get(CONF, {}), **((config or {}).get(CONF) or {})}
    return not merged.get(CONFIG_KEY_CHECKPOINT_NS)


def model_spec(context: Any) -> str:
    """The model spec a run uses: its context's ``model``, else the process default."""
    spec = context.get("model") if isinstance(context, Mapping) else getattr(context, "model", "")
    try:
        return resolve_model_spec(str(spec) if spec else None)
    except Exception:  # noqa: BLE001 - an unknown spec is the run's error, not the trace's
        return str(spec or "unknown")


def traced_config(
    graph: Pregel[Any, Any, Any, Any], config: RunnableConfig | None, context: Any
) -> RunnableConfig | None:
    """`config` with the run's trace tags and metadata while tracing is on (else unchanged)."""
    if tracing_mode() == "off":
        return config
    given: RunnableConfig = dict(config or {})  # type: ignore[assignment]
    metadata = {**(graph.config or {}).get("metadata", {}), **(given.get("metadata") or {})}
    graph_id = str(metadata.get("graph_id") or graph.name)
    added = {
        "pattern": graph.name,
        "graph_id": graph_id,
        "user_id": authenticated_user_id(given) or _context_user(context),
        "model": model_spec(context),
    }
    given["metadata"] = {**{k: v for k, v in added.items() if v}, **(given.get("metadata") or {})}
    tags = [f"pattern:{graph.name}", f"graph:{graph_id}"]
    given["tags"] = [
        *(given.get("tags") or []),
        *(t for t in tags if t not in (given.get("tags") or [])),
    ]
    return given


def _context_user(context: Any) -> str | None:
    user = (
        context.get("user_id")
        if isinstance(context, Mapping)
        else getattr(context, "user_id", None)
    )
    return str(user) if user else None


def run_outcome(graph: Pregel[Any, Any, Any, Any], config: RunnableConfig) -> str:
    """``interrupted``, ``stopped`` or ``success``, from the thread's state after the run."""
    configurable = dict(config.get(CONF) or {})
    if configurable.get("thread_id") is None:
        return "success"
    configurable.pop("checkpoint_id", None)
    try:
        snapshot = graph.get_state({**config, CONF: configurable})
    except Exception:  # noqa: BLE001 - no checkpointer: nothing waits, nothing recorded
        return "success"
    return _outcome_of(snapshot, configurable.get("run_id"))


async def arun_outcome(graph: Pregel[Any, Any, Any, Any], config: RunnableConfig) -> str:
    """`run_outcome` with the async state read."""
    configurable = dict(config.get(CONF) or {})
    if configurable.get("thread_id") is None:
        return "success"
    configurable.pop("checkpoint_id", None)
    try:
        snapshot = await graph.aget_state({**config, CONF: configurable})
    except Exception:  # noqa: BLE001 - no checkpointer: nothing waits, nothing recorded
        return "success"
    return _outcome_of(snapshot, configurable.get("run_id"))


def _outcome_of(snapshot: StateSnapshot, run_id: Any) -> str:
    if snapshot.interrupts or snapshot.next:
        return "interrupted"
    values = snapshot.values if isinstance(snapshot.values, Mapping) else {}
    stop = values.get(RUN_STOP_CHANNEL)
    if isinstance(stop, Mapping) and run_id is not None and stop.get("run_id") == str(run_id):
        return "stopped"
    return "success"


def finish_run(
    graph: Pregel[Any, Any, Any, Any],
    config: RunnableConfig,
    started: float,
    outcome: str,
    failure: BaseException | None = None,
    context: Any = None,
) -> None:
    """Emit the run's ``run_finished`` event (see the module docs)."""
    metadata = {**(graph.config or {}).get("metadata", {}), **(config.get("metadata") or {})}
    configurable = config.get(CONF) or {}
    graph_id = metadata.get("graph_id") or graph.name
    emit(
        "run_finished",
        pattern=graph.name,
        graph_id=graph_id,
        agent=graph_id,
        thread_id=configurable.get("thread_id"),
        run_id=configurable.get("run_id"),
        user_id=authenticated_user_id(config) or _context_user(context),
        outcome=outcome,
        latency_s=elapsed(started),
        error=error_name(failure),
    )


def observing() -> bool:
    """Whether run-level observation is worth its cost (a sink listens)."""
    return sinks_active()
