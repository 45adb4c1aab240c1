"""Human-in-the-loop refund approval: investigate, recommend, let a person decide, then act.

The customer asks for a refund. The workflow looks up the order and its payment risk (tools),
asks the model for a structured recommendation (approve / deny / need more info, with cited
facts), and applies the refund policy in code: only a low-amount, low-risk refund the model
recommends is approved automatically. Anything else waits at the approval gate, where a person
accepts, edits (a lower amount), responds or rejects. The refund runs in the shared tool node,
exactly once (effect ledger). The customer reply is drafted by the model and checked in code so
it never claims a refund the reviewer did not approve.

    parse_request → investigate → recommend → check_policy ─(auto)────────► run_tools ─┐
          │              │                          ├─(review: Send)─► approval_gate ──┘
          └──────────────┴─(no order / not found)─► END   └─(need more info)──┐         │
                                                               draft_reply ◄───┴─────────┘
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from checkpointers.ledger import EffectLedger, default_ledger
from demo.orders import get_payment_risk, issue_refund, lookup_order
from demo.refund_desk import (
    make_check_policy,
    make_draft_reply,
    make_investigate,
    make_recommend,
    parse_request,
    route_after_policy,
    route_after_step,
)
from demo.refund_state import RefundContext, RefundState
from graphs._compile import compile_pattern
from nodes.approval_gate import make_approval_gate
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S, make_run_tools
from state.agent import AgentInput, AgentOutput

__all__ = ["build_hitl_graph", "graph"]


def build_hitl_graph(
    model: BaseChatModel | None = None,
    tools: list[BaseTool] | None = None,
    *,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "hitl",
    recursion_limit: int = 25,
    ledger: EffectLedger | None = None,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[RefundState, RefundContext, AgentInput, AgentOutput]:
    """Build the refund-approval graph.

    Args:
        model: chat model for the recommendation and the reply; None resolves
            ``context.model`` per run (the offline demo model without an API key).
        tools: ``lookup_order``, ``get_payment_risk`` and ``issue_refund`` (or stand-ins
            with the same names), by default the demo order tools.
        checkpointer: saver for durable threads; the gate needs one.
        store: long-term memory store (unused by this workflow, passed through).
        name: graph name.
        recursion_limit: cap on super-steps per run.
        ledger: exactly-once record of refunds; defaults to the checkpointer's.
        tool_timeout_s: per-call tool timeout in seconds.

    Returns:
        The compiled graph: input ``{"messages": [...]}``, context `RefundContext`.
    """
    tool_list = tools if tools is not None else [lookup_order, get_payment_risk, issue_refund]
    tools_by_name = {tool.name: tool for tool in tool_list}
    missing = {"lookup_order", "get_payment_risk", "issue_refund"} - set(tools_by_name)
    if missing:
        raise ValueError(f"build_hitl_graph needs tools named {sorted(missing)}")

    ledger = ledger if ledger is not None else default_ledger(checkpointer)
    builder = StateGraph(
        RefundState,
        context_schema=RefundContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    builder.add_node("parse_request", parse_request)
    builder.add_node("investigate", make_investigate(tools_by_name))
    builder.add_node("recommend", make_recommend(model), retry_policy=MODEL_RETRY)
    builder.add_node("check_policy", make_check_policy(ledger))
    builder.add_node("approval_gate", make_approval_gate(tools_by_name, ledger=ledger))
    builder.add_node(
        "run_tools", make_run_tools(tools_by_name, ledger=ledger, timeout_s=tool_timeout_s)
    )
    builder.add_node("draft_reply", make_draft_reply(model), retry_policy=MODEL_RETRY)
    builder.add_edge(START, "parse_request")
    builder.add_conditional_edges(
        "parse_request", route_after_step, {"continue": "investigate", END: END}
    )
    builder.add_conditional_edges(
        "investigate", route_after_step, {"continue": "recommend", END: END}
    )
    builder.add_edge("recommend", "check_policy")
    builder.add_conditional_edges(
        "check_policy", route_after_policy, ["approval_gate", "run_tools", "draft_reply"]
    )
    builder.add_edge("approval_gate", "run_tools")
    builder.add_edge("run_tools", "draft_reply")
    builder.add_edge("draft_reply", END)
    return compile_pattern(
        builder,
        runtime=PatternRuntime.of(runtime, checkpointer=checkpointer, store=store),
        name=name,
        recursion_limit=recursion_limit,
    )


graph = build_hitl_graph()
"""The graph `langgraph.json` serves as ``hitl``; the server brings the checkpointer."""
