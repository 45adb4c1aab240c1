"""What a graph refuses at its input boundary, before anything reaches the checkpointer.

Every graph of the project checks a run's input first (see `graphs.input_validation` and
`graphs._boundary`); a refused input leaves the thread exactly as it was. All three errors
are `ValueError`s, so callers that already treat bad arguments as ``ValueError`` (the CLI
does) report them without a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "InputBoundaryError",
    "InvalidInputError",
    "PendingApprovalError",
    "PendingRequest",
    "UnknownThreadError",
]


class InputBoundaryError(ValueError):
    """Base class: a run refused before it started; nothing was checkpointed."""


class InvalidInputError(InputBoundaryError):
    """The input is malformed: which message, which field, and what is wrong.

    Attributes:
        problem: what is wrong, in words.
        index: position of the offending message in ``input["messages"]`` (None when the
            problem is not inside one message).
        field: the path inside the message or input, e.g. ``role``, ``content[1].text`` or
            ``tool_calls[0].args.reason`` (None for the message or input as a whole).
    """

    def __init__(self, problem: str, *, index: int | None = None, field: str | None = None):
        self.problem = problem
        self.index = index
        self.field = field
        super().__init__(f"invalid input at {self.where}: {problem}")

    @property
    def where(self) -> str:
        """``messages[2].role``-style location of the problem."""
        place = f"messages[{self.index}]" if self.index is not None else "input"
        return f"{place}.{self.field}" if self.field else place


@dataclass(frozen=True)
class PendingRequest:
    """One tool call the thread is waiting on.

    Attributes:
        action: the tool's name.
        args: the arguments it would run with.
        interrupt_id: the interrupt to resume (None for a call left unanswered without one).
        tool_call_id: the model's id for the call, when known.
    """

    action: str
    args: dict[str, Any]
    interrupt_id: str | None
    tool_call_id: str | None

    def describe(self) -> str:
        """``issue_refund {"order_id": ...} (interrupt 1a2b...)`` for messages and logs."""
        args = json.dumps(self.args, ensure_ascii=False, sort_keys=True, default=str)
        where = f"interrupt {self.interrupt_id}" if self.interrupt_id else "no interrupt"
        return f"{self.action} {args} ({where})"


class PendingApprovalError(InputBoundaryError):
    """A new message arrived while the thread waits for an approval (or an unanswered call).

    Answer the approval with ``Command(resume=...)``, or send the message with
    ``"cancel_pending": True`` to cancel it (recorded as ``superseded`` in the audit trail).

    Attributes:
        thread_id: the thread that is waiting.
        pending: what it is waiting on.
    """

    def __init__(self, thread_id: str, pending: list[PendingRequest]):
        self.thread_id = thread_id
        self.pending = pending
        waiting = "; ".join(request.describe() for request in pending)
        super().__init__(
            f"thread {thread_id} is waiting for approval of {waiting}. Answer it with "
            'Command(resume=...), or send your message with "cancel_pending": true to cancel '
            "it (the audit trail records it as superseded)."
        )


class UnknownThreadError(InputBoundaryError):
    """A resume (``Command(resume=...)``) named a thread the checkpointer does not hold.

    Attributes:
        thread_id: the thread that was asked for.
    """

    def __init__(self, thread_id: str):
        self.thread_id = thread_id
        super().__init__(f"no thread {thread_id!r}: there is nothing to resume")
