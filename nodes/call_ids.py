"""Tool-call ids unique per thread, before any call reaches the approval gate.

Decisions and effects are bound to ``(thread, tool-call id)`` (`checkpointers.ledger`), so an
id must name one call only. Models do not promise that: a reply may give two calls the same
id, and a later turn may reuse an id from an earlier one. Left alone, a reviewer's "reject"
of one call could apply to its twin, and a new call could be answered with an old call's
recorded result. Every model reply therefore passes through `with_unique_call_ids`: a call
whose id is missing, repeated within the reply or already used in the conversation gets a
fresh id, and the reply records the renaming in ``response_metadata`` (``renamed_tool_call_ids``:
new id to the model's id) for the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolCall, ToolMessage

__all__ = ["RENAMED_KEY", "used_call_ids", "with_unique_call_ids"]

RENAMED_KEY = "renamed_tool_call_ids"


def used_call_ids(history: Sequence[AnyMessage | BaseMessage]) -> set[str]:
    """Every tool-call id the conversation already uses (calls and their answers)."""
    used: set[str] = set()
    for message in history:
        if isinstance(message, AIMessage):
            used.update(str(call["id"]) for call in message.tool_calls if call.get("id"))
        elif isinstance(message, ToolMessage) and message.tool_call_id:
            used.add(message.tool_call_id)
    return used


def with_unique_call_ids(
    reply: AIMessage, history: Sequence[AnyMessage | BaseMessage]
) -> AIMessage:
    """`reply` with fresh ids for calls whose id is missing, repeated or already used.

    Args:
        reply: the model's reply.
        history: the conversation the reply continues (the state's messages).

    Returns:
        The reply itself when every id was unique, else a copy with renamed calls.
    """
    if not reply.tool_calls:
        return reply
    used = used_call_ids(history)
    renamed: dict[str, str] = {}
    calls: list[ToolCall] = []
    for call in reply.tool_calls:
        original = str(call.get("id") or "")
        call_id = original
        if not call_id or call_id in used:
            call_id = f"{original or 'call'}-{uuid.uuid4().hex[:12]}"
            renamed[call_id] = original
        used.add(call_id)
        calls.append(ToolCall(name=call["name"], args=call["args"], id=call_id, type="tool_call"))
    if not renamed:
        return reply
    metadata = {**reply.response_metadata, RENAMED_KEY: renamed}
    return reply.model_copy(update={"tool_calls": calls, "response_metadata": metadata})
