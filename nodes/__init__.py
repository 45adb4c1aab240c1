"""Reusable nodes: model call, tool execution, approval gate, budget stop, routers, memory."""

from nodes.approval_gate import build_interrupt, gate_sends, make_approval_gate, needs_approval
from nodes.budget import model_calls_this_turn, stop_at_budget
from nodes.memory import make_call_model_with_memories, make_recall_memories, make_remember_facts
from nodes.model_call import make_call_model, model_for_spec, resolve_model
from nodes.retry import MODEL_RETRY, TRANSIENT_RETRY, call_with_retries, is_transient_error
from nodes.routing import make_route_after_model
from nodes.tool_execution import execute_tool_call, make_run_tools

__all__ = [
    "MODEL_RETRY",
    "TRANSIENT_RETRY",
    "build_interrupt",
    "call_with_retries",
    "execute_tool_call",
    "gate_sends",
    "is_transient_error",
    "make_approval_gate",
    "make_call_model",
    "make_call_model_with_memories",
    "make_recall_memories",
    "make_remember_facts",
    "make_route_after_model",
    "make_run_tools",
    "model_calls_this_turn",
    "model_for_spec",
    "resolve_model",
    "needs_approval",
    "stop_at_budget",
]
