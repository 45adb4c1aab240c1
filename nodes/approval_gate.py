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
from typing import Any

from langchain_core.messages import ToolCall
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import interrupt
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

__all__ = ["GateInput", "build_interrupt", "make_approval_gate", "needs_approval"]


class GateInput(TypedDict):
    """What the router sends to one gate task."""

    tool_call: ToolCall


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
    call: ToolCall, tool: BaseTool | None, problem: str | None = None
) -> HumanInterrupt:
    """The Agent Inbox request for one tool call (optionally saying why we ask again)."""
    args = json.dumps(call["args"], ensure_ascii=False, sort_keys=True)
    description = (
        f"The agent wants to call `{call['name']}` with {args}.\n\n"
        f"What it does: {tool.description if tool else 'unknown tool'}\n\n"
        "Accept to run it, edit the arguments, respond to tell the agent something instead, "
        "or ignore to reject it."
    )
    if problem:
        description += f"\n\nYour previous answer was not accepted: {problem}. Please answer again."
    return HumanInterrupt(
        action_request={"action": call["name"], "args": dict(call["args"])},
        config={
            "allow_ignore": True,
            "allow_respond": True,
            "allow_edit": True,
            "allow_accept": True,
        },
        description=description,
    )


def _validated(
    decision: ApprovalDecision, call: ToolCall, tool: BaseTool | None
) -> dict[str, Any] | None:
    """Check an edit against the tool's schema; return the edited arguments."""
    if decision.type != "edit":
        return None
    action, args = decision.edited_action(call["name"])
    if action != call["name"]:
        raise InvalidDecisionError(
            f"an edit may change the arguments of `{call['name']}`, not switch to `{action}`"
        )
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
        call = payload["tool_call"]
        tool = tools_by_name.get(call["name"])
        problem: str | None = None
        while True:
            answer = interrupt([build_interrupt(call, tool, problem)])
            try:
                decision = parse_decision(answer)
                edited = _validated(decision, call, tool)
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
            policy=agent_context(runtime).approval_policy,
        )
        return {"approvals": [record.model_dump(mode="json")]}

    return approval_gate
