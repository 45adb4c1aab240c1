"""Stopping a run cleanly from any node: `RunStopped` and the wrap-up it becomes.

A control that must end the run (a budget reached, a terminal error, every fallback failed,
too many invalid tool calls) raises `RunStopped` from wherever it is, usually the shared
model-call path or the tool node. Every node of every pattern is wrapped at compile time
(`graphs._stop_guard`), so the exception never crashes the run: the node's update becomes
the wrap-up `wrap_up` builds, the rest of the run is skipped, and the run ends with:

- every tool call still unanswered in the conversation answered with a "not run" tool
  message (so the conversation stays valid for providers that require a result per call);
- an AI message (``name="budget"`` for a budget, ``"stopped"`` otherwise) saying what was
  done and what stopped the run, naming the budget;
- a ``run_stop`` record in state (kind, reason, detail, run id, time), saved in the thread's
  checkpoints (``agent-patterns audit`` lists every stop of a thread from its history) and
  logged as a warning, so operators see why.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> stop = RunStopped("the run's token budget (max_tokens_per_run=500; 512 used)",
    ...                   kind="budget", detail={"budget": "max_tokens_per_run"})
    >>> asked = AIMessage("", tool_calls=[{"name": "lookup", "args": {}, "id": "c1"}])
    >>> update = wrap_up(stop, [HumanMessage("hi"), asked], run_id="r1")
    >>> [type(m).__name__ for m in update["messages"]]
    ['ToolMessage', 'AIMessage']
    >>> update["messages"][-1].name, update["run_stop"]["kind"]
    ('budget', 'budget')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from observability.events import emit

__all__ = ["RUN_STOP_CHANNEL", "RunStopped", "StopKind", "unanswered_calls", "wrap_up"]

logger = logging.getLogger(__name__)

RUN_STOP_CHANNEL = "run_stop"
"""The state field that records why the current run stopped (`state.agent.AgentState`)."""

StopKind = Literal["budget", "terminal_error", "fallbacks_exhausted", "fixable_limit"]


class RunStopped(Exception):
    """A control ends the run cleanly (see the module docs).

    Args:
        reason: what stopped the run, in words a user understands (it names the budget).
        kind: which kind of control stopped it.
        detail: facts for the record (the budget's name, limit and use; the error class).
        partial: messages the raising node already produced that must be kept (tool
            results of calls that did run), appended before the wrap-up.
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: StopKind,
        detail: Mapping[str, Any] | None = None,
        partial: Sequence[BaseMessage] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: StopKind = kind
        self.detail = dict(detail or {})
        self.partial = list(partial)


def unanswered_calls(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The tool calls of the latest turn that have no tool message yet, in order."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    pending: list[dict[str, Any]] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage):
            pending[:0] = [dict(c) for c in message.tool_calls if c.get("id") not in answered]
    return pending


def _done_so_far(messages: Sequence[BaseMessage]) -> str:
    """What the run did before it stopped: the tools that answered in this turn."""
    ran: list[str] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage) and message.status != "error" and message.name:
            ran.append(message.name)
    if not ran:
        return "No tool had run yet in this turn."
    names = ", ".join(sorted(set(ran)))
    return f"Done before it stopped: {len(ran)} tool call(s) ({names})."


def wrap_up(
    stop: RunStopped, messages: Sequence[BaseMessage], *, run_id: str | None
) -> dict[str, Any]:
    """The state update that ends a run stopped by `stop` (see the module docs).

    Args:
        stop: what stopped the run.
        messages: the conversation as the stopped node saw it.
        run_id: the run that stopped (recorded, so a later run is not treated as stopped).
    """
    kept = list(stop.partial)
    conversation = [*messages, *kept]
    closing: list[BaseMessage] = [
        ToolMessage(
            content=f"Not run: {stop.reason}.",
            tool_call_id=call["id"],
            name=call.get("name"),
            status="error",
        )
        for call in unanswered_calls(conversation)
    ]
    done = _done_so_far([*conversation, *closing])
    label = "budget" if stop.kind == "budget" else "stopped"
    stopped_by = "I stopped because I reached" if stop.kind == "budget" else "I stopped:"
    closing.append(
        AIMessage(
            content=f"{stopped_by} {stop.reason}. {done} Nothing further was run.", name=label
        )
    )
    record = {
        "kind": stop.kind,
        "reason": stop.reason,
        "detail": stop.detail,
        "run_id": run_id,
        "at": datetime.now(UTC).isoformat(),
    }
    logger.warning("run %s stopped (%s): %s", run_id, stop.kind, stop.reason)
    if stop.kind == "budget":
        emit("budget_stop", limit=stop.detail.get("budget"), reason=stop.reason)
    return {"messages": [*kept, *closing], RUN_STOP_CHANNEL: record}
