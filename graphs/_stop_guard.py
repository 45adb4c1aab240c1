"""The guard every pattern's nodes and routes are compiled with: clean stops, kept events.

`guard_builder` rewrites a `StateGraph` builder before it is compiled
(`graphs._compile.compile_pattern`), so every pattern, existing and future, gets this without
code of its own:

- **each node** runs inside `nodes.control_events.collect_events`; when it succeeds, the
  fallback switches its model calls made are written to the ``fallbacks`` state field;
- a node that raises `nodes.run_stop.RunStopped` (a budget reached, a terminal error) returns
  the wrap-up instead (`nodes.run_stop.wrap_up`: pending tool calls answered, a final AI
  message naming what stopped the run, the ``run_stop`` record, an audit entry);
- once the current run is stopped (``run_stop`` names this run), **every node** is skipped and
  **every route** goes to the end, so the run finishes at once on a valid conversation;
- each node runs under the graph's own guardrails (`nodes.guardrails.using_guardrails`: a
  node reads them with `current_guardrails`, a client cannot replace them), and every reply
  in its update passes the output checks (`nodes.output_guard.OutputGuard`).

A node that is itself a compiled graph (a sub-agent) is left as it is: it was compiled with
the same guard, and LangGraph must still see it as a subgraph.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.constants import END
from langgraph.errors import GraphBubbleUp
from langgraph.graph import StateGraph
from langgraph.graph._branch import BranchSpec
from langgraph.pregel import Pregel

from nodes.control_events import FALLBACKS_CHANNEL, collect_events
from nodes.guardrails import DEFAULT_GUARDRAILS, using_guardrails
from nodes.output_guard import OutputGuard, note_run_start
from nodes.run_budget import current_run_id
from nodes.run_stop import RUN_STOP_CHANNEL, RunStopped, wrap_up
from observability.events import emit, sinks_active
from observability.timing import clock, elapsed, error_name

__all__ = ["guard_builder", "run_is_stopped"]

_SEND = "__pregel_send"


def run_is_stopped(state: Any, config: RunnableConfig) -> bool:
    """Whether the state records that the current run was stopped."""
    record = state.get(RUN_STOP_CHANNEL) if isinstance(state, dict) else None
    if not isinstance(record, dict):
        return False
    run_id = current_run_id(config)
    return run_id is not None and record.get("run_id") == run_id


def _messages(state: Any) -> list[BaseMessage]:
    found = state.get("messages") if isinstance(state, dict) else None
    return list(found or [])


def _keep_events(events: list[dict[str, Any]], config: RunnableConfig, channels: set[str]) -> None:
    """Write the node's kept events into its task's writes (they commit with its result)."""
    send = (config.get("configurable") or {}).get(_SEND)
    if events and send is not None and FALLBACKS_CHANNEL in channels:
        send([(FALLBACKS_CHANNEL, list(events))])


def _node_finished(name: str, started: float, failure: BaseException | str | None) -> None:
    """One ``node_finished`` event (none for an interrupt: the node has not finished)."""
    if not sinks_active() or isinstance(failure, GraphBubbleUp):
        return
    error = failure if isinstance(failure, str) else error_name(failure)
    emit(
        "node_finished", node=name, latency_s=elapsed(started), success=failure is None, error=error
    )


def _guard_node(
    inner: Runnable[Any, Any], name: str, channels: set[str], output: OutputGuard
) -> Runnable[Any, Any]:
    def guarded(state: Any, config: RunnableConfig) -> Any:
        if run_is_stopped(state, config):
            return None
        started = clock()
        note_run_start(config)
        with collect_events() as events, using_guardrails(output.guardrails):
            try:
                result = inner.invoke(state, config)
            except RunStopped as stop:
                _node_finished(name, started, "stopped")
                return wrap_up(stop, _messages(state), run_id=current_run_id(config))
            except Exception as exc:
                _node_finished(name, started, exc)
                raise
        result = output.check_update(state, result, config, channels)
        _keep_events(events, config, channels)
        _node_finished(name, started, None)
        return result

    async def aguarded(state: Any, config: RunnableConfig) -> Any:
        if run_is_stopped(state, config):
            return None
        started = clock()
        note_run_start(config)
        with collect_events() as events, using_guardrails(output.guardrails):
            try:
                result = await inner.ainvoke(state, config)
            except RunStopped as stop:
                _node_finished(name, started, "stopped")
                return wrap_up(stop, _messages(state), run_id=current_run_id(config))
            except Exception as exc:
                _node_finished(name, started, exc)
                raise
        result = output.check_update(state, result, config, channels)
        _keep_events(events, config, channels)
        _node_finished(name, started, None)
        return result

    return RunnableCallable(guarded, aguarded, name=name, trace=False)


def _guard_route(branch: BranchSpec) -> BranchSpec:
    inner = branch.path

    def route(state: Any, config: RunnableConfig) -> Hashable | list[Hashable]:
        if run_is_stopped(state, config):
            return END
        return inner.invoke(state, config)

    async def aroute(state: Any, config: RunnableConfig) -> Hashable | list[Hashable]:
        if run_is_stopped(state, config):
            return END
        return await inner.ainvoke(state, config)

    ends = None if branch.ends is None else {**branch.ends, END: END}
    path = RunnableCallable(route, aroute, name=inner.name, trace=False)
    path._stop_guarded = True  # type: ignore[attr-defined]
    return branch._replace(path=path, ends=ends)


def guard_builder(
    builder: StateGraph[Any, Any, Any, Any], output: OutputGuard | None = None
) -> StateGraph[Any, Any, Any, Any]:
    """Guard every node and route of `builder` in place (see the module docs); returns it.

    Args:
        builder: the pattern's graph builder.
        output: the graph's guardrails and output checks (None: the defaults, no tools).
    """
    output = output or OutputGuard.of(DEFAULT_GUARDRAILS, (), None)
    channels = set(builder.channels)
    for name, spec in list(builder.nodes.items()):
        runnable = spec.runnable
        if not isinstance(runnable, Runnable) or isinstance(runnable, Pregel):
            continue  # a subgraph keeps its own guard; LangGraph must still see it
        if getattr(runnable, "_stop_guarded", False):
            continue
        guarded = _guard_node(runnable, name, channels, output)
        guarded._stop_guarded = True  # type: ignore[attr-defined]
        builder.nodes[name] = replace(spec, runnable=guarded)
    for branches in builder.branches.values():
        for label, branch in list(branches.items()):
            if not getattr(branch.path, "_stop_guarded", False):
                branches[label] = _guard_route(branch)
    return builder
