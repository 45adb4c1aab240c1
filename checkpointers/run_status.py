"""The run-status table: what happened to each run the workers were given.

A run is one task (`workers.tasks.advance_thread`): a thread's new input, or the resume of an
approval. Its row moves ``queued`` (the client submitted it) -> ``running`` (a worker holds the
thread's lock; ``attempts`` counts deliveries, so a run redelivered after a dead worker shows 2)
-> ``waiting`` (stopped at an approval gate), ``finished`` or ``failed``. ``worker`` and
``worker_pid`` name the last process that ran it; ``outcome`` is the final answer or the
pending approval; ``error`` why it failed.

Every change is also announced as a progress event (`RunEvent`) on the thread's Postgres
``LISTEN/NOTIFY`` channel (`run_channel`), together with events that are only announced
(``step``: a graph step completed; ``busy``: the thread was locked, the run will retry), so a
client follows a run without polling (`checkpointers.run_status_postgres`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from checkpointers.run_status_postgres import PostgresRunStatusTable

__all__ = [
    "FINAL_STATUSES",
    "RUN_STATUSES",
    "RunEvent",
    "RunRecord",
    "RunStatus",
    "RunStatusTable",
    "run_channel",
]

RunStatus = Literal["queued", "running", "waiting", "finished", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("queued", "running", "waiting", "finished", "failed")
FINAL_STATUSES: frozenset[str] = frozenset({"waiting", "finished", "failed"})
"""Statuses after which the run's worker is done with it (``waiting``: until a resume run)."""


@dataclass(frozen=True)
class RunRecord:
    """One row of the run-status table."""

    run_id: str
    thread_id: str
    graph_id: str
    status: RunStatus
    queue: str = ""
    worker: str | None = None
    worker_pid: int | None = None
    attempts: int = 0
    outcome: str | None = None
    error: str | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def done(self) -> bool:
        """True when no worker will touch this run again (waiting, finished or failed)."""
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class RunEvent:
    """A progress event of a run, as announced on its thread's channel.

    Attributes:
        kind: ``status`` (the row changed: see `status`), ``step`` (a step completed: `name`)
            or ``busy`` (another run holds the thread; this one retries later).
        run_id: the run.
        status: the row's status after a ``status`` event.
        name: the completed step of a ``step`` event.
        detail: anything else the event carried.
    """

    kind: Literal["status", "step", "busy"]
    run_id: str
    status: str | None = None
    name: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def run_channel(thread_id: str) -> str:
    """The thread's ``LISTEN/NOTIFY`` channel (a safe identifier whatever the thread id)."""
    return "agent_patterns_run_" + hashlib.sha1(thread_id.encode()).hexdigest()[:24]


def RunStatusTable(url: str) -> PostgresRunStatusTable:  # noqa: N802 - a factory named like the class it returns
    """The run-status table in the Postgres database at `url` (created on first use).

    Returns:
        A `checkpointers.run_status_postgres.PostgresRunStatusTable`.

    Raises:
        ValueError: `url` is not a ``postgresql://`` URL (workers need Postgres).
    """
    from checkpointers.run_status_postgres import PostgresRunStatusTable

    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            f"the run-status table needs Postgres (a postgresql:// URL), not {url!r}: "
            "set DATABASE_URL"
        )
    return PostgresRunStatusTable(url)
