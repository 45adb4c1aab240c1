"""The input boundary every graph of the project runs behind: `BoundaryGraph`.

LangGraph saves a run's input as a checkpoint (``source="input"``, in the loop's first tick)
before any node runs, so a bad input is stored for good. `BoundaryGraph` is a
`CompiledStateGraph` whose ``stream`` and ``astream`` check the input first; ``invoke``,
``ainvoke``, ``stream_events`` and ``astream_events`` (what ``langgraph dev`` calls, on a
``graph.copy(update=...)``, which keeps the class) all go through them. For a top-level run
(a subgraph's run has a ``checkpoint_ns`` and is not checked again):

- the input is validated (`graphs.input_validation`): `InvalidInputError`;
- ``Command(resume=...)`` is checked for NUL and lone surrogates, and refused on a thread the
  checkpointer does not hold: `UnknownThreadError`;
- new messages on a thread that waits for an approval (or has unanswered tool calls) are
  refused, `PendingApprovalError`, unless the input says ``"cancel_pending": true``: then
  the pending tasks are cleared, the audit trail records each request as ``superseded``,
  every unanswered call gets a "not run" tool message, and the new message runs.

Every run (top-level or not) also drops operator-only config keys a caller forged
(`nodes.operator_config`): a client cannot replace the graph's controls or guardrails.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._config import ensure_config
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_CHECKPOINTER,
)
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import END
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot, StateUpdate
from langgraph.typing import ContextT, InputT, OutputT, StateT

from graphs._pending import CANCEL_PENDING_KEY, cancellation, pending_requests
from graphs._tracing import (
    arun_outcome,
    finish_run,
    is_top_level,
    observing,
    run_outcome,
    traced_config,
)
from graphs.errors import InvalidInputError, PendingApprovalError, UnknownThreadError
from graphs.input_validation import check_text, validate_input, validate_messages
from nodes.identity import authenticated_user_id
from nodes.operator_config import without_forged_keys
from nodes.run_budget import start_run
from observability.timing import clock

__all__ = ["BoundaryGraph", "behind_boundary"]


class _Admission:
    """One run's checked input, and what remains to decide against the thread's state."""

    def __init__(self, graph: CompiledStateGraph[Any, Any, Any, Any], raw: Any, config: Any):
        merged = ensure_config(graph.config, config)
        configurable = merged[CONF]
        self.top_level = not configurable.get(CONFIG_KEY_CHECKPOINT_NS)
        self.run_input, self.cancel = _checked(raw) if self.top_level else (raw, False)
        saver = configurable.get(CONFIG_KEY_CHECKPOINTER, graph.checkpointer)
        thread = configurable.get("thread_id")
        self.thread_id = str(thread) if thread is not None else None
        self.needs_state = (
            self.top_level
            and isinstance(saver, BaseCheckpointSaver)
            and self.thread_id is not None
            and (isinstance(raw, Mapping) or (isinstance(raw, Command) and raw.resume is not None))
        )
        self.reviewer = authenticated_user_id(merged) or "caller"
        # The cancellation is written "as" a node without conditional edges: those would run
        # routing functions (which need a runtime) during the update.
        self.node = next(
            (name for name in graph.builder.nodes if not graph.builder.branches.get(name)),
            next(iter(graph.builder.nodes)),
        )
        self.channels = set(graph.channels)

    def cancellation_steps(self, snapshot: StateSnapshot) -> list[list[StateUpdate]] | None:
        """Refuse what the thread's state forbids; the updates a cancel needs, if any."""
        assert self.thread_id is not None
        if isinstance(self.run_input, Command):
            if snapshot.metadata is None:
                raise UnknownThreadError(self.thread_id)
            return None
        pending = pending_requests(snapshot)
        if not pending:
            return None
        if not self.cancel:
            raise PendingApprovalError(self.thread_id, pending)
        update = cancellation(snapshot, pending, self.reviewer)
        values = {key: value for key, value in update.items() if key in self.channels}
        # Clear the waiting tasks, record the cancellation, and leave nothing scheduled.
        steps = [[StateUpdate(None, END)]]
        if values:
            steps += [[StateUpdate(values, self.node)], [StateUpdate(None, END)]]
        return steps


def _checked(raw: Any) -> tuple[Any, bool]:
    """Validate a top-level input; return (the input to run, whether to cancel pending)."""
    if raw is None:
        return raw, False
    if isinstance(raw, Command):
        check_text(raw.resume, path="resume")
        if isinstance(raw.update, Mapping) and "messages" in raw.update:
            validate_messages(raw.update["messages"])
        check_text(raw.update, path="update")
        return raw, False
    validate_input(raw)
    cancel = raw.get(CANCEL_PENDING_KEY, False)
    if not isinstance(cancel, bool):
        raise InvalidInputError(
            f"{CANCEL_PENDING_KEY} must be true or false, got {type(cancel).__name__}",
            field=CANCEL_PENDING_KEY,
        )
    return {key: value for key, value in raw.items() if key != CANCEL_PENDING_KEY}, cancel


def _check_updates(supersteps: Sequence[Sequence[StateUpdate]]) -> None:
    """Refuse state updates that would store unreadable messages, NUL or lone surrogates."""
    for updates in supersteps:
        for update in updates:
            values = update[0]
            if isinstance(values, Mapping) and "messages" in values:
                validate_messages(values["messages"], state_update=True)
            check_text(values, path="update")


class BoundaryGraph(CompiledStateGraph[StateT, ContextT, InputT, OutputT]):
    """A compiled graph that refuses bad input before LangGraph checkpoints it.

    State updates (``update_state``, ``bulk_update_state`` and their async forms) are held
    to the same rules for the messages they write, so they cannot poison a thread either.
    """

    def bulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """`CompiledStateGraph.bulk_update_state`, after checking the updates' messages."""
        _check_updates(supersteps)
        return super().bulk_update_state(config, supersteps)

    async def abulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """`CompiledStateGraph.abulk_update_state`, after checking the updates' messages."""
        _check_updates(supersteps)
        return await super().abulk_update_state(config, supersteps)

    def _admit(self, raw: Any, config: RunnableConfig | None) -> tuple[Any, Any]:
        """(input, config) to run with, after the checks; a cancellation is applied here."""
        config = without_forged_keys(config)
        admission = _Admission(self, raw, config)
        config = _with_run_id(config) if admission.top_level else config
        if admission.needs_state and config is not None:
            steps = admission.cancellation_steps(self.get_state(config))
            if steps:
                config = _continue_from(config, self.bulk_update_state(config, steps))
        return admission.run_input, config

    async def _aadmit(self, raw: Any, config: RunnableConfig | None) -> tuple[Any, Any]:
        """`_admit`, with the async state methods."""
        config = without_forged_keys(config)
        admission = _Admission(self, raw, config)
        config = _with_run_id(config) if admission.top_level else config
        if admission.needs_state and config is not None:
            steps = admission.cancellation_steps(await self.aget_state(config))
            if steps:
                config = _continue_from(config, await self.abulk_update_state(config, steps))
        return admission.run_input, config

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """`CompiledStateGraph.stream`, after the boundary checks (see the module)."""
        run_input, run_config = self._admit(input, config)
        if not is_top_level(self, run_config):
            yield from super().stream(run_input, run_config, **kwargs)
            return
        run_config = traced_config(self, run_config, kwargs.get("context"))
        started = clock()
        try:
            yield from super().stream(run_input, run_config, **kwargs)
        except BaseException as exc:
            if observing():
                finish_run(self, run_config or {}, started, "error", exc, kwargs.get("context"))
            raise
        if observing():
            outcome = run_outcome(self, run_config or {})
            finish_run(self, run_config or {}, started, outcome, None, kwargs.get("context"))

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """`CompiledStateGraph.astream`, after the boundary checks (see the module)."""
        run_input, run_config = await self._aadmit(input, config)
        if not is_top_level(self, run_config):
            async for chunk in super().astream(run_input, run_config, **kwargs):
                yield chunk
            return
        run_config = traced_config(self, run_config, kwargs.get("context"))
        started = clock()
        try:
            async for chunk in super().astream(run_input, run_config, **kwargs):
                yield chunk
        except BaseException as exc:
            if observing():
                finish_run(self, run_config or {}, started, "error", exc, kwargs.get("context"))
            raise
        if observing():
            outcome = await arun_outcome(self, run_config or {})
            finish_run(self, run_config or {}, started, outcome, None, kwargs.get("context"))


def _with_run_id(config: RunnableConfig | None) -> RunnableConfig:
    """The config with the run's id in ``configurable`` (a new one when the caller gave none).

    The per-run limits (`nodes.run_budget`) and the usage rows key on it; the server puts its
    run id there itself. The run's clock starts here.
    """
    given: RunnableConfig = config or {}
    configurable = dict(given.get(CONF) or {})
    run_id = str(configurable.get("run_id") or given.get("run_id") or uuid.uuid4())
    configurable["run_id"] = run_id
    start_run(run_id)
    return {**given, CONF: configurable}


def _continue_from(config: RunnableConfig, updated: RunnableConfig) -> RunnableConfig:
    """The run's config after a cancellation, which wrote new checkpoints.

    A run addressed at a checkpoint continues from the one the cancellation wrote; a run
    without a checkpoint id reads the latest anyway.
    """
    checkpoint_id = updated.get(CONF, {}).get("checkpoint_id")
    if not config.get(CONF, {}).get("checkpoint_id") or not checkpoint_id:
        return config
    return {**config, CONF: {**config[CONF], "checkpoint_id": checkpoint_id}}


def behind_boundary(
    compiled: CompiledStateGraph[StateT, ContextT, InputT, OutputT],
) -> BoundaryGraph[StateT, ContextT, InputT, OutputT]:
    """The same compiled graph, as a `BoundaryGraph` (nodes, channels and config shared)."""
    attrs = {key: value for key, value in compiled.__dict__.items() if key != "__orig_class__"}
    return BoundaryGraph(**attrs)
