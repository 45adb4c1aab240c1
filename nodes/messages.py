"""Reading a conversation: what the user asked last."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage

__all__ = ["latest_human_text"]


def latest_human_text(messages: Sequence[BaseMessage]) -> str:
    """Text of the latest human message (the request a node or a scripted model answers).

    Args:
        messages: a conversation, oldest first.

    Returns:
        The text, or ``""`` when no human message is in it.
    """
    return next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
