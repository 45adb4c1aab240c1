"""The approval gate: one node type every pattern uses to put a person before an action.

The gate runs once per tool call that needs review (the router sends each such call with
`Send`, so several can wait at once, each with its own interrupt id). It calls `interrupt()`
with an Agent Inbox `HumanInterrupt` and turns the answer into a decision **bound in the
ledger** to the thread, the call id and the hash of the exact arguments shown
(`checkpointers.ledger`); the tool-execution node acts only on decisions it finds there. The
same record is appended to ``state["approvals"]`` as the audit trail readers see, but nothing
written into state can approve a call.

Answers are strict: an edit is validated against the tool's argument schema with unknown
keys rejected, may not change the tool's locked arguments (``locked_args`` in its metadata,
e.g. which order a refund goes to) nor switch tools, and an accept carries no new arguments.
On a server with authentication the reviewer recorded is the authenticated user.

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
from langgraph.errors import GraphInterrupt
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from checkpointers.ledger import EffectLedger, args_hash
from nodes.context import agent_context
from nodes.identity import authenticated_user_id, current_thread_id
from observability.events import emit, sinks_active
from state.approval import (
    ApprovalDecision,
    ApprovalRecord,
    HumanInterrupt,
    InvalidDecisionError,
    parse_decision,
)
from state.context import AgentContext, ApprovalPolicy
from tools.registry import has_side_effects, injected_args, locked_args

__all__ = [
    "DEADLINE",
    "EXPIRE_MARKER",
    "GateInput",
    "bind_decision",
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


def _visible_schema(tool: BaseTool | None) -> Any:
    """The schema the model sees: the tool's arguments without injected ones.

    Injected arguments (state, store, runtime) are the graph's to fill, so an edit may
    neither name them nor be refused for leaving them out.
    """
    if tool is None:
        return None
    if not injected_args(tool):
        return tool.args_schema  # the full schema, with its own validators
    return tool.tool_call_schema


def _schema_fields(tool: BaseTool | None) -> set[str] | None:
    """The argument names the model-visible schema declares (None: it declares none)."""
    schema = _visible_schema(tool)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return set(schema.model_fields)
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return set(schema["properties"])
    return None


def _check_known(tool: BaseTool | None, args: dict[str, Any]) -> None:
    """An edit may only name arguments the tool's schema declares."""
    fields = _schema_fields(tool)
    unknown = sorted(set(args) - fields) if fields is not None else []
    if unknown:
        raise InvalidDecisionError(
            f"unknown argument(s) {', '.join(unknown)}; "
            f"{tool.name if tool else 'the tool'} takes {', '.join(sorted(fields or []))}"
        )


def _check_schema(tool: BaseTool | None, args: dict[str, Any]) -> None:
    """Validate the edited call's arguments against the model-visible pydantic schema."""
    schema = _visible_schema(tool)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise InvalidDecisionError(f"the edited arguments are invalid: {problems}") from exc


def _validated(
    decision: ApprovalDecision,
    call: ToolCall,
    tool: BaseTool | None,
    locked: list[str] | None = None,
) -> dict[str, Any] | None:
    """Check an answer against the call; return the edited arguments (None: not an edit).

    Raises:
        InvalidDecisionError: an edit that switches tools, names unknown arguments, fails the
            schema or changes a locked argument; an accept whose args differ from the request.
    """
    if decision.type not in ("edit", "accept") or decision.args is None:
        return None
    action, args = decision.edited_action(call["name"])
    if action != call["name"]:
        raise InvalidDecisionError(
            f"an answer may change the arguments of `{call['name']}`, not switch to `{action}`"
        )
    if decision.type == "accept":  # Agent Inbox may echo the request; it must be unchanged
        if args != dict(call["args"]):
            raise InvalidDecisionError(
                "an accept must not carry other arguments; answer 'edit' to change them"
            )
        return None
    merged = {**call["args"], **args}  # a partial edit ("amount": 40) keeps the other arguments
    frozen = {*(locked or []), *locked_args(tool)}
    changed = sorted(name for name in frozen if merged.get(name) != call["args"].get(name))
    if changed:
        raise InvalidDecisionError(f"an edit may not change {', '.join(changed)}")
    _check_known(tool, args)
    _check_schema(tool, merged)
    return merged


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


def _decide(
    payload: GateInput, tool: BaseTool | None
) -> tuple[ApprovalDecision, dict[str, Any] | None, bool]:
    """Ask until a valid answer arrives or the deadline's policy decides.

    Returns:
        The decision, the edited arguments (None unless an edit) and whether it escalated.
    """
    call = payload["tool_call"]
    deadline_text = payload.get("deadline")
    deadline = datetime.fromisoformat(deadline_text) if deadline_text else None
    escalated = False
    problem: str | None = None
    while True:
        request = build_interrupt(
            call,
            tool,
            problem,
            requested_at=payload.get("requested_at"),
            deadline=deadline,
            escalated=escalated,
            note=payload.get("note"),
        )
        try:
            answer = interrupt([request])
        except GraphInterrupt:  # the request goes out now (a resumed run returns the answer)
            emit("approval_requested", tool=call["name"], call_id=call["id"])
            raise
        expired = deadline is not None and not escalated and datetime.now(UTC) > deadline
        if expired and deadline is not None and payload.get("on_timeout") != "escalate":
            reason = f"no decision before the deadline ({deadline.isoformat()})"
            return ApprovalDecision(type="ignore", reviewer=DEADLINE, reason=reason), None, False
        if expired:
            escalated, problem = True, None
            continue
        if _is_expire_marker(answer):
            problem = None  # a sweep touched a request that has not expired: ask again
            continue
        try:
            decision = parse_decision(answer)
            return decision, _validated(decision, call, tool, payload.get("locked_args")), escalated
        except InvalidDecisionError as exc:
            problem = str(exc)


DEADLINE = "policy:deadline"
"""The reviewer recorded when a request's deadline rejects it."""


def _reviewer(decision: ApprovalDecision) -> str:
    """Who decided: the authenticated user wins over any name the answer carries."""
    if decision.reviewer == DEADLINE:
        return DEADLINE
    return authenticated_user_id() or decision.reviewer or "unknown"


def make_approval_gate(
    tools_by_name: Mapping[str, BaseTool],
    *,
    ledger: EffectLedger,
) -> Callable[..., dict[str, Any]]:
    """Build the gate node for a set of tools.

    Args:
        tools_by_name: the graph's tools, used to describe the action and validate edits.
        ledger: where decisions are bound (the same ledger the graph's tool node reads).

    Returns:
        A node ``approval_gate(payload, runtime) -> {"approvals": [record]}``.
    """

    def approval_gate(payload: GateInput, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Wait for a person's decision on one tool call; bind it in the ledger and record it."""
        context = agent_context(runtime)
        call = payload["tool_call"]
        decision, edited, escalated = _decide(payload, tools_by_name.get(call["name"]))
        record = ApprovalRecord(
            tool_call_id=call["id"] or "",
            action=call["name"],
            args=dict(call["args"]),
            decision=decision.type,
            edited_args=edited,
            response=decision.args if decision.type == "response" else None,
            reviewer=_reviewer(decision),
            reason=decision.reason,
            policy=payload.get("policy") or context.approval_policy,
            requested_at=payload.get("requested_at"),
            escalated=escalated,
            args_hash=args_hash(dict(call["args"])),
        ).model_dump(mode="json")
        bind_decision(ledger, record)
        _observe_decision(record)
        return {"approvals": [record]}

    return approval_gate


_DECISION_NAMES = {"response": "respond", "ignore": "reject"}


def _observe_decision(record: dict[str, Any]) -> None:
    """One ``approval_decided`` event: the decision, its reviewer and how long it waited."""
    if not sinks_active():
        return
    decision = _DECISION_NAMES.get(record["decision"], record["decision"])
    if record["reviewer"] == DEADLINE:
        decision = "expired"
    wait_s = None
    try:
        requested = datetime.fromisoformat(str(record.get("requested_at")))
        wait_s = round((datetime.now(UTC) - requested).total_seconds(), 3)
    except (TypeError, ValueError):  # no request time, or one without a zone
        pass
    emit(
        "approval_decided",
        tool=record["action"],
        call_id=record["tool_call_id"],
        decision=decision,
        wait_s=wait_s,
        reviewer=record["reviewer"],
    )


def bind_decision(ledger: EffectLedger, record: dict[str, Any]) -> None:
    """Bind an `ApprovalRecord` dump to its call in the ledger (the only approval that counts).

    Raises:
        RuntimeError: the run has no thread id (a gate needs a checkpointer anyway).
    """
    thread_id = current_thread_id()
    if thread_id is None:
        raise RuntimeError("an approval needs a thread: run the graph with a checkpointer")
    ledger.record_decision(thread_id, {**record, "args_hash": record["args_hash"]})
