"""The hitl desk's reply: drafted by the model from the facts, checked in code.

The desk says which facts the reply is drafted from (`HitlDesk.reply_facts`, given the
outcome) and what is wrong with a draft (`HitlDesk.check_draft`, e.g. it claims a refund that
was not issued). An empty draft or one with a problem is replaced by a plain template of the
facts; ``outcome.reply_check`` says which happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from nodes.ask import ask_text
from nodes.context import AgentNode, context_as
from nodes.hitl_desk import HitlDesk, case_view
from nodes.hitl_outcome import classify_outcome
from nodes.model_call import resolve_model
from state.hitl import HitlContext, HitlState

__all__ = ["REPLY_NAME", "facts_template", "make_draft_reply"]

REPLY_NAME = "customer_reply"
"""The name on the reply to the requester."""


def _bullets(facts: Sequence[str]) -> str:
    return "\n".join(f"- {fact}" for fact in facts)


def facts_template(facts: Sequence[str]) -> str:
    """The reply that states only the facts (what replaces a draft that failed its check)."""
    return "Thank you for your patience.\n" + _bullets(facts)


def make_draft_reply(model: BaseChatModel | None, desk: HitlDesk) -> AgentNode:
    """Build the node that drafts the reply and checks it in code.

    Args:
        model: chat model, or None for the run's ``context.model``; on the offline demo model
            a stand-in registered for ``hitl.<desk>.reply_writer`` plays the role (it gets
            the ``facts`` and the ``outcome``).
        desk: the desk (its reply facts, instructions and draft check).
    """

    def draft_reply(state: HitlState, *, runtime: Runtime[HitlContext]) -> dict[str, Any]:
        """Draft the reply from the facts; replace a draft that fails the desk's check."""
        context = context_as(runtime, desk.context_schema)
        outcome = classify_outcome(state, desk.action.name)
        facts = desk.reply_facts(case_view(state, desk), outcome)
        chosen = resolve_model(
            model,
            context.model,
            role=desk.offline_role("reply_writer"),
            inputs={"facts": list(facts), "outcome": outcome},
        )
        text = ask_text(
            chosen,
            [SystemMessage(desk.reply_instructions), HumanMessage("Facts:\n" + _bullets(facts))],
            role="reply writer",
        ).strip()
        checked = "passed"
        problem = desk.check_draft(text, outcome) if text else None
        if not text:
            text, checked = facts_template(facts), "empty draft replaced by the template"
        elif problem:
            text, checked = facts_template(facts), f"{problem}; replaced by the template"
        return {
            "outcome": {**outcome, "reply_check": checked},
            "messages": [AIMessage(content=text, name=REPLY_NAME)],
        }

    return draft_reply
