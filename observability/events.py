"""Structured events: one small record per agent decision, fanned out to registered sinks.

Every production signal (JSON logs, traces, metrics) reads the same events. Code that does
something worth observing calls `emit` with a kind from `KINDS` and its fields; sinks (the
log writer, the metrics recorder, a test's list) receive each `Event`. With no sink registered
`emit` returns at once, so the emission points cost one truthiness check in a run nobody
watches.

``emit`` fills in the run's context when it runs inside a LangGraph node: ``thread_id``,
``run_id``, ``graph_id``, ``step``, ``node``, ``user_id`` (the server's authenticated user,
else the run context's ``user_id``) and ``agent`` (the sub-agent whose subgraph is running,
else the graph). An explicit field always wins. A failing sink never
breaks a run: it is skipped for that call and logged (a warning the first time, debug after).

Example:
    >>> seen = []
    >>> remove = add_sink(seen.append)
    >>> emit("tool_call", tool="lookup_order", latency_s=0.01, success=True).kind
    'tool_call'
    >>> seen[0].fields["tool"]
    'lookup_order'
    >>> remove()
    >>> emit("tool_call", tool="lookup_order") is None
    True
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["KINDS", "Event", "Sink", "add_sink", "context_fields", "emit", "sinks_active"]

_log = logging.getLogger(__name__)

KINDS = (
    "model_call",
    "tool_call",
    "approval_requested",
    "approval_decided",
    "budget_stop",
    "fallback",
    "breaker_change",
    "node_finished",
    "run_finished",
    "injection_flagged",
    "output_guarded",
)
"""Every event kind; `emit` refuses (logs and drops) any other."""

CONTEXT_KEYS = ("thread_id", "run_id", "graph_id", "step", "node", "user_id", "agent")
"""The context fields `emit` fills in from the running LangGraph config when known."""


@dataclass(frozen=True)
class Event:
    """One observed decision.

    Attributes:
        kind: one of `KINDS`.
        at: ISO-8601 UTC timestamp (microseconds) of the emission.
        fields: JSON-safe fields of the kind plus the known context fields.
    """

    kind: str
    at: str
    fields: dict[str, Any]


Sink = Callable[[Event], None]
"""A receiver of events; it should be quick (it runs inline in the node that emitted)."""

_lock = threading.Lock()
_sinks: tuple[Sink, ...] = ()
_warned: set[int] = set()


def add_sink(sink: Sink) -> Callable[[], None]:
    """Register `sink` for every later event; returns a function removing it again.

    Args:
        sink: called with each `Event`, in registration order.

    Raises:
        TypeError: `sink` is not callable.
    """
    global _sinks
    if not callable(sink):
        raise TypeError(f"A sink must be callable, got {type(sink).__name__}")
    with _lock:
        _sinks = (*_sinks, sink)

    def remove() -> None:
        global _sinks
        with _lock:
            remaining = list(_sinks)
            if sink in remaining:
                remaining.remove(sink)
            _sinks = tuple(remaining)

    return remove


def sinks_active() -> bool:
    """Whether any sink is registered (emission points may skip costly field work when not)."""
    return bool(_sinks)


def emit(kind: str, /, **fields: Any) -> Event | None:
    """Send one event to every sink; never raises.

    Args:
        kind: one of `KINDS`.
        **fields: the kind's fields (see docs/observability.md); values are made JSON-safe.

    Returns:
        The event sent, or None when no sink is registered or the kind is unknown.
    """
    sinks = _sinks
    if not sinks:
        return None
    try:
        if kind not in KINDS:
            _log.warning("Unknown event kind %r dropped (known: %s)", kind, ", ".join(KINDS))
            return None
        merged = {key: _json_safe(value) for key, value in fields.items()}
        for key, value in context_fields().items():
            merged.setdefault(key, value)
        event = Event(kind=kind, at=_now(), fields=merged)
    except Exception:  # an emission point must never break a run
        _log.warning("Could not build a %s event", kind, exc_info=True)
        return None
    for sink in sinks:
        _deliver(sink, event)
    return event


def _deliver(sink: Sink, event: Event) -> None:
    try:
        sink(event)
    except Exception:
        if id(sink) in _warned:
            _log.debug("Event sink %r failed again", sink, exc_info=True)
            return
        _warned.add(id(sink))
        _log.warning("Event sink %r failed; event skipped for it", sink, exc_info=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def context_fields(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context fields known from a LangGraph config (the running one when None).

    Args:
        config: a runnable config; None reads the current LangGraph context, if any.

    Returns:
        Any of `CONTEXT_KEYS` that are known; empty outside a run.
    """
    if config is None:
        config = _current_config()
        if config is None:
            return {}
    configurable: Mapping[str, Any] = config.get("configurable") or {}
    metadata: Mapping[str, Any] = config.get("metadata") or {}
    found: dict[str, Any] = {
        "thread_id": configurable.get("thread_id") or metadata.get("thread_id"),
        "run_id": metadata.get("run_id") or configurable.get("run_id") or config.get("run_id"),
        "graph_id": metadata.get("graph_id") or configurable.get("graph_id"),
        "step": metadata.get("langgraph_step"),
        "node": metadata.get("langgraph_node"),
        "user_id": _user_id(configurable, metadata),
        "agent": _agent(configurable, metadata),
    }
    return {key: _json_safe(value) for key, value in found.items() if value is not None}


def _current_config() -> Mapping[str, Any] | None:
    try:
        from langgraph.config import get_config

        return get_config()
    except Exception:  # outside a runnable context (RuntimeError) or LangGraph absent
        return None


def _user_id(configurable: Mapping[str, Any], metadata: Mapping[str, Any]) -> str | None:
    user = configurable.get("langgraph_auth_user_id") or metadata.get("langgraph_auth_user_id")
    if user:
        return str(user)
    runtime = configurable.get("__pregel_runtime")
    context = getattr(runtime, "context", None)
    if isinstance(context, Mapping):
        user = context.get("user_id")
    else:
        user = getattr(context, "user_id", None)
    return str(user) if user else None


def _agent(configurable: Mapping[str, Any], metadata: Mapping[str, Any]) -> str | None:
    """The node holding the running subgraph (a sub-agent), else the graph's id."""
    namespace = str(configurable.get("checkpoint_ns") or "")
    parts = [part for part in namespace.split("|") if part]
    if len(parts) >= 2:
        return parts[-2].split(":", 1)[0] or None
    graph = metadata.get("graph_id") or configurable.get("graph_id")
    return str(graph) if graph else None


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(item) for item in value]
    return str(value)
