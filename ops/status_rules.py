"""The one place that decides a run's status from what the tables say about its thread.

A thread's *run status* is read from its newest root checkpoint and the side tables, in
this order (the first rule that holds wins):

1. ``dead_lettered``: the thread has an open dead letter (its retries are exhausted; see
   `checkpointers.dead_letters`), whatever its checkpoints say.
2. ``waiting``: the newest checkpoint carries a pending interrupt (an approval gate, or any
   other `interrupt()`): the run waits for a person.
3. ``failed``: the newest checkpoint carries an error write (a node raised; the thread can be
   resumed from that checkpoint), or the latest run was stopped by a control (a ``run_stop``
   record written after the thread's latest input: a terminal error, every fallback failed,
   a budget, too many invalid calls), or the worker's latest run of the thread is ``failed``
   in the run-status table and no checkpoint was written since.
4. ``running`` / ``stuck``: the checkpoint has next nodes, or a worker's run is ``queued``
   or ``running``. Updated within `DEFAULT_STUCK_AFTER` (or the caller's bound): ``running``;
   older: ``stuck`` (nothing advanced it: a dead process, a lost task), with the age.
5. ``finished``: no next node: the run reached its end.

Budget stops count as failures on purpose: the run did not do what was asked, and an
operator must raise the budget (or accept the stop) before a retry can help.

Example:
    >>> from datetime import UTC, datetime, timedelta
    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> classify(StatusFacts(next_nodes=("call_model",), updated_at=now), now=now)
    'running'
    >>> old = now - timedelta(hours=1)
    >>> classify(StatusFacts(next_nodes=("call_model",), updated_at=old), now=now)
    'stuck'
    >>> classify(StatusFacts(interrupted=True, next_nodes=("approval_gate",)), now=now)
    'waiting'
    >>> classify(StatusFacts(), now=now)
    'finished'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

__all__ = [
    "DEFAULT_STUCK_AFTER",
    "STATUSES",
    "RunState",
    "StatusFacts",
    "classify",
    "parse_status",
]

RunState = Literal["running", "stuck", "waiting", "finished", "failed", "dead_lettered"]
STATUSES: tuple[RunState, ...] = (
    "running",
    "stuck",
    "waiting",
    "failed",
    "dead_lettered",
    "finished",
)
DEFAULT_STUCK_AFTER = timedelta(minutes=10)
"""A run with work left and no checkpoint for this long is reported ``stuck``."""


@dataclass(frozen=True)
class StatusFacts:
    """What the status rules read about one thread.

    Attributes:
        next_nodes: the nodes the newest root checkpoint would run next.
        interrupted: the newest checkpoint carries a pending interrupt.
        error: the error write of the newest checkpoint (a node raised), else None.
        stop: the ``run_stop`` record of the latest run (None when no control stopped it).
        worker_status: the status of the thread's latest run in the run-status table.
        worker_updated_at: when that row last changed.
        dead_lettered: the thread has an open dead letter.
        updated_at: when the newest checkpoint was written.
    """

    next_nodes: tuple[str, ...] = ()
    interrupted: bool = False
    error: str | None = None
    stop: dict[str, Any] | None = None
    worker_status: str | None = None
    worker_updated_at: datetime | None = None
    dead_lettered: bool = False
    updated_at: datetime | None = None


def _worker_failed_last(facts: StatusFacts) -> bool:
    """The worker's latest run failed, and no checkpoint was written after it did."""
    if facts.worker_status != "failed":
        return False
    if facts.worker_updated_at is None or facts.updated_at is None:
        return True
    return facts.worker_updated_at >= facts.updated_at


def _latest_activity(facts: StatusFacts) -> datetime | None:
    times = [t for t in (facts.updated_at, facts.worker_updated_at) if t is not None]
    return max(times) if times else None


def classify(
    facts: StatusFacts, *, now: datetime, stuck_after: timedelta = DEFAULT_STUCK_AFTER
) -> RunState:
    """The run status of a thread (see the module docs for the rules and their order).

    Args:
        facts: what the checkpoints and side tables say.
        now: the time to measure ages against (timezone-aware).
        stuck_after: how long a run with work left may go without a checkpoint.
    """
    if facts.dead_lettered:
        return "dead_lettered"
    if facts.interrupted:
        return "waiting"
    if facts.error is not None or facts.stop is not None or _worker_failed_last(facts):
        return "failed"
    if facts.next_nodes or facts.worker_status in ("queued", "running"):
        last = _latest_activity(facts)
        return "stuck" if last is not None and now - last > stuck_after else "running"
    return "finished"


def parse_status(value: str | None) -> RunState | None:
    """A status filter as given by a user (None: any), checked.

    Raises:
        ValueError: not one of `STATUSES`, with the accepted values.
    """
    if value is None or value == "":
        return None
    normalised = value.strip().lower().replace("-", "_")
    for status in STATUSES:
        if status == normalised:
            return status
    raise ValueError(f"unknown run status {value!r}: use one of {', '.join(STATUSES)}")
