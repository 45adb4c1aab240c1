"""State of the tool-calling agent graphs (ReAct and the patterns built on it)."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

__all__ = ["AgentInput", "AgentOutput", "AgentState"]


class AgentInput(TypedDict):
    """What every graph of the project accepts: ``{"messages": [...]}``."""

    messages: Annotated[list[AnyMessage], add_messages]


class AgentOutput(TypedDict):
    """What a run returns: the conversation and the approval audit trail."""

    messages: Annotated[list[AnyMessage], add_messages]
    approvals: Annotated[list[dict[str, Any]], operator.add]


class AgentState(AgentOutput):
    """Full state: the conversation, the audit trail and the recursion-limit guard.

    Attributes:
        messages: the conversation, merged by id (`add_messages`).
        approvals: one `ApprovalRecord` dump per reviewed tool call, appended, never rewritten.
        remaining_steps: super-steps left before the recursion limit (managed by LangGraph).
    """

    remaining_steps: RemainingSteps
