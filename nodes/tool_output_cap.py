"""The tool-output cap: a tool result longer than the limit is cut, with a notice the model sees.

`nodes.controls.WindowSettings.max_tool_output_chars` sets the limit (None: off). The tool
node applies `cap_outputs` to what every call returns, fresh or replayed from the effect
ledger: the ledger keeps the full text it recorded, and each replay is capped the same way.
A capped message ends with a notice such as
``[output truncated: showing the first 20,000 of 183,202 characters]`` and carries the full
length in ``additional_kwargs["truncated_from_chars"]`` (it survives checkpoints).

Text content is cut at the limit; content made of blocks is capped on its text parts (strings
and ``{"type": "text"}`` blocks share the limit, in order; other blocks are kept).

Example:
    >>> from langchain_core.messages import ToolMessage
    >>> long = ToolMessage(content="x" * 300, tool_call_id="c1", name="dump")
    >>> capped = cap_tool_message(long, 200)
    >>> capped.text.endswith("[output truncated: showing the first 200 of 300 characters]")
    True
    >>> cap_tool_message(long, None) is long
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.types import Command

from nodes.control_events import emit_event

__all__ = ["TRUNCATED_KEY", "cap_outputs", "cap_tool_message", "truncation_notice"]

TRUNCATED_KEY = "truncated_from_chars"
"""The ``additional_kwargs`` key of a capped message: how long its text was."""


def truncation_notice(shown: int, total: int) -> str:
    """The notice the model sees at the end of a capped output."""
    return f"[output truncated: showing the first {shown:,} of {total:,} characters]"


def _text_length(content: str | list[Any]) -> int:
    if isinstance(content, str):
        return len(content)
    total = 0
    for block in content:
        if isinstance(block, str):
            total += len(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            total += len(str(block.get("text", "")))
    return total


def _cut_blocks(content: list[Any], limit: int) -> list[Any]:
    """The blocks with their text parts cut to `limit` characters in all (others kept)."""
    left = limit
    kept: list[Any] = []
    for block in content:
        if isinstance(block, str):
            if left > 0:
                kept.append(block[:left])
            left -= min(len(block), max(left, 0))
        elif isinstance(block, dict) and block.get("type") == "text":
            text = str(block.get("text", ""))
            if left > 0:
                kept.append({**block, "text": text[:left]})
            left -= min(len(text), max(left, 0))
        else:
            kept.append(block)
    return kept


def cap_tool_message(message: ToolMessage, max_chars: int | None) -> ToolMessage:
    """`message` with its text cut to `max_chars` and a notice appended (itself if short).

    Args:
        message: a tool result.
        max_chars: the limit on its text (None: no limit).

    Returns:
        The message itself when within the limit, else a capped copy.
    """
    if max_chars is None:
        return message
    total = _text_length(message.content)
    if total <= max_chars:
        return message
    notice = truncation_notice(max_chars, total)
    content: str | list[Any]
    if isinstance(message.content, str):
        content = f"{message.content[:max_chars]}\n\n{notice}"
    else:
        content = [*_cut_blocks(message.content, max_chars), {"type": "text", "text": notice}]
    extra = {**message.additional_kwargs, TRUNCATED_KEY: total}
    emit_event(
        "tool_output_cap",
        {
            "tool": message.name,
            "tool_call_id": message.tool_call_id,
            "shown": max_chars,
            "total": total,
        },
    )
    return message.model_copy(update={"content": content, "additional_kwargs": extra})


def _cap_command(command: Command[Any], max_chars: int) -> Command[Any]:
    """A Command whose update's tool messages are capped (other parts untouched)."""
    update = command.update
    if not isinstance(update, dict) or not isinstance(update.get("messages"), list):
        return command
    messages = [
        cap_tool_message(m, max_chars) if isinstance(m, ToolMessage) else m
        for m in update["messages"]
    ]
    if all(new is old for new, old in zip(messages, update["messages"], strict=True)):
        return command
    return Command(
        graph=command.graph,
        update={**update, "messages": messages},
        resume=command.resume,
        goto=command.goto,
    )


def cap_outputs(
    outputs: Sequence[ToolMessage | Command[Any]], max_chars: int | None
) -> list[ToolMessage | Command[Any]]:
    """A call's outputs with every tool message capped (in Command updates too)."""
    if max_chars is None:
        return list(outputs)
    return [
        cap_tool_message(o, max_chars) if isinstance(o, ToolMessage) else _cap_command(o, max_chars)
        for o in outputs
    ]
