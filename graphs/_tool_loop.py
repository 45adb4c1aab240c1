"""The tool-calling loop every agent pattern shares: model, gate, tools, budget stop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.graph import END, StateGraph

from nodes.approval_gate import make_approval_gate
from nodes.budget import stop_at_budget
from nodes.context import AgentNode
from nodes.retry import MODEL_RETRY
from nodes.routing import make_route_after_model, make_route_after_tools
from nodes.runtime import PatternRuntime
from nodes.tool_execution import make_run_tools

__all__ = ["add_tool_loop"]


def add_tool_loop(
    builder: StateGraph[Any, Any, Any, Any],
    *,
    call_model: AgentNode,
    tools_by_name: Mapping[str, BaseTool],
    runtime: PatternRuntime,
    finish: str = END,
    exit_on_handoff: bool = False,
) -> None:
    """Add ``call_model → (approval_gate →) run_tools → call_model`` and the budget stop.

    The caller adds the edge into ``call_model``. A final answer (and the budget stop) goes
    to `finish`; with `exit_on_handoff`, so does a turn that called a handoff tool, once its
    tool calls are answered (how swarm agents pass the conversation on).
    """
    builder.add_node("call_model", call_model, retry_policy=MODEL_RETRY)
    builder.add_node("approval_gate", make_approval_gate(tools_by_name, ledger=runtime.ledger))
    builder.add_node(
        "run_tools",
        make_run_tools(tools_by_name, ledger=runtime.ledger, timeout_s=runtime.tool_timeout_s),
    )
    builder.add_node("stop_at_budget", stop_at_budget)
    builder.add_conditional_edges(
        "call_model",
        make_route_after_model(tools_by_name, finish=finish),
        ["approval_gate", "run_tools", "stop_at_budget", finish],
    )
    builder.add_edge("approval_gate", "run_tools")
    if exit_on_handoff:
        builder.add_conditional_edges(
            "run_tools", make_route_after_tools(finish=finish), ["call_model", finish]
        )
    else:
        builder.add_edge("run_tools", "call_model")
    builder.add_edge("stop_at_budget", finish)
