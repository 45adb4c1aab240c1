"""The hitl desk's policy step: the desk decides in code, the graph proposes and binds.

`make_check_policy` asks the desk's policy (`HitlDesk.decide`) for a `PolicyDecision` and turns
it into state: ``no_action`` records why and proposes nothing; ``review`` and ``auto_approve``
propose the action as a tool call (id ``<desk>-<call_key>-<turn>``). An automatic approval is
bound in the ledger (`nodes.approval_gate.bind_decision`, reviewer ``policy:auto``) exactly like
a person's at the gate, and written to the audit trail; the tool node runs the call only on a
decision it finds there. `make_route_after_policy` sends the call to the shared gate (review),
the tool node (approved) or straight to the reply (nothing to do).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, ToolCall
from langgraph.runtime import Runtime
from langgraph.types import Send

from checkpointers.ledger import EffectLedger, args_hash
from nodes.approval_gate import bind_decision, gate_sends
from nodes.context import AgentNode, context_as
from nodes.hitl_desk import HitlDesk, case_view
from nodes.hitl_recommend import invalid_recommendation
from state.approval import ApprovalRecord
from state.hitl import HitlContext, HitlState, PolicyDecision

__all__ = ["AUTO_REVIEWER", "make_check_policy", "make_route_after_policy"]

AUTO_REVIEWER = "policy:auto"
"""The reviewer recorded for an approval the desk's policy gave."""


def _proposed_call(desk: HitlDesk, decision: PolicyDecision, turn: int) -> ToolCall:
    return ToolCall(
        name=desk.action.name,
        args=dict(decision.args or {}),
        id=f"{desk.name}-{decision.call_key}-{turn}",
        type="tool_call",
    )


def _automatic_approval(desk: HitlDesk, call: ToolCall, reason: str) -> dict[str, Any]:
    return ApprovalRecord(
        tool_call_id=call["id"] or "",
        action=call["name"],
        args=dict(call["args"]),
        decision="accept",
        reviewer=AUTO_REVIEWER,
        reason=reason or "within policy",
        policy=desk.policy_name,
        requested_at=datetime.now(UTC).isoformat(),
        args_hash=args_hash(dict(call["args"])),
    ).model_dump(mode="json")


def make_check_policy(desk: HitlDesk, ledger: EffectLedger) -> AgentNode:
    """Build the node that applies the desk's policy and proposes its action.

    Args:
        desk: the desk (its policy, action and policy name).
        ledger: where an automatic approval is bound (the graph's gate and tool node use the
            same one).
    """

    def check_policy(state: HitlState, *, runtime: Runtime[HitlContext]) -> dict[str, Any]:
        """Decide in code whether a person must approve; propose the action as a tool call."""
        if invalid_recommendation(state) is not None:
            return {}  # nothing to propose: the reply says why
        view = case_view(state, desk)
        decision = desk.decide(view, context_as(runtime, desk.context_schema))
        update: dict[str, Any] = {"policy": decision.record()}
        if decision.verdict == "no_action":
            return update
        call = _proposed_call(desk, decision, view.turn)
        message = AIMessage(content=decision.summary, name=desk.message_name, tool_calls=[call])
        update["messages"] = [message]
        if decision.verdict == "auto_approve":
            record = _automatic_approval(desk, call, decision.approval_reason)
            bind_decision(ledger, record)
            update["approvals"] = [record]
        return update

    return check_policy


def make_route_after_policy(
    desk: HitlDesk,
) -> Callable[..., str | list[Send]]:
    """Build the router after `check_policy`: the reply, the tool node or the gate."""

    def route_after_policy(state: HitlState, *, runtime: Runtime[HitlContext]) -> str | list[Send]:
        """To the reply (nothing proposed), the tool node (approved) or the gate (review)."""
        policy = state.get("policy") or {}
        last = state["messages"][-1]
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return "draft_reply"
        if not policy.get("needs_review"):
            return "run_tools"
        return gate_sends(
            list(last.tool_calls),
            context_as(runtime, desk.context_schema),
            note=policy.get("note"),
            locked_args=list(desk.locked_args) or None,
            policy=desk.policy_name,
        )

    return route_after_policy
