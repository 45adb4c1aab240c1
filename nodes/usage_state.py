"""Adding a task's usage to state only when the task succeeds.

A write a node makes while it runs is saved with its error when the node then fails, and
LangGraph treats a failed task that has any output write as finished: on resume it would not
run again. So `nodes.usage` does not write the usage of a call at once. It stages it here,
under the run of the task (the LangGraph task's own callback run, the parent run of the
node's config), and `UsageFlush`, a callback handler registered once for every callback
manager of the process, writes the staged totals into the task's writes when that run ends
(after the node's own writes, before LangGraph commits them), or drops them when it fails.
When the task's run ends or fails, its call index (`call_index`) is reset too, so a task
retried in-process numbers its calls from 0 again, as a re-run in another process does.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from state.usage import UsageTotals, add_usage

__all__ = ["UsageFlush", "call_index", "stage_usage"]


@dataclass
class _Staged:
    writes: Any  # the task's writes deque (cleared by LangGraph when the task is retried)
    send: Callable[[list[tuple[str, Any]]], Any] | None
    channel: str
    totals: UsageTotals | None = None


_lock = threading.Lock()
_staged: dict[UUID, _Staged] = {}
_counters: dict[int, tuple[Any, itertools.count[int]]] = {}


def call_index(writes: Any) -> int:
    """The next call index of the task whose writes deque this is (0, 1, ...)."""
    with _lock:
        entry = _counters.get(id(writes))
        if entry is None or entry[0] is not writes:
            entry = (writes, itertools.count())
            _counters[id(writes)] = entry
        return next(entry[1])


def stage_usage(
    run_id: UUID,
    writes: Any,
    send: Callable[[list[tuple[str, Any]]], Any] | None,
    channel: str,
    totals: UsageTotals | None,
) -> None:
    """Stage one call's totals for the task run `run_id` (None: only track the task).

    Args:
        run_id: the task's callback run (``config["callbacks"].parent_run_id`` in a node).
        writes: the task's writes deque.
        send: the task's write function; None when the graph has no usage channel.
        channel: the state field to add to.
        totals: the call's totals.
    """
    with _lock:
        staged = _staged.setdefault(run_id, _Staged(writes=writes, send=send, channel=channel))
        if totals is not None:
            staged.totals = add_usage(staged.totals, totals)


def _is_task_run(tags: Any) -> bool:
    """Whether a run is a LangGraph task's own (tagged ``graph:step:<n>``)."""
    return any(str(tag).startswith("graph:step:") for tag in tags or ())


def _forget(run_id: UUID, tags: Any) -> _Staged | None:
    with _lock:
        staged = _staged.pop(run_id, None)
        if staged is not None and _is_task_run(tags):
            _counters.pop(id(staged.writes), None)
    return staged


class UsageFlush(BaseCallbackHandler):
    """Writes a task's staged usage when its run ends; drops it when the run fails."""

    run_inline = True

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """The task's run ended: add its staged totals to its writes."""
        if run_id not in _staged:  # every chain run of the process ends here: stay cheap
            return
        staged = _forget(run_id, kwargs.get("tags"))
        if staged is not None and staged.send is not None and staged.totals:
            staged.send([(staged.channel, staged.totals)])

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The task's run failed: its calls are in the table, not in state."""
        if run_id in _staged:
            _forget(run_id, kwargs.get("tags"))


# The default (not a value set in one context) so that every thread and task sees it; the
# handler is one shared, stateless object.
_FLUSH: ContextVar[UsageFlush | None] = ContextVar(
    "agent_patterns_usage_flush",
    default=UsageFlush(),  # noqa: B039
)
register_configure_hook(_FLUSH, True)
