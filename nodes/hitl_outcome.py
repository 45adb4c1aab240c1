"""What happened to a hitl desk's action, read from the shared tool node's answer.

The tool node (`nodes.tool_execution`) answers every call with one `ToolMessage` whose text
says what became of it; `classify_outcome` turns that into the ``outcome`` the reply is drafted
from:

- ``issued``: the action ran (its JSON result is merged in);
- ``not_issued`` with ``why``: ``rejected`` (a person), ``expired`` (the deadline policy),
  ``answered`` (a reviewer responded instead) or ``failed`` (the tool refused or raised);
- ``unknown``: the tool was cut short; nobody may say either way;
- ``not_requested``: no action was proposed (``why``: ``invalid_recommendation`` when the
  model gave no valid recommendation).

Example:
    >>> from langchain_core.messages import ToolMessage
    >>> answer = ToolMessage("Rejected by ana: no", tool_call_id="c1", name="grant")
    >>> classify_outcome({"messages": [answer]}, "grant")["why"]
    'rejected'
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import ToolMessage

from nodes.hitl_recommend import invalid_recommendation
from state.hitl import HitlState

__all__ = ["classify_outcome"]


def _result(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"result": text}
    return parsed if isinstance(parsed, dict) else {"result": parsed}


def classify_outcome(state: HitlState, action: str) -> dict[str, Any]:
    """The outcome of this turn's `action` call (see the module docs for the statuses)."""
    last = state["messages"][-1]
    invalid = invalid_recommendation(state)
    if invalid is not None and not isinstance(last, ToolMessage):
        return {
            "status": "not_requested",
            "why": "invalid_recommendation",
            "reason": invalid["reason"],
        }
    if not isinstance(last, ToolMessage) or last.name != action:
        return {"status": "not_requested"}
    text = last.text
    if text.startswith("Outcome unknown") or "outcome is unknown" in text.lower():
        return {"status": "unknown", "reason": text}
    if text.startswith("Rejected by policy:deadline"):
        return {"status": "not_issued", "why": "expired", "reason": text}
    if text.startswith("Rejected by"):
        return {"status": "not_issued", "why": "rejected", "reason": text}
    if text.startswith("Not run."):
        return {"status": "not_issued", "why": "answered", "reason": text}
    if last.status == "error":
        return {"status": "not_issued", "why": "failed", "reason": text}
    return {"status": "issued", **_result(text)}
