"""The hitl desk's recommendation: the model's structured advice on the case.

The model sees the request and the look-ups' facts and answers with the desk's schema through
`nodes.ask.ask_structured`: an invalid answer is asked for again once with the error; still
invalid, ``recommendation`` is None and ``policy`` records the `InvalidOutput` (verdict
``no_action``), so nothing is proposed and the reply says why.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from nodes.ask import InvalidOutput, ask_structured
from nodes.context import AgentNode, context_as
from nodes.hitl_desk import HitlDesk
from nodes.hitl_intake import latest_request
from nodes.model_call import resolve_model
from state.hitl import HitlContext, HitlState

__all__ = ["invalid_recommendation", "make_recommend"]


def make_recommend(model: BaseChatModel | None, desk: HitlDesk) -> AgentNode:
    """Build the node that asks for the desk's structured recommendation.

    Args:
        model: chat model, or None for the run's ``context.model``; on the offline demo model
            a stand-in registered for ``hitl.<desk>.recommender`` plays the role (it gets the
            ``case``, the ``facts`` and the ``schema``).
        desk: the desk (its schema, instructions and the facts' heading).
    """

    def recommend(state: HitlState, *, runtime: Runtime[HitlContext]) -> dict[str, Any]:
        """Ask the model for a recommendation that fits the desk's schema, citing facts."""
        context = context_as(runtime, desk.context_schema)
        case, facts = state.get("case") or {}, state.get("facts") or {}
        chosen = resolve_model(
            model,
            context.model,
            role=desk.offline_role("recommender"),
            inputs={"case": case, "facts": facts, "schema": desk.recommendation_schema},
        )
        answer = ask_structured(
            chosen,
            [
                SystemMessage(context.system_prompt or desk.instructions),
                HumanMessage(
                    f"Customer message:\n{latest_request(state)}\n\n"
                    f"{desk.context_label}:\n{json.dumps(facts, indent=2)}"
                ),
            ],
            desk.recommendation_schema,
            role=desk.recommender_role,
            label="recommendation",
        )
        if isinstance(answer, InvalidOutput):
            policy = {
                "verdict": "no_action",
                "needs_review": False,
                "reasons": [f"no valid recommendation: {answer.reason}"],
                "invalid_output": answer.record(),
            }
            return {"recommendation": None, "policy": policy}
        return {"recommendation": answer.model_dump(mode="json")}

    return recommend


def invalid_recommendation(state: HitlState) -> dict[str, Any] | None:
    """This turn's `InvalidOutput` record when the model gave no valid recommendation."""
    if state.get("recommendation") is not None:
        return None
    invalid: dict[str, Any] | None = (state.get("policy") or {}).get("invalid_output")
    return invalid
