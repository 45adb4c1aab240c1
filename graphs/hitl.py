"""Human in the loop: investigate, recommend, let a policy or a person decide, act, reply.

A desk (`nodes.hitl_desk.HitlDesk`) configures the workflow: how a case is read from the
request, which read-only look-ups gather its facts, what the model recommends (a pydantic
schema), the policy in code that approves automatically, asks a person or does nothing, the
side-effecting action it proposes, and the facts and check of the reply. The graph owns the
rest: the structured recommendation under the invalid-output policy (still invalid: nothing is
proposed and the reply says why), the automatic approval bound in the ledger like a person's
(reviewer ``policy:auto``), the shared approval gate (accept, edit, respond, reject; deadlines),
the shared tool node (exactly once, effect ledger), the outcome, and a reply drafted by the
model and replaced by a template of the facts when it fails the desk's check.

    parse_request → investigate → recommend → check_policy ─(auto)────────► run_tools ─┐
          │              │                          ├─(review: Send)─► approval_gate ──┘
          └──────────────┴─(no case / not found)──► END   └─(no action)───────┐         │
                                                               draft_reply ◄───┴─────────┘

The served graph is the demo shop's refund desk (`demo.refund_desk`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs._compile import compile_pattern
from nodes.approval_gate import make_approval_gate
from nodes.hitl_desk import HitlDesk
from nodes.hitl_intake import (
    CONTINUE,
    make_investigate,
    make_parse_request,
    make_route_after_intake,
)
from nodes.hitl_policy import make_check_policy, make_route_after_policy
from nodes.hitl_recommend import make_recommend
from nodes.hitl_reply import make_draft_reply
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.tool_execution import make_run_tools
from state.agent import AgentInput, AgentOutput
from state.hitl import HitlContext, HitlState

__all__ = ["DEFAULT_RECURSION_LIMIT", "HitlGraph", "build_hitl_graph", "graph"]

DEFAULT_RECURSION_LIMIT = 25
"""Super-steps per run; one turn takes at most seven."""

HitlGraph = CompiledStateGraph[HitlState, HitlContext, AgentInput, AgentOutput]


def build_hitl_graph(
    model: BaseChatModel | None = None,
    *,
    desk: HitlDesk,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "hitl",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> HitlGraph:
    """Build the human-in-the-loop graph for a desk.

    Args:
        model: chat model for the recommendation and the reply; None resolves
            ``context.model`` per run (the offline demo model without an API key).
        desk: the desk's configuration: case, look-ups, recommendation, policy, action, reply.
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``; the gate
            needs one (a server brings its own).
        store: shorthand for the runtime's long-term memory store (unused by the workflow).
        name: graph name.
        recursion_limit: cap on super-steps per run.

    Returns:
        The compiled graph: input ``{"messages": [...]}``, context ``desk.context_schema``
        (`HitlContext` or a subclass).
    """
    runtime = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    tools_by_name = desk.tools_by_name
    builder = StateGraph(
        HitlState,
        context_schema=desk.context_schema,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    route_after_intake = make_route_after_intake(desk)
    builder.add_node("parse_request", make_parse_request(desk))
    builder.add_node("investigate", make_investigate(desk))
    builder.add_node("recommend", make_recommend(model, desk), retry_policy=MODEL_RETRY)
    builder.add_node("check_policy", make_check_policy(desk, runtime.ledger))
    builder.add_node("approval_gate", make_approval_gate(tools_by_name, ledger=runtime.ledger))
    builder.add_node(
        "run_tools",
        make_run_tools(tools_by_name, ledger=runtime.ledger, timeout_s=runtime.tool_timeout_s),
    )
    builder.add_node("draft_reply", make_draft_reply(model, desk), retry_policy=MODEL_RETRY)
    builder.add_edge(START, "parse_request")
    builder.add_conditional_edges(
        "parse_request", route_after_intake, {CONTINUE: "investigate", END: END}
    )
    builder.add_conditional_edges(
        "investigate", route_after_intake, {CONTINUE: "recommend", END: END}
    )
    builder.add_edge("recommend", "check_policy")
    builder.add_conditional_edges(
        "check_policy",
        make_route_after_policy(desk),
        ["approval_gate", "run_tools", "draft_reply"],
    )
    builder.add_edge("approval_gate", "run_tools")
    builder.add_edge("run_tools", "draft_reply")
    builder.add_edge("draft_reply", END)
    return compile_pattern(
        builder,
        runtime=runtime,
        name=name,
        recursion_limit=recursion_limit,
        tools=list(tools_by_name.values()),
    )


from demo.refund_desk import refund_desk  # noqa: E402  (the served graph's wiring only)

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "desk": refund_desk()}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_hitl_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves as ``hitl``; the server brings the checkpointer."""
