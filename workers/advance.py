"""Advance one thread by one run: apply its payload once, run until the end or an interrupt.

A run's payload is ``{"input": <graph input>}`` (a new turn) or ``{"resume": {interrupt id:
decision}}`` (an approval's answer). Every checkpoint the run writes carries its run id in the
checkpoint metadata (`RUN_ID_KEY`), which makes a redelivered task safe: when the thread's
latest checkpoint already belongs to this run, the payload was applied before the previous
worker died, so the run continues from the checkpoint (input ``None``) instead of sending the
payload again. The graph runs with ``durability="sync"``: each step is saved before the next
one starts, so a killed worker loses at most the step it was running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from graphs._pending import pending_requests

__all__ = ["RUN_ID_KEY", "NothingToResumeError", "Outcome", "advance", "first_input"]

RUN_ID_KEY = "agent_patterns_run_id"
"""Checkpoint metadata key naming the run that wrote the checkpoint."""


class NothingToResumeError(ValueError):
    """A resume run found its thread waiting for nothing (answered already, or never asked)."""


@dataclass(frozen=True)
class Outcome:
    """Where a run left its thread."""

    status: Literal["waiting", "finished"]
    summary: str
    """The final answer (finished) or the pending approvals (waiting)."""


def run_config(thread_id: str, run_id: str) -> RunnableConfig:
    """The config of `run_id` on `thread_id`: its checkpoints are tagged with the run id."""
    return {"configurable": {"thread_id": thread_id}, "metadata": {RUN_ID_KEY: run_id}}


def first_input(graph: Any, config: RunnableConfig, payload: Mapping[str, Any]) -> Any:
    """What to send the graph first: the payload, or None when it was applied already.

    Returns:
        The graph input, a ``Command(resume=...)``, ``None`` (continue from the checkpoint) or
        the `Ellipsis` sentinel when this run already brought the thread to rest (nothing to
        run: a redelivery after the work was done but before the task was acknowledged).

    Raises:
        NothingToResumeError: a resume while the thread waits for no approval.
    """
    run_id = config["metadata"][RUN_ID_KEY]
    latest = graph.checkpointer.get_tuple({"configurable": config["configurable"]})
    if latest is not None and latest.metadata.get(RUN_ID_KEY) == run_id:
        state = graph.get_state(config)
        return ... if (state.interrupts or not state.next) else None
    if _applied_before(graph, config, run_id):
        return ...  # a late redelivery: a later run has moved the thread on since
    if "resume" in payload:
        state = graph.get_state(config)
        if not state.interrupts:
            thread = config["configurable"]["thread_id"]
            raise NothingToResumeError(f"thread {thread} waits for no approval to resume")
        return Command(resume=dict(payload["resume"]))
    return payload["input"]


def _applied_before(graph: Any, config: RunnableConfig, run_id: str) -> bool:
    """Whether any checkpoint of the thread carries `run_id` (the run was applied already).

    With late acknowledgement a worker can record a run and die before acknowledging it; the
    client resumes the thread in the meantime, and the broker then hands the old run to
    another worker. Its input must not be applied a second time.
    """
    thread = {"configurable": {"thread_id": config["configurable"]["thread_id"]}}
    found = graph.checkpointer.list(thread, filter={RUN_ID_KEY: run_id}, limit=1)
    return next(iter(found), None) is not None


def outcome_of(graph: Any, config: RunnableConfig) -> Outcome:
    """The thread's state after a run: waiting at a gate, or finished with an answer."""
    state = graph.get_state(config)
    if state.interrupts:
        waiting = "; ".join(request.describe() for request in pending_requests(state))
        return Outcome("waiting", waiting)
    messages = state.values.get("messages") if isinstance(state.values, dict) else None
    answer = messages[-1].text if messages else ""
    return Outcome("finished", answer)


def advance(
    graph: Any,
    thread_id: str,
    run_id: str,
    payload: Mapping[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Outcome:
    """Run `run_id` on `thread_id` until the graph ends or waits at an interrupt.

    Args:
        graph: the compiled graph, on a durable checkpointer.
        thread_id: the thread.
        run_id: the run (its checkpoints are tagged with it; see the module docs).
        payload: ``{"input": ...}`` or ``{"resume": {...}}``.
        context: the run's context (a dict; the graph coerces it to its schema).
        on_step: called with each completed step's node name.

    Raises:
        NothingToResumeError: see `first_input`.
    """
    config = run_config(thread_id, run_id)
    start = first_input(graph, config, payload)
    if start is not ...:
        for update in graph.stream(
            start,
            config,
            context=dict(context) if context else None,
            stream_mode="updates",
            durability="sync",
        ):
            for name in update if isinstance(update, dict) else ():
                if on_step is not None and not str(name).startswith("__"):
                    on_step(str(name))
    return outcome_of(graph, config)
