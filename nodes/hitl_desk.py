"""What a human-in-the-loop desk is: `HitlDesk`, the configuration `graphs.hitl` runs.

A desk says how to read a case from a request, which read-only look-ups to make, what the model
recommends (a pydantic schema and instructions), the policy in code that decides between an
automatic approval, a person's review and no action (and builds the side-effecting call), and
which facts the reply is drafted from and how a draft is checked. The graph owns the rest: the
state, the structured recommendation and its invalid-output policy, binding an automatic
approval in the ledger, the shared approval gate and tool node, the outcome and the reply.

Example:
    >>> from pydantic import BaseModel
    >>> from langchain_core.tools import tool
    >>> @tool
    ... def find_user(user: str) -> dict:
    ...     "Look a user up."
    ...     return {"user": user}
    >>> @tool
    ... def grant(user: str) -> dict:
    ...     "Grant access."
    ...     return {"user": user}
    >>> class Advice(BaseModel):
    ...     grant: bool
    >>> desk = HitlDesk(
    ...     name="access",
    ...     read_case=lambda text: {"user": text.split()[-1]},
    ...     describe_case=lambda case: f"user {case['user']}",
    ...     lookups={"user": Lookup(find_user, lambda case: {"user": case["user"]})},
    ...     recommendation_schema=Advice,
    ...     instructions="Recommend whether to grant access.",
    ...     action=grant,
    ...     policy_name="access-policy",
    ...     decide=lambda view, context: PolicyDecision(verdict="no_action"),
    ...     reply_facts=lambda view, outcome: ["Nothing was changed."],
    ... )
    >>> sorted(desk.tools_by_name), desk.message_name, desk.recommender_role
    (['find_user', 'grant'], 'access_desk', 'access recommender')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel

from state.hitl import CaseView, HitlContext, HitlState, PolicyDecision

__all__ = [
    "DEFAULT_REPLY_INSTRUCTIONS",
    "DraftCheck",
    "HitlDesk",
    "Lookup",
    "case_view",
    "earlier_results",
]

DEFAULT_REPLY_INSTRUCTIONS = (
    "Draft a short, polite reply to the requester from the facts given. Do not say the "
    "request was carried out unless the facts say so. Do not invent details."
)

DraftCheck = Callable[[str, Mapping[str, Any]], str | None]
"""``(draft, outcome) -> problem or None``: what is wrong with a draft (e.g. ``"draft claimed a
refund"``); a draft with a problem is replaced by a template of the facts."""


def _no_check(draft: str, outcome: Mapping[str, Any]) -> str | None:
    return None


@dataclass(frozen=True)
class Lookup:
    """One read-only look-up: the tool and how its arguments come from the case.

    Attributes:
        tool: a read-only tool (transient failures are retried with backoff).
        args: ``case -> arguments`` of the call.
    """

    tool: BaseTool
    args: Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class HitlDesk:
    """A desk's configuration of the investigate, recommend, gate, act, reply workflow.

    Attributes:
        name: short name (``"refund"``): names the desk's messages (``<name>_desk``), the
            recommender (``<name> recommender``), the proposed call's id
            (``<name>-<call_key>-<turn>``) and the offline roles (``hitl.<name>.*``).
        read_case: ``request text -> case`` (a JSON-safe dict), or a reply (str) that
            answers the request and ends the turn (no case, not this desk's request).
        describe_case: ``case -> "order A-1002"``, for messages about the case.
        lookups: read-only look-ups by fact name, made in order; a failure ends the turn
            with a reply saying so.
        recommendation_schema: the pydantic model the recommender answers with.
        instructions: the recommender's instructions (a run's ``system_prompt`` wins).
        context_label: the heading of the facts in the recommender's prompt.
        action: the side-effecting tool the desk proposes.
        locked_args: the action's arguments a reviewer's edit may not change.
        policy_name: recorded with every decision on the action (audit trail).
        decide: the policy in code: ``(CaseView, context) -> PolicyDecision``.
        reply_facts: ``(CaseView, outcome) -> facts`` the reply is drafted from.
        reply_instructions: the reply writer's instructions.
        check_draft: what is wrong with a draft (`DraftCheck`); default: nothing.
        context_schema: the run's context class (`HitlContext` or a subclass).
    """

    name: str
    read_case: Callable[[str], dict[str, Any] | str]
    describe_case: Callable[[Mapping[str, Any]], str]
    lookups: Mapping[str, Lookup]
    recommendation_schema: type[BaseModel]
    instructions: str
    context_label: str = "Case context"
    action: BaseTool
    locked_args: tuple[str, ...] = ()
    policy_name: str
    decide: Callable[[CaseView, HitlContext], PolicyDecision]
    reply_facts: Callable[[CaseView, Mapping[str, Any]], list[str]]
    reply_instructions: str = DEFAULT_REPLY_INSTRUCTIONS
    check_draft: DraftCheck = field(default=_no_check)
    context_schema: type[HitlContext] = HitlContext

    def __post_init__(self) -> None:
        names = [lookup.tool.name for lookup in self.lookups.values()] + [self.action.name]
        if len(set(names)) != len(names):
            raise ValueError(f"desk {self.name!r}: tool names must be unique, got {names}")
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"desk name must be a short identifier, got {self.name!r}")

    @property
    def tools_by_name(self) -> dict[str, BaseTool]:
        """Every tool of the desk by name: the look-ups, then the action."""
        tools = [lookup.tool for lookup in self.lookups.values()] + [self.action]
        return {tool.name: tool for tool in tools}

    @property
    def message_name(self) -> str:
        """The name on the desk's own messages (early replies, the proposed call)."""
        return f"{self.name}_desk"

    @property
    def recommender_role(self) -> str:
        """Who is asked for the recommendation (in an invalid output's reason)."""
        return f"{self.name} recommender"

    def offline_role(self, step: str) -> str:
        """The role an offline stand-in registers for a step (``"recommender"``)."""
        return f"hitl.{self.name}.{step}"


def earlier_results(messages: list[AnyMessage], action: str) -> tuple[dict[str, Any], ...]:
    """The JSON results of `action` calls that succeeded earlier in the conversation."""
    found = []
    for message in messages:
        if not isinstance(message, ToolMessage) or message.name != action:
            continue
        if message.status == "error" or message.text.startswith("Not run."):
            continue
        try:
            result = json.loads(message.text)
        except ValueError:
            continue
        if isinstance(result, dict):
            found.append(result)
    return tuple(found)


def case_view(state: HitlState, desk: HitlDesk) -> CaseView:
    """The current turn as the desk's policy and reply see it."""
    messages = state["messages"]
    return CaseView(
        case=dict(state.get("case") or {}),
        facts=dict(state.get("facts") or {}),
        recommendation=state.get("recommendation"),
        turn=sum(isinstance(m, HumanMessage) for m in messages),
        earlier_results=earlier_results(messages, desk.action.name),
    )
