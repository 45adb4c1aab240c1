"""The run list: every thread's latest run by status, graph, owner and time, a page at a time.

One query reads the newest root checkpoint of each thread (`ops.latest_checkpoints`), one
per side table adds the worker's latest run, the usage totals and open dead letters
(`ops.thread_facts`), and `ops.status_rules.classify` names the status. A waiting run
carries what it waits for: the action, how long ago it was requested and the approval's
deadline (when the gate has one), and whether that deadline has passed.

Example:
    >>> from langgraph.checkpoint.memory import InMemorySaver
    >>> list_runs(InMemorySaver()).to_dict()["runs"]
    []
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.run_status import RunRecord
from graphs.errors import UnknownThreadError
from ops.latest_checkpoints import LatestCheckpoint, ThreadFilter, latest_checkpoints
from ops.status_rules import DEFAULT_STUCK_AFTER, RunState, StatusFacts, classify, parse_status
from ops.thread_facts import ThreadFacts, run_dict, runs_without_checkpoints, thread_facts

__all__ = [
    "MAX_LIMIT",
    "RunPage",
    "RunSummary",
    "json_safe",
    "list_runs",
    "pending_requests",
    "run_summary",
    "summarize",
    "summarize_unstarted",
]

MAX_LIMIT = 1000


def json_safe(value: Any) -> Any:
    """`value` with anything JSON cannot hold (times, objects) turned into strings."""
    return json.loads(json.dumps(value, default=str))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _age_s(then: datetime | None, now: datetime) -> float | None:
    return round((now - then).total_seconds(), 3) if then is not None else None


def pending_requests(interrupts: list[Any], now: datetime) -> list[dict[str, Any]]:
    """What the pending interrupts ask for, one dict per request (approval gates in full).

    Each has ``interrupt_id``, ``action``, ``args``, ``requested_at``, ``age_s``,
    ``deadline``, ``expired``, ``escalated``, ``description`` and the whole ``request``.
    """
    found: list[dict[str, Any]] = []
    for item in interrupts:
        value = getattr(item, "value", item)
        requests = value if isinstance(value, list) else [value]
        for found_request in requests:
            request = found_request if isinstance(found_request, dict) else {"value": found_request}
            action = request.get("action_request") or {}
            requested = request.get("requested_at")
            deadline = request.get("deadline")
            when = datetime.fromisoformat(requested) if requested else None
            found.append(
                {
                    "interrupt_id": getattr(item, "id", None),
                    "action": action.get("action"),
                    "args": action.get("args"),
                    "requested_at": requested,
                    "age_s": _age_s(when, now),
                    "deadline": deadline,
                    "expired": bool(deadline) and now > datetime.fromisoformat(str(deadline)),
                    "escalated": bool(request.get("escalated")),
                    "description": request.get("description"),
                    "request": request,
                }
            )
    return found


@dataclass(frozen=True)
class RunSummary:
    """One thread's latest run, as the list shows it (`to_dict` is JSON-safe)."""

    thread_id: str
    graph_id: str
    owner: str | None
    status: RunState
    created_at: datetime | None
    updated_at: datetime | None
    age_s: float | None
    """Seconds since the thread last advanced (a checkpoint or the worker's run row)."""
    checkpoint_id: str
    step: int | None
    next_nodes: tuple[str, ...]
    error: str | None
    waiting_for: list[dict[str, Any]] = field(default_factory=list)
    worker_run: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    dead_letter: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-safe values (times in ISO 8601)."""
        data = asdict(self)
        data["created_at"], data["updated_at"] = _iso(self.created_at), _iso(self.updated_at)
        data["next_nodes"] = list(self.next_nodes)
        data["waiting_for"] = [
            {k: v for k, v in r.items() if k != "request"} for r in self.waiting_for
        ]
        return json_safe(data)


def _worker_dict(facts: ThreadFacts, thread_id: str) -> dict[str, Any] | None:
    record = facts.runs.get(thread_id)
    return run_dict(record) if record is not None else None


def _error(latest: LatestCheckpoint, facts: ThreadFacts) -> str | None:
    letter = facts.dead_letters.get(latest.thread_id)
    if letter is not None:
        return str(letter.get("error") or "") or None
    if latest.error is not None:
        return latest.error
    if latest.stop is not None:
        return f"{latest.stop.get('kind')}: {latest.stop.get('reason')}"
    record = facts.runs.get(latest.thread_id)
    return record.error if record is not None and record.status == "failed" else None


def summarize(
    latest: LatestCheckpoint, facts: ThreadFacts, *, now: datetime, stuck_after: timedelta
) -> RunSummary:
    """A thread's `RunSummary` from its newest checkpoint and the side tables' facts."""
    record = facts.runs.get(latest.thread_id)
    status_facts = StatusFacts(
        next_nodes=latest.next_nodes,
        interrupted=bool(latest.interrupts),
        error=latest.error,
        stop=latest.stop,
        worker_status=record.status if record else None,
        worker_updated_at=record.updated_at if record else None,
        dead_lettered=latest.thread_id in facts.dead_letters,
        updated_at=latest.updated_at,
    )
    times = [t for t in (latest.updated_at, record.updated_at if record else None) if t]
    return RunSummary(
        thread_id=latest.thread_id,
        graph_id=latest.graph_id,
        owner=latest.owner,
        status=classify(status_facts, now=now, stuck_after=stuck_after),
        created_at=latest.created_at,
        updated_at=latest.updated_at,
        age_s=_age_s(max(times), now) if times else None,
        checkpoint_id=latest.checkpoint_id,
        step=latest.step,
        next_nodes=latest.next_nodes,
        error=_error(latest, facts),
        waiting_for=pending_requests(latest.interrupts, now),
        worker_run=_worker_dict(facts, latest.thread_id),
        usage=facts.usage.get(latest.thread_id),
        dead_letter=facts.dead_letters.get(latest.thread_id),
    )


def summarize_unstarted(record: RunRecord, *, now: datetime, stuck_after: timedelta) -> RunSummary:
    """A thread known only from its worker run (no checkpoint yet: see `ops.thread_facts`)."""
    facts = StatusFacts(worker_status=record.status, worker_updated_at=record.updated_at)
    status = classify(facts, now=now, stuck_after=stuck_after)
    return RunSummary(
        thread_id=record.thread_id,
        graph_id=record.graph_id,
        owner=None,
        status=status,
        created_at=record.queued_at,
        updated_at=record.updated_at,
        age_s=_age_s(record.updated_at, now),
        checkpoint_id="",
        step=None,
        next_nodes=(),
        error=record.error if status == "failed" else None,
        worker_run=run_dict(record),
    )


def _newest_first(summary: RunSummary) -> tuple[float, str]:
    stamp = summary.updated_at.timestamp() if summary.updated_at else 0.0
    return (-stamp, summary.thread_id)


@dataclass(frozen=True)
class RunPage:
    """A page of the run list, with the counts by status of everything the filters matched."""

    runs: list[RunSummary]
    total: int
    counts: dict[str, int]
    offset: int
    limit: int

    def to_dict(self) -> dict[str, Any]:
        """The page as JSON-safe values."""
        return {
            "runs": [r.to_dict() for r in self.runs],
            "total": self.total,
            "counts": dict(self.counts),
            "offset": self.offset,
            "limit": self.limit,
        }


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")


def list_runs(
    checkpointer: BaseCheckpointSaver,
    *,
    status: str | None = None,
    graph: str | None = None,
    owner: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> RunPage:
    """The threads' latest runs, most recently updated first.

    Args:
        checkpointer: the saver the threads live in (Postgres: one query for all threads).
        status: only runs in this status (`ops.status_rules.STATUSES`).
        graph: only threads of this graph id.
        owner: only threads of this user (the ``owner`` the server's auth stamps).
        since: only threads updated at or after this time.
        before: only threads updated before this time.
        limit: page size (1 to `MAX_LIMIT`).
        offset: runs to skip (paging).
        now: the time ages are measured against (default: now, UTC).
        stuck_after: how long a run with work left may go without advancing.

    Raises:
        ValueError: an unknown status, or a bad page.
    """
    wanted_status = parse_status(status)
    _check_page(limit, offset)
    now = now or datetime.now(UTC)
    wanted = ThreadFilter(graph=graph, owner=owner, since=since, before=before)
    latest = latest_checkpoints(checkpointer, wanted)
    facts = thread_facts(checkpointer, [item.thread_id for item in latest])
    summaries = [summarize(item, facts, now=now, stuck_after=stuck_after) for item in latest]
    unstarted = runs_without_checkpoints(checkpointer, wanted)
    if unstarted:
        summaries.extend(
            summarize_unstarted(r, now=now, stuck_after=stuck_after) for r in unstarted
        )
        summaries.sort(key=_newest_first)
    counts = Counter(str(s.status) for s in summaries)
    if wanted_status is not None:
        summaries = [s for s in summaries if s.status == wanted_status]
    return RunPage(
        runs=summaries[offset : offset + limit],
        total=len(summaries),
        counts=dict(counts),
        offset=offset,
        limit=limit,
    )


def run_summary(
    checkpointer: BaseCheckpointSaver,
    thread_id: str,
    *,
    owner: str | None = None,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> RunSummary:
    """One thread's `RunSummary` (what the list shows for it).

    Raises:
        UnknownThreadError: no such thread (or not `owner`'s).
    """
    now = now or datetime.now(UTC)
    wanted = ThreadFilter(thread_id=thread_id, owner=owner)
    found = latest_checkpoints(checkpointer, wanted)
    if found:
        facts = thread_facts(checkpointer, [thread_id])
        return summarize(found[0], facts, now=now, stuck_after=stuck_after)
    for record in runs_without_checkpoints(checkpointer, wanted):
        return summarize_unstarted(record, now=now, stuck_after=stuck_after)
    raise UnknownThreadError(thread_id)
