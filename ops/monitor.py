"""The run monitor's Python API: list runs, one run's detail, its timeline, retry, fork.

Plain functions over a checkpointer (Postgres, SQLite or in memory) returning dataclasses
with a JSON-safe ``to_dict()`` (or dicts), so the CLI (``agent-patterns runs``) and the
HTTP routes under ``/ops/api/`` serve the same answers. Every function takes an optional
``owner``: given, only that user's threads exist for it (a thread of another user is "no
such thread", so its existence does not leak).

- `list_runs` (`ops.run_list`): threads by status (`ops.status_rules`), graph, owner, time;
- `run_detail` (here): status, times, last error, the pending approval request in full
  (hitl's case, facts, recommendation and policy evidence too), usage totals, worker runs;
- `run_timeline` (`ops.timeline`): steps, tool calls, approvals, model calls, worker runs,
  fallbacks, stops and errors, in time order;
- `retry_run` (`ops.retry`): continue a failed run from its last good checkpoint;
- `fork_thread` (`ops.fork`): copy a thread as of any checkpoint into a new thread, with an
  edited state, inheriting completed effects but no approvals;
- `thread_graph` (`ops.retry`): a thread's served graph that keeps its owner on a retry.

A thread that does not exist raises `UnknownThreadError` (`graphs.errors`, re-exported
here for callers that do not import graphs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.errors import UnknownThreadError
from ops.fork import ForkResult, fork_thread
from ops.latest_checkpoints import ThreadFilter, latest_checkpoints
from ops.retry import RetryResult, retry_run, thread_graph
from ops.run_list import (
    RunPage,
    RunSummary,
    json_safe,
    list_runs,
    pending_requests,
    run_summary,
    summarize,
)
from ops.status_rules import DEFAULT_STUCK_AFTER, STATUSES
from ops.thread_facts import thread_facts, worker_runs
from ops.timeline import Timeline, run_timeline

__all__ = [
    "STATUSES",
    "EVIDENCE_KEYS",
    "ForkResult",
    "RetryResult",
    "RunPage",
    "RunSummary",
    "Timeline",
    "UnknownThreadError",
    "fork_thread",
    "list_runs",
    "retry_run",
    "run_detail",
    "run_summary",
    "run_timeline",
    "thread_graph",
]

EVIDENCE_KEYS = ("case", "facts", "recommendation", "policy", "outcome")
"""State fields a reviewer needs beside the request (hitl's case, facts, recommendation and
policy checks), shown with a pending approval when the thread's graph keeps them."""


def _evidence(checkpointer: BaseCheckpointSaver, thread_id: str) -> dict[str, Any]:
    latest = checkpointer.get_tuple({"configurable": {"thread_id": thread_id}})
    values = latest.checkpoint.get("channel_values", {}) if latest else {}
    return {key: values[key] for key in EVIDENCE_KEYS if values.get(key) is not None}


def run_detail(
    checkpointer: BaseCheckpointSaver,
    thread_id: str,
    *,
    owner: str | None = None,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> dict[str, Any]:
    """One run in detail, as JSON-safe values.

    The `RunSummary` fields, plus ``pending`` (each pending request in full: the Agent Inbox
    request with its description, which carries hitl's recommendation and policy checks),
    ``evidence`` (the state fields of `EVIDENCE_KEYS` the graph keeps), ``stop`` (why a
    control stopped the latest run) and ``worker_runs`` (every run of the thread a worker
    was given, oldest first).

    Raises:
        UnknownThreadError: no such thread (or not `owner`'s).
    """
    now = now or datetime.now(UTC)
    found = latest_checkpoints(checkpointer, ThreadFilter(thread_id=thread_id, owner=owner))
    if not found:  # a run a worker was given that wrote no checkpoint yet, or nothing
        summary = run_summary(checkpointer, thread_id, owner=owner, now=now)
        detail = {**summary.to_dict(), "pending": [], "evidence": {}, "stop": None}
    else:
        latest = found[0]
        facts = thread_facts(checkpointer, [thread_id])
        detail = summarize(latest, facts, now=now, stuck_after=stuck_after).to_dict()
        detail["pending"] = json_safe(pending_requests(latest.interrupts, now))
        detail["evidence"] = json_safe(_evidence(checkpointer, thread_id))
        detail["stop"] = json_safe(latest.stop)
    detail["worker_runs"] = worker_runs(checkpointer, thread_id)
    return detail
