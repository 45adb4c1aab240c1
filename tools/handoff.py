"""Handoff tools: how one agent passes the conversation (or a task) to another.

A handoff is a tool the model calls, ``transfer_to_<agent>``. It is a real tool, run by the
shared tool node like any other, so a turn that calls a normal tool *and* hands off gets both
answered (every call keeps its `ToolMessage`); the pattern's router then reads the handoff
from the AI message and moves control. It has no side effects and needs no approval.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, ToolCall
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from tools.registry import agent_tool

__all__ = ["HANDOFF_PREFIX", "handoff_targets", "last_handoff", "make_handoff_tool"]

HANDOFF_PREFIX = "transfer_to_"


class HandoffArgs(BaseModel):
    """Arguments of a handoff tool."""

    reason: str = Field(
        default="", description="Why the other agent should take over (one sentence)."
    )


def make_handoff_tool(agent: str, description: str) -> BaseTool:
    """A ``transfer_to_<agent>`` tool whose description says what that agent handles.

    Args:
        agent: the agent's node name.
        description: what the agent is for, shown to the model choosing whom to call.
    """

    def transfer(reason: str = "") -> str:
        return f"Transferred to {agent}." + (f" Reason: {reason}" if reason else "")

    transfer.__doc__ = f"Hand the conversation to the {agent} agent: {description}"
    return agent_tool(args_schema=HandoffArgs, side_effects=False, name=f"{HANDOFF_PREFIX}{agent}")(
        transfer
    )


def handoff_targets(calls: Sequence[ToolCall]) -> list[str]:
    """Agents named by the handoff calls among `calls`, in order."""
    return [c["name"][len(HANDOFF_PREFIX) :] for c in calls if c["name"].startswith(HANDOFF_PREFIX)]


def last_handoff(messages: Sequence[AnyMessage]) -> str | None:
    """The agent the latest AI message hands off to, if it does (the last such call wins)."""
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is None:
        return None
    targets = handoff_targets(last.tool_calls)
    return targets[-1] if targets else None
