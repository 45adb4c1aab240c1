"""The hitl factory runs any desk: an access-request desk defined here, not the refund desk.

The desk reads a user and a role from the request, looks the user up, asks for an
`AccessRecommendation`, and grants a viewer role automatically but an admin role only after a
person approves. The same graph, gate, tool node, ledger and reply check as the refund desk.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel, Field

from checkpointers.ledger import InMemoryLedger
from graphs.hitl import build_hitl_graph
from models import ScriptedChatModel
from nodes.hitl_desk import HitlDesk, Lookup
from nodes.runtime import PatternRuntime
from state.hitl import CaseView, HitlContext, PolicyDecision
from tools.registry import agent_tool

USERS = {"alice": {"user": "alice", "active": True}, "bob": {"user": "bob", "active": True}}
GRANTS: list[dict[str, Any]] = []
_REQUEST = re.compile(r"\b(viewer|admin) access for (\w+)", re.I)


class UserArgs(BaseModel):
    user: str = Field(description="the user name")


class GrantArgs(BaseModel):
    user: str = Field(description="the user name")
    role: Literal["viewer", "admin"] = Field(description="the role to grant")


@agent_tool(args_schema=UserArgs, side_effects=False)
def lookup_user(user: str) -> dict[str, Any]:
    """Look a user up: whether the account is active."""
    if user not in USERS:
        raise ValueError(f"no user {user}")
    return dict(USERS[user])


@agent_tool(args_schema=GrantArgs, side_effects=True, idempotent=True, locked_args=("user",))
def grant_access(user: str, role: str) -> dict[str, Any]:
    """Grant a role to a user. Changes who may do what."""
    grant = {"grant_id": f"G-{len(GRANTS) + 1}", "user": user, "role": role}
    GRANTS.append(grant)
    return grant


class AccessRecommendation(BaseModel):
    decision: Literal["grant", "deny"] = Field(description="grant the role or deny it")
    rationale: str = Field(min_length=1, description="why")


@dataclass(kw_only=True)
class AccessContext(HitlContext):
    """The access desk's context: which roles a policy may grant on its own."""

    auto_roles: tuple[str, ...] = field(default=("viewer",))


def read_access_case(text: str) -> dict[str, Any] | str:
    found = _REQUEST.search(text)
    if found is None:
        return "Which role, for whom? Say e.g. 'viewer access for alice'."
    return {"role": found.group(1).lower(), "user": found.group(2).lower()}


def access_policy(view: CaseView, context: HitlContext) -> PolicyDecision:
    assert isinstance(context, AccessContext)
    recommendation = view.recommendation or {}
    if recommendation.get("decision") != "grant":
        return PolicyDecision(verdict="no_action", reasons=("the model recommends deny",))
    role, user = view.case["role"], view.case["user"]
    args = {"user": user, "role": role}
    if role in context.auto_roles:
        return PolicyDecision(
            verdict="auto_approve",
            args=args,
            call_key=user,
            summary=f"Grant {role} to {user}.",
            approval_reason=f"{role} is granted by policy",
        )
    return PolicyDecision(
        verdict="review",
        reasons=(f"{role} needs a person",),
        args=args,
        call_key=user,
        summary=f"Grant {role} to {user}? Needs review.",
        note=f"Why a person must decide: {role} needs a person.",
        details={"role": role},
    )


def access_facts(view: CaseView, outcome: Mapping[str, Any]) -> list[str]:
    role, user = view.case.get("role"), view.case.get("user")
    if outcome["status"] == "issued":
        return [
            f"{outcome['role']} access for {outcome['user']} was granted ({outcome['grant_id']})."
        ]
    return [f"No {role} access was granted to {user} ({outcome.get('why', 'not requested')})."]


def access_draft_problem(draft: str, outcome: Mapping[str, Any]) -> str | None:
    claims = re.search(r"\b(?:granted|you now have)\b", draft, re.I) and "no " not in draft.lower()
    return "draft claimed access" if outcome["status"] != "issued" and claims else None


def access_desk(action: BaseTool = grant_access) -> HitlDesk:
    return HitlDesk(
        name="access",
        read_case=read_access_case,
        describe_case=lambda case: f"user {case.get('user')}",
        lookups={"user": Lookup(lookup_user, lambda case: {"user": case["user"]})},
        recommendation_schema=AccessRecommendation,
        instructions="Recommend whether to grant the role.",
        context_label="Account",
        action=action,
        locked_args=("user",),
        policy_name="access-policy",
        decide=access_policy,
        reply_facts=access_facts,
        check_draft=access_draft_problem,
        context_schema=AccessContext,
    )


GRANT = {"decision": "grant", "rationale": "Needs it for the quarterly report."}


@pytest.fixture(autouse=True)
def _no_grants() -> Iterator[None]:
    GRANTS.clear()
    yield
    GRANTS.clear()


def run(
    request: str, replies: list[Any], **context: Any
) -> tuple[Any, ScriptedChatModel, dict[str, Any], InMemoryLedger]:
    model = ScriptedChatModel(replies=replies)
    ledger = InMemoryLedger()
    runtime = PatternRuntime(checkpointer=InMemorySaver(), ledger=ledger)
    graph = build_hitl_graph(model=model, desk=access_desk(), runtime=runtime, name="access")
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [("user", request)]}, config, context=context or None)
    return graph, model, config, ledger


def test_a_viewer_role_is_granted_by_policy_and_audited() -> None:
    graph, model, config, ledger = run("viewer access for alice please", [GRANT, "Done!"])

    state = graph.get_state(config)
    assert not state.interrupts and state.next == ()
    assert GRANTS == [{"grant_id": "G-1", "user": "alice", "role": "viewer"}]
    values = state.values
    assert values["case"] == {"role": "viewer", "user": "alice"}
    assert values["facts"] == {"user": {"user": "alice", "active": True}}
    assert values["policy"] == {"verdict": "auto_approve", "needs_review": False, "reasons": []}
    [record] = values["approvals"]
    assert (record["reviewer"], record["decision"], record["policy"]) == (
        "policy:auto",
        "accept",
        "access-policy",
    )
    assert record["tool_call_id"] == "access-alice-1"
    assert values["outcome"]["status"] == "issued" and values["outcome"]["grant_id"] == "G-1"
    assert values["outcome"]["reply_check"] == "passed"
    assert values["messages"][-1].text == "Done!"
    prompt = model.calls[0].messages[-1].text
    assert 'Account:\n{\n  "user": {' in prompt and "viewer access for alice" in prompt
    assert model.calls[0].messages[0].text == "Recommend whether to grant the role."
    [entry] = ledger.entries()
    assert entry.tool == "grant_access" and entry.status == "completed"


def test_an_admin_role_waits_and_a_person_approves_it() -> None:
    graph, model, config, _ = run("admin access for bob", [GRANT, "Access granted."])

    [pending] = graph.get_state(config).interrupts
    request = pending.value[0]
    assert request["action_request"] == {
        "action": "grant_access",
        "args": {"user": "bob", "role": "admin"},
    }
    assert "Why a person must decide: admin needs a person." in request["description"]
    assert graph.get_state(config).values["policy"]["needs_review"] is True
    assert GRANTS == []

    graph.invoke(Command(resume={"type": "accept", "reviewer": "it-ops"}), config)

    values = graph.get_state(config).values
    assert GRANTS == [{"grant_id": "G-1", "user": "bob", "role": "admin"}]
    assert values["approvals"][-1]["reviewer"] == "it-ops"
    assert values["approvals"][-1]["policy"] == "access-policy"
    assert values["outcome"]["status"] == "issued"
    assert "admin access for bob was granted (G-1)." in model.calls[-1].messages[-1].text


def test_an_admin_role_rejected_grants_nothing_and_the_false_claim_is_replaced() -> None:
    graph, _, config, _ = run("admin access for bob", [GRANT, "You now have admin access."])

    graph.invoke(Command(resume={"type": "ignore", "reviewer": "it-ops", "reason": "no"}), config)

    values = graph.get_state(config).values
    assert GRANTS == []
    assert values["outcome"]["status"] == "not_issued" and values["outcome"]["why"] == "rejected"
    assert values["outcome"]["reply_check"] == "draft claimed access; replaced by the template"
    assert values["messages"][-1].text == (
        "Thank you for your patience.\n- No admin access was granted to bob (rejected)."
    )


def test_an_edit_may_not_grant_the_role_to_someone_else() -> None:
    graph, _, config, _ = run("admin access for bob", [GRANT, "ok"])

    edit = {"type": "edit", "args": {"user": "alice", "role": "admin"}}
    graph.invoke(Command(resume=edit), config)

    [pending] = graph.get_state(config).interrupts
    assert "an edit may not change user" in pending.value[0]["description"]
    assert GRANTS == []


def test_an_invalid_recommendation_ends_cleanly_with_the_reason() -> None:
    bad = {"decision": "maybe", "rationale": ""}
    graph, model, config, _ = run("viewer access for alice", [bad, bad, "We will get back."])

    state = graph.get_state(config)
    values = state.values
    assert state.next == () and not state.interrupts
    assert GRANTS == [] and not values.get("approvals")
    assert values["recommendation"] is None
    assert values["policy"]["verdict"] == "no_action"
    assert values["policy"]["invalid_output"]["attempts"] == 2
    assert values["outcome"]["why"] == "invalid_recommendation"
    assert "access recommender gave no valid AccessRecommendation" in values["outcome"]["reason"]
    assert " was invalid (" in model.calls[1].last_text, "asked again with the error"
    assert values["messages"][-1].text == "We will get back."


def test_a_deny_proposes_nothing() -> None:
    graph, _, config, _ = run(
        "admin access for bob", [{"decision": "deny", "rationale": "no"}, "Sorry."]
    )

    values = graph.get_state(config).values
    assert not graph.get_state(config).interrupts and GRANTS == []
    assert values["policy"]["reasons"] == ["the model recommends deny"]
    assert values["outcome"] == {"status": "not_requested", "reply_check": "passed"}


def test_a_request_without_a_case_is_answered_by_the_desk() -> None:
    graph, model, config, _ = run("hello there", [])

    last = graph.get_state(config).values["messages"][-1]
    assert last.name == "access_desk" and "Which role, for whom?" in last.text
    assert model.calls == []


def test_a_failed_lookup_is_reported_not_raised() -> None:
    graph, model, config, _ = run("viewer access for mallory", [])

    last = graph.get_state(config).values["messages"][-1]
    assert last.text.startswith("I could not look up user mallory:")
    assert model.calls == []


def test_the_run_context_uses_the_desks_context_schema() -> None:
    graph, _, config, _ = run("admin access for bob", [GRANT, "Done."], auto_roles=("admin",))

    assert not graph.get_state(config).interrupts
    assert GRANTS == [{"grant_id": "G-1", "user": "bob", "role": "admin"}]


def test_a_desk_with_clashing_tool_names_is_refused() -> None:
    with pytest.raises(ValueError, match="tool names must be unique"):
        access_desk(action=lookup_user)
