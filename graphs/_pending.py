"""What a thread is waiting on, and how a new message cancels it (``cancel_pending``).

A thread waits when its state has interrupts (an approval gate, also one inside a subgraph:
the parent's state lists those too) or when its last AI message has tool calls that no tool
message answers. A new message would silently drop either, so the boundary refuses it
unless the caller cancels: then every pending approval is recorded as ``superseded`` in the
audit trail and every unanswered call gets a tool message saying it was not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.types import Interrupt, StateSnapshot

from graphs.errors import PendingRequest
from state.approval import ApprovalRecord

__all__ = [
    "unique_interrupts",
    "CANCEL_PENDING_KEY",
    "SUPERSEDED_REASON",
    "cancellation",
    "pending_requests",
]

CANCEL_PENDING_KEY = "cancel_pending"
"""Input key: ``True`` cancels whatever the thread waits on before the new message runs."""
SUPERSEDED_REASON = "superseded by a new message"
NOT_RUN = (
    "Not run: the caller sent a new message instead of answering this request, which cancelled it."
)


def _requests_of(item: Interrupt) -> list[PendingRequest]:
    values = item.value if isinstance(item.value, list) else [item.value]
    found: list[PendingRequest] = []
    for value in values:
        action = value.get("action_request") if isinstance(value, dict) else None
        if isinstance(action, dict):
            found.append(
                PendingRequest(
                    action=str(action.get("action")),
                    args=dict(action.get("args") or {}),
                    interrupt_id=item.id,
                    tool_call_id=value.get("tool_call_id"),
                )
            )
        else:  # an interrupt that is not an approval request: still something waiting
            found.append(PendingRequest("interrupt", {}, item.id, None))
    return found


def unanswered_calls(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Tool calls of the last AI message that no later tool message answers."""
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage):
            return [dict(c) for c in message.tool_calls if c.get("id") not in answered]
    return []


def _messages(snapshot: StateSnapshot) -> list[BaseMessage]:
    values = snapshot.values if isinstance(snapshot.values, dict) else {}
    return [m for m in values.get("messages") or [] if isinstance(m, BaseMessage)]


def unique_interrupts(snapshot: StateSnapshot) -> list[Interrupt]:
    """The thread's interrupts, each once.

    An interrupt raised deep inside nested graphs (an approval in a ReAct agent in a parallel
    branch of a pipeline stage) is reported by more than one of the tasks it passed through;
    the interrupt id is the same, and so is the answer it needs.
    """
    seen: dict[str, Interrupt] = {}
    for item in snapshot.interrupts:
        seen.setdefault(item.id, item)
    return list(seen.values())


def pending_requests(snapshot: StateSnapshot) -> list[PendingRequest]:
    """Everything the thread in `snapshot` waits on: interrupts, then unanswered calls."""
    found = [request for item in unique_interrupts(snapshot) for request in _requests_of(item)]
    covered = {request.tool_call_id for request in found if request.tool_call_id}
    for call in unanswered_calls(_messages(snapshot)):
        if call.get("id") not in covered:
            found.append(
                PendingRequest(str(call["name"]), dict(call["args"]), None, call.get("id"))
            )
    return found


def cancellation(
    snapshot: StateSnapshot, pending: list[PendingRequest], reviewer: str
) -> dict[str, Any]:
    """The state update that cancels `pending`: superseded records and "not run" answers.

    Args:
        snapshot: the thread's current state.
        pending: what it waits on (`pending_requests`).
        reviewer: who cancelled (the authenticated user, else "caller").

    Returns:
        ``{"messages": [...], "approvals": [...]}`` (keys with nothing to add left out).
    """
    records = [
        ApprovalRecord(
            tool_call_id=request.tool_call_id or "",
            action=request.action,
            args=request.args,
            decision="superseded",
            reviewer=reviewer,
            reason=SUPERSEDED_REASON,
        ).model_dump(mode="json")
        for request in pending
        if request.interrupt_id is not None
    ]
    answers = [
        ToolMessage(content=NOT_RUN, tool_call_id=call["id"], name=call["name"], status="error")
        for call in unanswered_calls(_messages(snapshot))
        if call.get("id")
    ]
    update: dict[str, Any] = {}
    if answers:
        update["messages"] = answers
    if records:
        update["approvals"] = records
    return update
