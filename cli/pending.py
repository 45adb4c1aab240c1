"""The approval queue: what waits at an approval gate, in every thread or in one.

Threads are found by `checkpointers.waiting_threads.waiting_thread_ids` (a query, so an old
approval is found however many checkpoints are newer); each is then read through its own
graph (``get_state``), which says what exactly waits. A thread that cannot be read (a damaged
row, a graph this version cannot load) is reported, not fatal: the rest are still listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.waiting_threads import waiting_thread_ids
from graphs._pending import unique_interrupts
from graphs.errors import UnknownThreadError
from graphs.registry import build_graph

__all__ = [
    "ApprovalQueue",
    "PendingApproval",
    "UnreadableThread",
    "pending_approvals",
    "scan_approvals",
    "thread_approvals",
]


@dataclass(frozen=True)
class PendingApproval:
    """One request waiting at an approval gate."""

    thread_id: str
    graph_id: str
    interrupt_id: str
    action: str
    args: dict[str, Any]
    requested_at: str | None
    deadline: str | None
    escalated: bool

    @property
    def expired(self) -> bool:
        """Whether its deadline has passed."""
        return bool(self.deadline) and datetime.now(UTC) > datetime.fromisoformat(
            str(self.deadline)
        )


@dataclass(frozen=True)
class UnreadableThread:
    """A thread whose state could not be read, and why."""

    thread_id: str
    error: str


@dataclass
class ApprovalQueue:
    """What `scan_approvals` found: the pending approvals, and the threads it could not read."""

    pending: list[PendingApproval] = field(default_factory=list)
    unreadable: list[UnreadableThread] = field(default_factory=list)


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _graph_id(saver: BaseCheckpointSaver, thread_id: str) -> str | None:
    """The graph a thread belongs to (from its checkpoint's tag); None for no such thread."""
    latest = saver.get_tuple(_config(thread_id))
    if latest is None:
        return None
    return str(latest.metadata.get("graph_id") or "react")


def _requests(thread_id: str, graph_id: str, graph: Any) -> list[PendingApproval]:
    found: list[PendingApproval] = []
    for item in unique_interrupts(graph.get_state(_config(thread_id))):
        requests = item.value if isinstance(item.value, list) else [item.value]
        for request in requests:
            if not isinstance(request, dict) or "action_request" not in request:
                continue
            found.append(
                PendingApproval(
                    thread_id=thread_id,
                    graph_id=graph_id,
                    interrupt_id=item.id,
                    action=request["action_request"]["action"],
                    args=request["action_request"]["args"],
                    requested_at=request.get("requested_at"),
                    deadline=request.get("deadline"),
                    escalated=bool(request.get("escalated")),
                )
            )
    return found


def thread_approvals(saver: BaseCheckpointSaver, thread_id: str) -> list[PendingApproval]:
    """The approvals waiting in one thread.

    Raises:
        UnknownThreadError: when the checkpointer holds no such thread.
        ValueError: when the thread belongs to a graph this project does not know.
    """
    graph_id = _graph_id(saver, thread_id)
    if graph_id is None:
        raise UnknownThreadError(thread_id)
    return _requests(thread_id, graph_id, build_graph(graph_id, checkpointer=saver))


def scan_approvals(saver: BaseCheckpointSaver) -> ApprovalQueue:
    """Every approval waiting in the threads `saver` holds, oldest request first.

    Threads of graphs this project does not know are skipped; threads that cannot be read
    are listed in `ApprovalQueue.unreadable` with the error.
    """
    graphs: dict[str, Any] = {}
    queue = ApprovalQueue()
    for thread_id in waiting_thread_ids(saver):
        try:
            graph_id = _graph_id(saver, thread_id) or "react"
            if graph_id not in graphs:
                try:
                    graphs[graph_id] = build_graph(graph_id, checkpointer=saver)
                except ValueError:
                    graphs[graph_id] = None  # a thread of a graph this project does not know
            if graphs[graph_id] is not None:
                queue.pending.extend(_requests(thread_id, graph_id, graphs[graph_id]))
        except Exception as exc:  # one bad thread must not hide the others
            queue.unreadable.append(UnreadableThread(thread_id, f"{type(exc).__name__}: {exc}"))
    queue.pending.sort(key=lambda p: p.requested_at or "")
    return queue


def pending_approvals(saver: BaseCheckpointSaver) -> list[PendingApproval]:
    """Every request waiting at an approval gate in the threads `saver` holds."""
    return scan_approvals(saver).pending
