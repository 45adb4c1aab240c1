"""The hitl desk's intake: read the case from the request, then make the read-only look-ups.

Either step may answer the request itself and end the turn: `read_case` when the request is
not the desk's (no case, another topic), `investigate` when a look-up fails (an unknown
order). The answer is a message named after the desk, which `route_after_intake` stops on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END

from nodes.context import AgentNode
from nodes.hitl_desk import HitlDesk
from nodes.retry import call_with_retries
from state.hitl import HitlState

__all__ = ["CONTINUE", "make_investigate", "make_parse_request", "make_route_after_intake"]

CONTINUE = "continue"
"""The route on to the next step (the other route is ``END``)."""


def desk_reply(desk: HitlDesk, text: str) -> AIMessage:
    """A message the desk writes itself (not the model), named after the desk."""
    return AIMessage(content=text, name=desk.message_name)


def latest_request(state: HitlState) -> str:
    """The text of the latest human message ("" when there is none)."""
    human = next((m for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), None)
    return human.text if human else ""


def make_parse_request(desk: HitlDesk) -> AgentNode:
    """Build the node that reads the case from the latest request (`HitlDesk.read_case`)."""

    def parse_request(state: HitlState) -> dict[str, Any]:
        """Read the case, or answer the request when it holds none."""
        case = desk.read_case(latest_request(state))
        if isinstance(case, str):
            return {"case": None, "messages": [desk_reply(desk, case)]}
        return {"case": case}

    return parse_request


def make_investigate(desk: HitlDesk) -> AgentNode:
    """Build the node that makes the desk's read-only look-ups, in order."""

    def investigate(state: HitlState) -> dict[str, Any]:
        """Gather the facts; a failed look-up is reported to the requester, not raised."""
        case = state.get("case") or {}
        facts: dict[str, Any] = {}
        for fact, lookup in desk.lookups.items():
            args = lookup.args(case)
            try:  # read-only: transient failures are retried with backoff
                facts[fact] = call_with_retries(partial(lookup.tool.invoke, args))
            except Exception as exc:  # noqa: BLE001 - reported to the requester, not raised
                text = f"I could not look up {desk.describe_case(case)}: {exc}"
                return {"facts": None, "messages": [desk_reply(desk, text)]}
        return {"facts": facts}

    return investigate


def make_route_after_intake(desk: HitlDesk) -> Callable[[HitlState], str]:
    """Build the router that stops when the previous step already answered the request."""

    def route_after_intake(state: HitlState) -> str:
        """``END`` after a desk's own answer (no case, a look-up failed), else on."""
        last = state["messages"][-1]
        is_answer = isinstance(last, AIMessage) and last.name == desk.message_name
        return END if is_answer else CONTINUE

    return route_after_intake
