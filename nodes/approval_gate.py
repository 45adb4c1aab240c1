"""The approval gate: one node type every pattern uses to put a person before an action.

The gate runs once per tool call that needs review (the router sends each such call with
`Send`, so several can wait at once, each with its own interrupt id). It calls `interrupt()`
with an Agent Inbox `HumanInterrupt` and turns the answer into an audit record appended to
``state["approvals"]``. The tool-execution node then acts on that record.

Nothing before `interrupt()` has side effects: on resume LangGraph re-runs the node from the
top, so the payload is rebuilt from the call and the decision is recorded only afterwards. A
malformed answer does not fail the run: the gate asks again, with the error in the
description, so the thread stays resumable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from langchain_core.messages import ToolCall
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from nodes.context import agent_context
from state.approval import (
    ApprovalDecision,
    ApprovalRecord,
    HumanInterrupt,
    InvalidDecisionError,
    parse_decision,
)
from state.context import AgentContext, ApprovalPolicy
from tools.registry import has_side_effects

__all__ = [
    "EXPIRE_MARKER",
    "GateInput",
    "build_interrupt",
    "gate_sends",
    "make_approval_gate",
    "needs_approval",
]


class GateInput(TypedDict, total=False):
    """What the router sends to one gate task."""

    tool_call: ToolCall
    requested_at: str
    """ISO time the approval was requested (fixed in the Send, stable across re-runs)."""
    deadline: str | None
    """ISO time after which the request is resolved by `on_timeout` (None: no deadline)."""
    on_timeout: str
    """``"reject"`` or ``"escalate"``."""
    note: str
    """Extra context for the reviewer (e.g. a recommendation and the policy checks)."""
    locked_args: list[str]
    """Arguments an edit may not change (e.g. which order a refund goes to)."""
    policy: str
    """Name of the policy that sent the call for review, recorded in the audit trail."""


EXPIRE_MARKER = "expire"
"""Resume type `approvals sweep` sends to touch a thread whose approval is past its deadline."""


def needs_approval(
    call: ToolCall, tools_by_name: Mapping[str, BaseTool], policy: ApprovalPolicy
) -> bool:
    """Whether a tool call waits for a person under the policy.

    Unknown tools never reach the gate: they cannot run, and the tool node answers them with
    an error message instead.
    """
    if call["name"] not in tools_by_name or policy == "never":
        return False
    if policy == "always":
        return True
    return has_side_effects(tools_by_name[call["name"]])


def build_interrupt(
    call: ToolCall,
    tool: BaseTool | None,
    problem: str | None = None,
    *,
    requested_at: str | None = None,
    deadline: datetime | None = None,
    escalated: bool = False,
    note: str | None = None,
) -> HumanInterrupt:
    """The Agent Inbox request for one tool call.

    Besides Agent Inbox's keys it carries ``requested_at``, ``deadline`` and ``escalated``
    (clients that do not know them ignore them) so approval lists can show age and expiry.
    """
    args = json.dumps(call["args"], ensure_ascii=False, sort_keys=True)
    description = (
        f"The agent wants to call `{call['name']}` with {args}.\n\n"
        f"What it does: {tool.description if tool else 'unknown tool'}\n\n"
        "Accept to run it, edit the arguments, respond to tell the agent something instead, "
        "or ignore to reject it."
    )
    if note:
        description += f"\n\n{note}"
    if escalated:
        description = "ESCALATED: nobody decided before the deadline.\n\n" + description
    elif deadline is not None:
        description += (
            f"\n\nDecide before {deadline.isoformat()}; after that it is resolved by policy."
        )
    if problem:
        description += f"\n\nYour previous answer was not accepted: {problem}. Please answer again."
    request = HumanInterrupt(
        action_request={"action": call["name"], "args": dict(call["args"])},
        config={
            "allow_ignore": True,
            "allow_respond": True,
            "allow_edit": True,
            "allow_accept": True,
        },
        description=description,
    )
    extra: dict[str, Any] = {
        "tool_call_id": call["id"],
        "requested_at": requested_at,
        "deadline": deadline.isoformat() if deadline and not escalated else None,
        "escalated": escalated,
    }
    return cast(HumanInterrupt, {**request, **extra})


def _validated(
    decision: ApprovalDecision,
    call: ToolCall,
    tool: BaseTool | None,
    locked: list[str] | None = None,
) -> dict[str, Any] | None:
    """Check an edit against the tool's schema and locked arguments; return the new args."""
    if decision.type != "edit":
        return None
    action, args = decision.edited_action(call["name"])
    if action != call["name"]:
        raise InvalidDecisionError(
            f"an edit may change the arguments of `{call['name']}`, not switch to `{action}`"
        )
    args = {**call["args"], **args}  # a partial edit ("amount": 40) keeps the other arguments
    changed = [name for name in locked or [] if args.get(name) != call["args"].get(name)]
    if changed:
        raise InvalidDecisionError(f"an edit may not change {', '.join(changed)}")
    schema = tool.args_schema if tool is not None else None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise InvalidDecisionError(f"the edited arguments are invalid: {problems}") from exc
    return args


def gate_sends(
    calls: list[ToolCall],
    context: AgentContext,
    *,
    node: str = "approval_gate",
    note: str | None = None,
    locked_args: list[str] | None = None,
    policy: str | None = None,
) -> list[Send]:
    """One `Send` to the gate per call, with the request time and deadline fixed in it.

    The payload is saved with the step that routed, so the deadline and its policy hold for
    whoever resumes the thread later, whatever context that run carries.
    """
    now = datetime.now(UTC)
    deadline = (
        (now + timedelta(seconds=context.approval_timeout_s)).isoformat()
        if context.approval_timeout_s
        else None
    )
    payload: dict[str, Any] = {
        "requested_at": now.isoformat(),
        "deadline": deadline,
        "on_timeout": context.on_approval_timeout,
    }
    optional = {"note": note, "locked_args": locked_args, "policy": policy}
    payload.update({key: value for key, value in optional.items() if value})
    return [Send(node, {"tool_call": call, **payload}) for call in calls]


def _is_expire_marker(answer: Any) -> bool:
    first = answer[0] if isinstance(answer, list) and len(answer) == 1 else answer
    return isinstance(first, dict) and first.get("type") == EXPIRE_MARKER


def _authenticated_user() -> str | None:
    """The LangGraph server's authenticated user for this run, if any."""
    try:
        configurable = get_config().get("configurable", {})
    except RuntimeError:  # called outside a runnable context
        return None
    user = configurable.get("langgraph_auth_user_id")
    return str(user) if user else None


def make_approval_gate(
    tools_by_name: Mapping[str, BaseTool],
) -> Callable[..., dict[str, Any]]:
    """Build the gate node for a set of tools.

    Args:
        tools_by_name: the graph's tools, used to describe the action and validate edits.

    Returns:
        A node ``approval_gate(payload, runtime) -> {"approvals": [record]}``.
    """

    def approval_gate(payload: GateInput, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Wait for a person's decision on one tool call and record it."""
        context = agent_context(runtime)
        call = payload["tool_call"]
        tool = tools_by_name.get(call["name"])
        requested_at = payload.get("requested_at")
        deadline_text = payload.get("deadline")
        deadline = datetime.fromisoformat(deadline_text) if deadline_text else None
        escalated = False
        problem: str | None = None
        while True:
            request = build_interrupt(
                call,
                tool,
                problem,
                requested_at=requested_at,
                deadline=deadline,
                escalated=escalated,
                note=payload.get("note"),
            )
            answer = interrupt([request])
            expired = deadline is not None and not escalated and datetime.now(UTC) > deadline
            if expired and deadline is not None and payload.get("on_timeout") != "escalate":
                decision = ApprovalDecision(
                    type="ignore",
                    reviewer="policy:deadline",
                    reason=f"no decision before the deadline ({deadline.isoformat()})",
                )
                edited = None
                break
            if expired:
                escalated, problem = True, None
                continue
            if _is_expire_marker(answer):
                problem = None  # a sweep touched a request that has not expired: ask again
                continue
            try:
                decision = parse_decision(answer)
                edited = _validated(decision, call, tool, payload.get("locked_args"))
                break
            except InvalidDecisionError as exc:
                problem = str(exc)
        record = ApprovalRecord(
            tool_call_id=call["id"] or "",
            action=call["name"],
            args=dict(call["args"]),
            decision=decision.type,
            edited_args=edited,
            response=decision.args if decision.type == "response" else None,
            reviewer=decision.reviewer or _authenticated_user() or "unknown",
            reason=decision.reason,
            policy=payload.get("policy") or context.approval_policy,
            requested_at=requested_at,
            escalated=escalated,
        )
        return {"approvals": [record.model_dump(mode="json")]}

    return approval_gate
