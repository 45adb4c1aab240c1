"""Choosing whom to hand a request to, for the offline demo model in a swarm.

A swarm member has its own tools plus ``transfer_to_<agent>`` handoff tools whose descriptions
say what each peer handles (`tools.handoff`). The demo model decides once per turn, before
using its own tools, going through the intents the request states, strongest first
(`models.heuristic_intents.primary_intents`):

1. an acting tool of its own is named for the intent (``issue_refund`` for a refund): stay;
2. a peer's handoff names or describes the intent: hand off to the best match;
3. one of its own reading tools describes the intent: stay;
4. otherwise try the next intent; when none decides, stay.

A request that names a peer ("put me through to billing") goes there. At most one handoff per
turn, so two agents never pass a customer back and forth.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from models.heuristic_intents import intent_stems, primary_intents, stems
from tools.handoff import HANDOFF_PREFIX

__all__ = ["choose_handoff", "is_handoff", "side_effects"]

_BOILERPLATE = stems("Hand the conversation to the agent")
_GENERIC_VERBS = stems("issue create make run perform execute send do get set")


def is_handoff(tool: dict[str, Any]) -> bool:
    """Whether a bound tool (OpenAI format) is a ``transfer_to_<agent>`` handoff."""
    return str(tool["function"]["name"]).startswith(HANDOFF_PREFIX)


def side_effects(tool: dict[str, Any]) -> bool:
    """Whether a bound tool acts on the world (declared, else guessed from its name's verb)."""
    declared = tool["function"].get("side_effects")
    if declared is not None:
        return bool(declared)
    name = tool["function"]["name"].lower()
    reading = ("look", "search", "get", "fetch", "find", "list", "read", "check")
    return not name.startswith(reading)


def name_stems(tool: dict[str, Any]) -> set[str]:
    """Stems of what a tool's name says it does, generic verbs ("issue", "create") dropped."""
    return stems(str(tool["function"]["name"])) - _GENERIC_VERBS


def _described(tool: dict[str, Any]) -> set[str]:
    function = tool["function"]
    return stems(f"{function['name']} {function.get('description', '')}") - _BOILERPLATE


def _handed_off(turn: list[BaseMessage]) -> bool:
    return any(
        c["name"].startswith(HANDOFF_PREFIX)
        for m in turn
        if isinstance(m, AIMessage)
        for c in m.tool_calls
    )


def _named_peer(handoffs: list[dict[str, Any]], request: str) -> dict[str, Any] | None:
    for tool in handoffs:
        agent = tool["function"]["name"][len(HANDOFF_PREFIX) :]
        if re.search(rf"\b{re.escape(agent)}\b", request, re.I):
            return tool
    return None


def choose_handoff(
    tools: list[dict[str, Any]], request: str, turn: list[BaseMessage]
) -> dict[str, Any] | None:
    """The handoff tool to call for this request, or None to handle it here.

    Args:
        tools: the bound tools (OpenAI format), handoffs among them.
        request: the latest human message.
        turn: the messages of this turn (a handoff already made here stops another).
    """
    handoffs = [t for t in tools if is_handoff(t)]
    if not handoffs or _handed_off(turn):
        return None
    named = _named_peer(handoffs, request)
    if named is not None:
        return named
    own = [t for t in tools if not is_handoff(t)]
    for intent in primary_intents(request):
        words = intent_stems(intent)
        if any(side_effects(t) and words & name_stems(t) for t in own):
            return None
        scored = [(len(words & _described(t)), -i, t) for i, t in enumerate(handoffs)]
        best = max(scored, key=lambda item: item[:2])
        if best[0]:
            return best[2]
        if any(words & _described(t) for t in own):
            return None
    return None
