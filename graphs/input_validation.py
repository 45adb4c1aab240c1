"""The input every graph accepts, checked before LangGraph checkpoints any of it.

LangGraph applies a run's input and saves it as a checkpoint (``source="input"``) before the
first node runs; a message it cannot read back (an unknown role, a tool message without an
id, bytes for content) then breaks every later read of the thread. So the checks here run
first, on the raw input, and raise `InvalidInputError` naming the message and the field:

- ``messages`` is a list of messages: LangChain message objects, ``{"role", "content"}``
  dicts (``type`` works in place of ``role``), ``(role, content)`` pairs or strings (user
  messages);
- known roles only: user/human, assistant/ai, system, and tool with a ``tool_call_id``;
- content is a string or a list of content blocks whose ``text`` is a string;
- no NUL character and no lone surrogate anywhere in the input (Postgres and UTF-8 cannot
  store them), nested tool-call arguments and resume values included;
- at most `MAX_INPUT_MESSAGES` messages per input and `MAX_MESSAGE_CHARS` characters of
  text per message; the environment variables ``AGENT_PATTERNS_MAX_INPUT_MESSAGES`` and
  ``AGENT_PATTERNS_MAX_MESSAGE_CHARS`` override them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)

from graphs.errors import InvalidInputError

__all__ = [
    "MAX_INPUT_MESSAGES",
    "MAX_INPUT_MESSAGES_ENV",
    "MAX_MESSAGE_CHARS",
    "MAX_MESSAGE_CHARS_ENV",
    "check_text",
    "input_limits",
    "validate_input",
    "validate_messages",
]

MAX_MESSAGE_CHARS = 100_000
"""Characters of text (content, names, tool-call arguments) one input message may carry."""
MAX_INPUT_MESSAGES = 100
"""Messages one input may carry."""
MAX_MESSAGE_CHARS_ENV = "AGENT_PATTERNS_MAX_MESSAGE_CHARS"
MAX_INPUT_MESSAGES_ENV = "AGENT_PATTERNS_MAX_INPUT_MESSAGES"

_MAX_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ROLES: dict[str, type[BaseMessage]] = {
    "user": HumanMessage,
    "human": HumanMessage,
    "assistant": AIMessage,
    "ai": AIMessage,
    "system": SystemMessage,
    "tool": ToolMessage,
}
_ALLOWED = (HumanMessage, AIMessage, SystemMessage, ToolMessage)
_ROLE_NAMES = "user/human, assistant/ai, system or tool"


def _limit(env: str, default: int) -> int:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{env} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{env} must be at least 1, got {value}")
    return value


def input_limits() -> tuple[int, int]:
    """(max messages per input, max characters per message), environment applied."""
    return (
        _limit(MAX_INPUT_MESSAGES_ENV, MAX_INPUT_MESSAGES),
        _limit(MAX_MESSAGE_CHARS_ENV, MAX_MESSAGE_CHARS),
    )


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def check_text(value: Any, *, index: int | None = None, path: str = "") -> int:
    """Refuse NUL and lone surrogates anywhere in `value`; return its characters of text.

    Walks strings, dict keys and values, lists and tuples (and the fields of LangChain
    messages), at most 32 levels deep.

    Args:
        value: what to check.
        index: the message it belongs to, for the error.
        path: where `value` sits inside that message (or the input), for the error.

    Raises:
        InvalidInputError: naming the field that holds the bad character.
    """
    return _walk(value, index, path, 0)


def _walk(value: Any, index: int | None, path: str, depth: int) -> int:
    if depth > _MAX_DEPTH:
        raise InvalidInputError(
            f"nested more than {_MAX_DEPTH} levels deep", index=index, field=path
        )
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is not None:
            what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
            raise InvalidInputError(
                f"text contains {what} (at position {found.start()}); send valid Unicode "
                "text without NUL",
                index=index,
                field=path or None,
            )
        return len(value)
    if isinstance(value, BaseMessage):
        fields = {k: v for k, v in value.__dict__.items() if v not in (None, "", [], {})}
        return _walk(fields, index, path, depth + 1)
    if isinstance(value, Mapping):
        total = 0
        for key, item in value.items():
            total += _walk(key, index, path, depth + 1) if isinstance(key, str) else 0
            total += _walk(item, index, _join(path, key), depth + 1)
        return total
    if isinstance(value, list | tuple):
        return sum(_walk(item, index, _join(path, i), depth + 1) for i, item in enumerate(value))
    return 0


def _role_of(raw: Any) -> str | None:
    """The role a raw message claims, or None when it claims none."""
    if isinstance(raw, BaseMessage):
        return raw.type
    if isinstance(raw, str):
        return "user"
    if isinstance(raw, Mapping):
        role = raw.get("role", raw.get("type"))
        return role if isinstance(role, str) else None
    if isinstance(raw, list | tuple) and len(raw) == 2 and isinstance(raw[0], str):
        return raw[0]
    return None


def _check_shape(raw: Any, index: int) -> None:
    """Refuse what LangChain would turn into something unreadable, before converting."""
    if not isinstance(raw, BaseMessage | str | Mapping | list | tuple):
        raise InvalidInputError(
            f"a message must be a message object, a {{'role', 'content'}} object, a "
            f"(role, content) pair or a string, got {type(raw).__name__}",
            index=index,
        )
    role = _role_of(raw)
    if role is None:
        raise InvalidInputError(
            f"the message has no role; use {_ROLE_NAMES}", index=index, field="role"
        )
    if role not in _ROLES and not isinstance(raw, _ALLOWED):
        field = "type" if isinstance(raw, BaseMessage) else "role"
        raise InvalidInputError(
            f"unknown role {role!r}; use {_ROLE_NAMES}", index=index, field=field
        )
    if isinstance(raw, Mapping) and "content" not in raw:
        raise InvalidInputError("the message has no content", index=index, field="content")
    if isinstance(raw, Mapping) and _ROLES.get(role) is ToolMessage:
        call_id = raw.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidInputError(
                "a tool message needs the tool_call_id it answers",
                index=index,
                field="tool_call_id",
            )


def _check_content(message: BaseMessage, index: int) -> None:
    content = message.content
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise InvalidInputError(
            f"content must be text or a list of content blocks, got {type(content).__name__}",
            index=index,
            field="content",
        )
    for position, block in enumerate(content):
        if isinstance(block, str):
            continue
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise InvalidInputError(
                "a content block must be text or an object with a string 'type'",
                index=index,
                field=f"content[{position}]",
            )
        if "text" in block and not isinstance(block["text"], str):
            raise InvalidInputError(
                f"a content block's text must be a string, got {type(block['text']).__name__}",
                index=index,
                field=f"content[{position}].text",
            )


def _text_size(raw: Any, index: int) -> int:
    """Check the text of one raw message (NUL, surrogates); return its characters."""
    if isinstance(raw, str):
        return check_text(raw, index=index, path="content")
    if isinstance(raw, list | tuple):
        role, content = raw
        return check_text(role, index=index, path="role") + check_text(
            content, index=index, path="content"
        )
    return check_text(raw, index=index)


def _converted(raw: Any, index: int) -> BaseMessage:
    _check_shape(raw, index)
    if isinstance(raw, Mapping) and isinstance(raw.get("content"), bytes | bytearray):
        raise InvalidInputError("content must be text, not bytes", index=index, field="content")
    try:
        [message] = convert_to_messages([raw])
    except (ValueError, KeyError, TypeError, NotImplementedError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"not a valid message: {problem}", index=index) from None
    if not isinstance(message, _ALLOWED):
        raise InvalidInputError(
            f"unknown role {message.type!r}; use {_ROLE_NAMES}", index=index, field="type"
        )
    if isinstance(message, ToolMessage) and not message.tool_call_id:
        raise InvalidInputError(
            "a tool message needs the tool_call_id it answers", index=index, field="tool_call_id"
        )
    return message


def validate_messages(messages: Any, *, state_update: bool = False) -> list[BaseMessage]:
    """Check ``input["messages"]``; return them as LangChain messages.

    Args:
        messages: the raw value of the input's ``messages`` key.
        state_update: check a state update's messages instead (``update_state``): a single
            message is accepted, `RemoveMessage` is allowed (deleting history is what
            updates are for) and there is no limit on the number of messages.

    Returns:
        The converted messages (for inspection; the caller passes the raw input on).

    Raises:
        InvalidInputError: for the first problem found, naming the message and field.
    """
    if state_update and not isinstance(messages, list | tuple):
        messages = [messages]
    if not isinstance(messages, list | tuple):
        raise InvalidInputError(
            f"messages must be a list of messages, got {type(messages).__name__}",
            field="messages",
        )
    max_messages, max_chars = input_limits()
    if len(messages) > max_messages and not state_update:
        raise InvalidInputError(
            f"{len(messages)} messages in one input; send at most {max_messages} messages "
            f"(${MAX_INPUT_MESSAGES_ENV} raises the limit)",
            field="messages",
        )
    converted: list[BaseMessage] = []
    for index, raw in enumerate(messages):
        if state_update and isinstance(raw, RemoveMessage):
            check_text(raw, index=index)
            continue
        message = _converted(raw, index)
        _check_content(message, index)
        size = _text_size(raw, index)
        if size > max_chars:
            raise InvalidInputError(
                f"{size} characters of text in one message; the limit is {max_chars} "
                f"characters (${MAX_MESSAGE_CHARS_ENV} raises it)",
                index=index,
            )
        converted.append(message)
    return converted


def validate_input(value: Any) -> None:
    """Check a run's input object (``{"messages": [...], ...}``).

    Raises:
        InvalidInputError: for a non-object input, missing or malformed messages, NUL or a
            lone surrogate in any other key.
    """
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f'the input must be an object like {{"messages": [...]}}, got {type(value).__name__}'
        )
    if "messages" not in value:
        raise InvalidInputError('the input needs "messages": a list of messages', field="messages")
    validate_messages(value["messages"])
    for key, item in value.items():
        if key != "messages":
            check_text(item, path=str(key))
