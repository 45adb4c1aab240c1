"""Reusable nodes: model call, tool execution, the approval gate, the budget stop, routers."""

from nodes.approval_gate import build_interrupt, make_approval_gate, needs_approval
from nodes.budget import model_calls_this_turn, stop_at_budget
from nodes.model_call import make_call_model
from nodes.routing import make_route_after_model
from nodes.tool_execution import execute_tool_call, make_run_tools

__all__ = [
    "build_interrupt",
    "execute_tool_call",
    "make_approval_gate",
    "make_call_model",
    "make_route_after_model",
    "make_run_tools",
    "model_calls_this_turn",
    "needs_approval",
    "stop_at_budget",
]
