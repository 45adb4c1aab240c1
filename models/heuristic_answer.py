"""The offline demo model's answers: restating what happened, and saying plainly what it cannot do.

The demo model (`models.heuristic`) never writes prose of its own. Its answer restates, in this
order: what a reviewer declined, what failed (and what it therefore did not go on to do), what
the tools returned, the knowledge-base passages the request is about (quoted with their
citations), what it could not do for want of an argument (naming the argument and how it
looks), and the recalled memories the request is about. When there is nothing of the kind it
says so in one plain paragraph, never "nothing to add" when nothing is above.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from tools.handoff import HANDOFF_PREFIX

__all__ = ["Outcome", "compose_answer", "describe", "json_or_none"]

_PREFACE = "I am the offline demo model (keyword heuristics, not an LLM)."
_REAL_MODEL = "Set OPENAI_API_KEY to use a real model."


@dataclass
class Outcome:
    """What the model could not do this turn, and what it remembers that matters.

    Attributes:
        missing: per tool it wanted to call, the required arguments it could not fill, each
            as ``(name, description)``.
        stopped: tools it would have called next had a step not failed.
        memories: recalled memories relevant to the request.
        tool_names: every bound tool's name (handoffs excluded).
        knowledge: quotes of the knowledge-base passages the request is about, each ending
            with the passage's citation (`models.heuristic_knowledge`).
    """

    missing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    memories: list[str] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)
    knowledge: list[str] = field(default_factory=list)


def json_or_none(text: str) -> Any:
    """`text` parsed as JSON, or None."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def describe(value: Any) -> str:
    """A tool result in one line: ``key: value`` pairs, names of listed items, doc titles."""
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if isinstance(item, list):
                names = [i.get("name") or i.get("title") for i in item if isinstance(i, dict)]
                names = [n for n in names if n]
                if names:
                    parts.append(f"{key.replace('_', ' ')}: {', '.join(map(str, names))}")
            elif not isinstance(item, dict) and item is not None:
                parts.append(f"{key.replace('_', ' ')}: {item}")
        return "; ".join(parts[:8])
    if isinstance(value, list):
        described = [
            f"{item.get('title')}: {item.get('text')}"
            + (f" {item['citation']}" if item.get("citation") else "")
            if isinstance(item, dict) and "title" in item
            else describe(item)
            for item in value[:3]
        ]
        return " | ".join(described) if described else "nothing found"
    return str(value)


def _tool_sections(turn: Sequence[BaseMessage], stopped: list[str]) -> list[str]:
    """What a person declined first, then failures, then facts."""
    names = {c["id"]: c["name"] for m in turn if isinstance(m, AIMessage) for c in m.tool_calls}
    declined, failed, facts = [], [], []
    for message in turn:
        if not isinstance(message, ToolMessage):
            continue
        name = names.get(message.tool_call_id) or message.name or "tool"
        if name.startswith(HANDOFF_PREFIX):
            continue  # a handoff acknowledgement is not a finding
        if message.text.startswith(("Rejected by", "Not run.")):
            declined.append(f"- {name}: {message.text}")
        elif message.status == "error":
            failed.append(f"- {name}: {message.text}")
        else:
            facts.append(_fact(name, message.text))
    sections = []
    if declined:
        sections.append(
            "A reviewer stopped part of this, so it was not done:\n" + "\n".join(declined)
        )
    if failed:
        failure = "Some steps failed:\n" + "\n".join(failed)
        if stopped:
            failure += f"\nSo I did not go on to {', '.join(stopped)}."
        sections.append(failure)
    if facts:
        sections.append("What the tools returned:\n" + "\n".join(facts))
    return sections


def _fact(name: str, text: str) -> str:
    """One tool's result: JSON described on one line; another agent's answer indented under it."""
    value = json_or_none(text)
    if value is not None:
        return f"- {name}: {describe(value)}"
    if "\n" in text.strip():  # an answer of its own (a worker's): keep its shape, nested
        return f"- {name}:\n" + textwrap.indent(text.strip(), "    ")
    return f"- {name}: {text}"


def _missing_section(missing: dict[str, list[tuple[str, str]]]) -> str:
    lines = []
    for tool, arguments in missing.items():
        needs = " and ".join(
            f"the {name.replace('_', ' ')}" + (f" ({text.rstrip('.')})" if text else "")
            for name, text in arguments
        )
        lines.append(f"- {tool} needs {needs}, and I found none in your message.")
    return (
        "I could not act on all of your request:\n"
        + "\n".join(lines)
        + ("\nTell me what is missing and I will try again.")
    )


def compose_answer(request: str, turn: Sequence[BaseMessage], outcome: Outcome) -> str:
    """The demo model's final answer for this turn.

    Args:
        request: the latest human message.
        turn: the messages from it on (tool calls and results).
        outcome: what it could not do, and the memories that matter.
    """
    sections = _tool_sections(turn, outcome.stopped)
    if outcome.knowledge:
        sections.append(
            "From the knowledge base:\n" + "\n".join(f"- {quote}" for quote in outcome.knowledge)
        )
    if outcome.missing:
        sections.append(_missing_section(outcome.missing))
    if outcome.memories:
        sections.append(
            "From earlier conversations I remember:\n"
            + "\n".join(f"- {memory}" for memory in outcome.memories)
        )
    if sections:
        has_results = any(isinstance(m, ToolMessage) for m in turn)
        preface = [] if has_results or outcome.memories or outcome.knowledge else [_PREFACE]
        return "\n\n".join(preface + sections)
    bullets = [line.strip() for line in request.splitlines() if line.strip().startswith("- ")]
    if bullets and not outcome.tool_names:  # asked to write from given facts: restate them
        return "Here is where things stand:\n" + "\n".join(bullets)
    if outcome.tool_names:
        return (
            f"{_PREFACE} I could not match your request to anything my tools do "
            f"({', '.join(outcome.tool_names)}), so I have not done anything. Say what you "
            f"need with the details those tools take, or {_REAL_MODEL[0].lower()}"
            f"{_REAL_MODEL[1:]}"
        )
    return (
        f"{_PREFACE} I can only call tools and restate what they return, and here I have no "
        f"tools and no results to restate, so I cannot answer this. {_REAL_MODEL}"
    )
