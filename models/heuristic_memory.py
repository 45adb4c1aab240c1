r"""Recalled memories in the system prompt, for the offline demo model.

The memory agent puts what it recalled about the user into the system prompt
(`nodes.memory.render_memories`): a header line that mentions remembering, then one
``- <text> (noted <date>)`` line per memory. The demo model reads those lines back and, when
the request asks about them (or shares words with one), restates the relevant ones.

Example:
    >>> from langchain_core.messages import SystemMessage
    >>> header = "What you remember about this user:"
    >>> prompt = f"Be brief.\n\n{header}\n- Prefers email (noted 2026-01-02)"
    >>> memories = recalled_memories([SystemMessage(prompt)])
    >>> memories, relevant_memories("How should you contact me?", memories)
    (['Prefers email'], ['Prefers email'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, SystemMessage

from models.heuristic_intents import concepts

__all__ = ["asks_about_memories", "recalled_memories", "relevant_memories"]

_NOTED = re.compile(r"\s*\(noted [^)]*\)\s*$")
_ASKS = re.compile(
    r"\b(?:remember\w*|recall\w*|what do you know about me|know about me|(?:i|we) (?:told|said|"
    r"asked|mentioned)|my (?:preference|preferences|details|profile)|do i prefer|did i (?:say|"
    r"tell|ask|mention))\b",
    re.I,
)
_GENERIC = frozenset({"prefe", "user", "custo", "noted", "earli", "conve"})
"""Stems that every memory shares, so they do not make one relevant."""


def recalled_memories(messages: Sequence[BaseMessage]) -> list[str]:
    """The memories listed in the system prompt (text only, without the "noted" date)."""
    found: list[str] = []
    for message in messages:
        if not isinstance(message, SystemMessage):
            continue
        in_block = False
        for line in message.text.splitlines():
            stripped = line.strip()
            if re.search(r"\bremember", stripped, re.I) and stripped.endswith(":"):
                in_block = True
            elif in_block and stripped.startswith("- "):
                found.append(_NOTED.sub("", stripped[2:]).strip())
            elif in_block and stripped:
                in_block = False
    return found


def asks_about_memories(request: str) -> bool:
    """Whether the request asks what was remembered ("what do you remember about me?")."""
    return bool(_ASKS.search(request))


def relevant_memories(request: str, memories: Sequence[str]) -> list[str]:
    """The memories that share concepts with the request; all of them when it asks about them."""
    if asks_about_memories(request):
        wanted = concepts(request) - _GENERIC
        overlapping = [m for m in memories if wanted & (concepts(m) - _GENERIC)]
        return overlapping or list(memories)
    wanted = concepts(request) - _GENERIC
    return [m for m in memories if wanted & (concepts(m) - _GENERIC)]
