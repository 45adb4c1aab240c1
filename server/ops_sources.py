"""Where the operations API's data come from, read with the server's own checkpointer.

Every function here is blocking (database work, sometimes a graph run): `server.ops_routes`
calls them in a worker thread so the server's event loop keeps serving. They take the
caller's scope as plain arguments (an owner filter, the actor's user id) decided by
`server.ops_access`; none of them trusts a client's field for identity.

- runs, a run's detail and timeline, retry: the run monitor (`ops.monitor`, `ops.retry`);
- dead letters: `ops.dead_letters`;
- budgets: `ops.budgets`; circuit breakers: `checkpointers.breakers`.

The saver is opened once per server process on the URL the server's checkpointer uses
(`server.checkpointer.server_checkpointer_url`), so these tables are the ones the graphs
write.
"""

from __future__ import annotations

import atexit
import math
import threading
from contextlib import ExitStack
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.breakers import default_breaker_store
from checkpointers.dead_letters import DeadLetterError, DeadLetterStore, default_dead_letters
from checkpointers.factory import open_checkpointer
from ops import monitor
from ops.budgets import budget_overview
from ops.dead_letters import discard_letter, retry_letter
from ops.retry import RetryError
from server.checkpointer import server_checkpointer_url

__all__ = [
    "breakers",
    "budgets",
    "dead_letter",
    "dead_letters",
    "discard_dead_letter",
    "fork_run",
    "jsonable",
    "reset_breaker",
    "retry_dead_letter",
    "retry_run",
    "run_detail",
    "run_timeline",
    "runs",
    "saver",
]

_lock = threading.Lock()
_opened: dict[str, BaseCheckpointSaver] = {}
_stack = ExitStack()
atexit.register(_stack.close)


def saver() -> BaseCheckpointSaver:
    """The server's checkpointer as a synchronous saver (opened on first use, then shared)."""
    url = server_checkpointer_url()
    with _lock:
        if url not in _opened:
            _opened[url] = _stack.enter_context(open_checkpointer(url))
        return _opened[url]


def jsonable(value: Any) -> Any:
    """`value` as JSON-safe data: dataclasses and ``to_dict()`` objects, times as ISO text."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def budgets(user_id: str | None) -> list[dict[str, Any]]:
    """Caps and spend per scope: those that apply to `user_id`, or every scope (None)."""
    shown = budget_overview(saver(), user_id)
    return [
        {"scope": scope, "caps": jsonable(caps), "spend": jsonable(spend)}
        for scope, caps, spend in shown
    ]


def breakers() -> list[dict[str, Any]]:
    """Every circuit breaker the server's processes share (state, failures, last error)."""
    return [jsonable(state) for state in default_breaker_store(saver()).states()]


def reset_breaker(key: str) -> bool:
    """Close a breaker by forgetting it; False when there was none."""
    return default_breaker_store(saver()).reset(key)


def _thread_graph(graph_id: str, thread_id: str | None) -> Any:
    """The thread's served graph on the server's saver, keeping the thread's owner and graph.

    A retry runs here, outside LangGraph's runs API (`ops.monitor.thread_graph`).
    """
    return monitor.thread_graph(saver(), graph_id, thread_id)


def _letters() -> DeadLetterStore:
    return default_dead_letters(saver())


def dead_letters(*, owner: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Dead letters, newest first; with `owner`, only that user's.

    Raises:
        DeadLetterError: an unknown status filter.
    """
    fetched = _letters().list(status=status, limit=limit if owner is None else 10 * limit)
    mine = [letter for letter in fetched if owner is None or letter.owner == owner]
    return [jsonable(letter) for letter in mine[:limit]]


def dead_letter(letter_id: str) -> dict[str, Any] | None:
    """One dead letter, or None."""
    letter = _letters().get(letter_id)
    return None if letter is None else jsonable(letter)


def retry_dead_letter(letter_id: str, *, actor: str, model: str | None) -> dict[str, Any]:
    """Claim a letter ``retried`` by `actor` and continue its thread; the letter and the run.

    Raises:
        DeadLetterError: the letter is not open, or its thread has nothing to retry.
    """
    letter = _letters().get(letter_id)
    if letter is None:
        raise LookupError(f"dead letter {letter_id} not found")
    if not letter.graph_id:
        raise DeadLetterError(f"dead letter {letter_id} names no graph to retry with")
    graph = _thread_graph(letter.graph_id, letter.thread_id)
    run_status = "finished"
    try:
        retry_letter(graph, letter_id, by=actor, model=model, store=_letters())
    except DeadLetterError:
        raise
    except Exception as exc:  # the retry failed again: a new letter was written
        run_status = f"failed again: {type(exc).__name__}: {exc}"
    state = graph.get_state({"configurable": {"thread_id": letter.thread_id}})
    if run_status == "finished" and state.next:
        run_status = "waiting" if state.interrupts else "running"
    return {**(dead_letter(letter_id) or {}), "run_status": run_status}


def discard_dead_letter(letter_id: str, *, actor: str, reason: str) -> dict[str, Any]:
    """Discard an open letter, recording `actor` and `reason`.

    Raises:
        DeadLetterError: no reason, or the letter is not open.
    """
    return jsonable(discard_letter(_letters(), letter_id, by=actor, reason=reason))


def _when(text: str | None) -> datetime | None:
    """An ISO 8601 time from a query (naive means UTC).

    Raises:
        ValueError: not an ISO 8601 time.
    """
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"since must be an ISO 8601 time such as 2026-01-31T12:00, not {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def runs(
    *, owner: str | None, status: str | None, graph: str | None, since: str | None, limit: int
) -> dict[str, Any]:
    """A page of the run list (runs, total, counts by status); with `owner`, only theirs.

    Raises:
        ValueError: an unknown status or a bad time.
    """
    page = monitor.list_runs(
        saver(), status=status, graph=graph, owner=owner, since=_when(since), limit=limit
    )
    return jsonable(page.to_dict())


def run_detail(thread_id: str) -> dict[str, Any] | None:
    """One run in detail (`ops.monitor.run_detail`: pending requests in full, evidence, usage).

    None for a thread the checkpointer does not hold.
    """
    try:
        return jsonable(monitor.run_detail(saver(), thread_id))
    except monitor.UnknownThreadError:
        return None


def run_timeline(thread_id: str) -> dict[str, Any]:
    """A thread's timeline, oldest event first (`ops.monitor.run_timeline`).

    Raises:
        LookupError: no such thread.
    """
    try:
        return jsonable(monitor.run_timeline(saver(), thread_id))
    except monitor.UnknownThreadError:
        raise LookupError(f"thread {thread_id} not found") from None


def retry_run(thread_id: str, *, model: str | None, actor: str) -> dict[str, Any]:
    """Continue a failed or stuck run from its last good checkpoint (`ops.monitor.retry_run`).

    Raises:
        RetryError: the run is not failed or stuck (waiting, finished, dead-lettered).
    """
    summary = monitor.run_summary(saver(), thread_id)
    graph = _thread_graph(summary.graph_id, thread_id)
    try:
        result = jsonable(monitor.retry_run(saver(), thread_id, model, graph=graph))
    except RetryError:
        raise
    except Exception as exc:  # the run failed again: its thread shows the new failure
        after = monitor.run_summary(saver(), thread_id)
        error = f"{type(exc).__name__}: {exc}"
        result = {"thread_id": thread_id, "status": after.status, "error": error}
    return {"retried_by": actor, **result}


def fork_run(thread_id: str, checkpoint_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Copy a thread as of `checkpoint_id` into a new thread of the same owner, edited.

    The fork inherits completed effects, never approvals of calls not yet run
    (`ops.fork.fork_thread`).

    Raises:
        ForkError: no such checkpoint, or an edit names a field the graph does not have.
    """
    return jsonable(monitor.fork_thread(saver(), thread_id, checkpoint_id, values or None))
