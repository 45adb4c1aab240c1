"""A run's timeline: what happened in a thread, step by step, from every record kept of it.

Sources, merged in time order:

- **steps**, from the thread's root checkpoints (the current branch: the newest checkpoint
  and its parents): each checkpoint names the nodes its step will run, so step *n* ran those
  nodes from checkpoint *n*'s time (start) to checkpoint *n+1*'s (end);
- **tool calls** and **approvals**, from the effect ledger (`checkpointers.ledger`): each
  side-effecting call with its status, attempts and result; each bound decision with its
  reviewer and reason;
- **model calls**, from the usage table (`checkpointers.usage`): role, model, tokens, cost,
  attempts (a call recorded more than once was retried);
- **worker runs**, from the run-status table: queued, worker, attempts, outcome or error;
- **fallbacks** kept in state (``fallbacks``), the **stop** record of a control
  (``run_stop``), a pending **interrupt** and the **error** of a node that raised.

An event's ``retries`` counts repeated attempts (ledger, usage and worker attempts beyond the
first); the timeline's ``retries`` is their sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

from checkpointers.ledger import default_ledger
from checkpointers.usage import default_usage_log
from graphs.errors import UnknownThreadError
from ops.latest_checkpoints import OWNER_KEY, TASKS_CHANNEL, next_nodes
from ops.run_list import json_safe
from ops.thread_facts import worker_runs

__all__ = ["Timeline", "checkpoint_chain", "run_timeline"]


@dataclass(frozen=True)
class Timeline:
    """A thread's events, oldest first (`to_dict` is JSON-safe)."""

    thread_id: str
    graph_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The step events only."""
        return [e for e in self.events if e["kind"] == "step"]

    def to_dict(self) -> dict[str, Any]:
        """The timeline as JSON-safe values, with its step count and retries."""
        return json_safe(
            {
                "thread_id": self.thread_id,
                "graph_id": self.graph_id,
                "steps": len(self.steps),
                "retries": sum(int(e.get("retries") or 0) for e in self.events),
                "events": self.events,
            }
        )


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _span(start: Any, end: Any) -> dict[str, Any]:
    begin, finish = _time(start), _time(end)
    duration = (finish - begin).total_seconds() if begin and finish else None
    return {"at": begin, "end": finish, "duration_s": duration}


def checkpoint_chain(saver: BaseCheckpointSaver, thread_id: str) -> list[CheckpointTuple]:
    """The thread's current branch of root checkpoints, oldest first."""
    items = list(saver.list({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}))
    by_id = {str(item.checkpoint["id"]): item for item in items}
    if not by_id:
        return []
    current: CheckpointTuple | None = by_id[max(by_id)]
    chain: list[CheckpointTuple] = []
    while current is not None:
        chain.append(current)
        parent = (current.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        current = by_id.get(str(parent)) if parent else None
    return chain[::-1]


def _steps(chain: list[CheckpointTuple]) -> list[dict[str, Any]]:
    events = []
    for item, following in zip(chain, chain[1:], strict=False):
        values = item.checkpoint.get("channel_values") or {}
        nodes = next_nodes(
            values, item.checkpoint.get("updated_channels"), values.get(TASKS_CHANNEL)
        )
        events.append(
            {
                "kind": "step",
                "step": (following.metadata or {}).get("step"),
                "nodes": list(nodes),
                "checkpoint_id": str(following.checkpoint["id"]),
                "run_id": (following.metadata or {}).get("run_id"),
                **_span(item.checkpoint.get("ts"), following.checkpoint.get("ts")),
            }
        )
    return events


def _ledger_events(saver: BaseCheckpointSaver, thread_id: str) -> list[dict[str, Any]]:
    ledger = default_ledger(saver)
    events: list[dict[str, Any]] = []
    for entry in ledger.entries(thread_id):
        events.append(
            {
                "kind": "tool_call",
                "tool": entry.tool,
                "tool_call_id": entry.tool_call_id,
                "args": entry.args,
                "status": entry.status,
                "result_status": entry.result_status,
                "result": (entry.result or "")[:500],
                "attempts": entry.attempts,
                "retries": max(entry.attempts - 1, 0),
                **_span(entry.started_at, entry.completed_at),
            }
        )
    for decision in ledger.decisions(thread_id):
        events.append(
            {
                "kind": "approval",
                "tool_call_id": decision.get("tool_call_id"),
                "tool": decision.get("action") or decision.get("tool"),
                "decision": decision.get("decision"),
                "reviewer": decision.get("reviewer"),
                "reason": decision.get("reason"),
                **_span(decision.get("decided_at"), None),
            }
        )
    return events


def _usage_events(saver: BaseCheckpointSaver, thread_id: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": "model_call",
            "role": row.role,
            "model": row.model,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "total_tokens": row.total_tokens,
            "cost_usd": row.cost_usd,
            "attempts": row.attempts,
            "retries": max(row.attempts - 1, 0),
            "run_id": row.run_id,
            **_span(row.recorded_at, None),
        }
        for row in default_usage_log(saver).rows(thread_id=thread_id)
    ]


def _worker_events(saver: BaseCheckpointSaver, thread_id: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": "worker_run",
            **{k: run[k] for k in ("run_id", "status", "worker", "attempts", "error", "queue")},
            "outcome": (run.get("outcome") or "")[:500],
            "retries": max(int(run["attempts"] or 0) - 1, 0),
            **_span(run["started_at"] or run["queued_at"], run["updated_at"]),
        }
        for run in worker_runs(saver, thread_id)
    ]


def _state_events(latest: CheckpointTuple) -> list[dict[str, Any]]:
    values = latest.checkpoint.get("channel_values") or {}
    events = [
        {**record, "kind": "fallback", **_span(record.get("at"), None)}
        for record in values.get("fallbacks") or []
        if isinstance(record, dict)
    ]
    stop = values.get("run_stop")
    if isinstance(stop, dict):
        events.append(
            {**stop, "stop_kind": stop.get("kind"), "kind": "stop", **_span(stop.get("at"), None)}
        )
    due = next_nodes(values, latest.checkpoint.get("updated_channels"), values.get(TASKS_CHANNEL))
    for _task, channel, value in latest.pending_writes or ():
        at = {"nodes": list(due), **_span(latest.checkpoint.get("ts"), None)}
        if channel == "__error__":
            events.append({"kind": "error", "error": str(value), **at})
        elif channel == "__interrupt__":
            events.append({"kind": "interrupt", "value": getattr(value, "value", value), **at})
    return events


def run_timeline(
    checkpointer: BaseCheckpointSaver, thread_id: str, *, owner: str | None = None
) -> Timeline:
    """The thread's timeline (see the module docs), oldest event first.

    Raises:
        UnknownThreadError: no such thread (or not `owner`'s).
    """
    chain = checkpoint_chain(checkpointer, thread_id)
    if not chain or (owner is not None and (chain[-1].metadata or {}).get(OWNER_KEY) != owner):
        raise UnknownThreadError(thread_id)
    latest = checkpointer.get_tuple(chain[-1].config) or chain[-1]
    events = [
        *_steps(chain),
        *_ledger_events(checkpointer, thread_id),
        *_usage_events(checkpointer, thread_id),
        *_worker_events(checkpointer, thread_id),
        *_state_events(latest),
    ]
    events.sort(key=lambda e: (e["at"] is None, e["at"].timestamp() if e["at"] else 0))
    graph_id = str((latest.metadata or {}).get("graph_id") or "react")
    return Timeline(thread_id=thread_id, graph_id=graph_id, events=events)
