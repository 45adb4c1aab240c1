"""Typed graph states, runtime context and the approval protocol models."""

from state.agent import AgentInput, AgentOutput, AgentState
from state.approval import (
    ApprovalDecision,
    ApprovalRecord,
    HumanInterrupt,
    InvalidDecisionError,
    parse_decision,
)
from state.context import DEFAULT_SYSTEM_PROMPT, AgentContext, ApprovalPolicy, TimeoutPolicy
from state.memory import ExtractedFacts, MemoryAgentState, MemoryContext

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "AgentContext",
    "AgentInput",
    "AgentOutput",
    "AgentState",
    "ApprovalDecision",
    "ApprovalPolicy",
    "ApprovalRecord",
    "ExtractedFacts",
    "HumanInterrupt",
    "InvalidDecisionError",
    "MemoryAgentState",
    "MemoryContext",
    "TimeoutPolicy",
    "parse_decision",
]
