"""A chat model that replies from a script: the test double for graphs built on tool calling.

`ScriptedChatModel` is shipped in the package (not hidden in the tests) so users can test their
own graphs the way this project tests its patterns: deterministic replies, real tool calls,
structured output and streaming, and a record of every call the graph made.
"""

from __future__ import annotations

import inspect
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, ToolCall
from pydantic import BaseModel, ConfigDict, PrivateAttr

from models.base import OfflineChatModel

__all__ = [
    "ScriptExhaustedError",
    "ScriptedCall",
    "ScriptedChatModel",
    "ScriptedReply",
    "tool_calls_reply",
]

ScriptedReply = (
    AIMessage
    | str
    | dict[str, Any]
    | BaseModel
    | BaseException
    | Callable[..., "AIMessage | str | dict[str, Any] | BaseModel"]
)
"""One entry of a script.

- `AIMessage`: returned as is (tool calls included); empty tool-call ids (``"id": None``,
  as `tool_calls_reply` leaves them) are filled in.
- `str`: an answer with that text.
- `dict` or pydantic model: a structured reply. Under `with_structured_output` it becomes the
  parsed output; otherwise it is returned as JSON text.
- an exception instance: raised, to test retries and failure paths.
- a callable: called with the messages the model received (and, if it takes a second
  parameter, the names of the tools bound to this call); its return value is used as above.
  A policy written this way can drive several agents or frameworks with the same behaviour.
"""


class ScriptExhaustedError(RuntimeError):
    """Raised when the graph calls the model more often than the script has replies."""


@dataclass
class ScriptedCall:
    """What the model received on one call."""

    messages: list[BaseMessage]
    tools: list[str] = field(default_factory=list)
    structured_output: str | None = None

    @property
    def last_text(self) -> str:
        """Text of the last message the model received."""
        return self.messages[-1].text if self.messages else ""


class ScriptedChatModel(OfflineChatModel):
    """A chat model that returns scripted replies in order and records every call.

    Supports `bind_tools`, `with_structured_output` (pydantic class, TypedDict or JSON schema,
    through the standard tool-calling path) and streaming that keeps tool calls intact.

    Example:
        >>> lookup = tool_calls_reply(("lookup_order", {"order_id": "A-1001"}))
        >>> model = ScriptedChatModel(replies=[lookup, "Shipped."])
        >>> model.invoke("Where is A-1001?").tool_calls[0]["name"]
        'lookup_order'
        >>> model.calls[0].last_text
        'Where is A-1001?'

    Args:
        replies: the script, consumed one entry per call.
        cycle: start over at the first reply when the script runs out instead of raising.
        index_by: `"call"` consumes the script in call order (the default). `"turn"` picks the
            reply by the number of AI messages already in the prompt, which makes the model
            stateless: a process that resumes a thread from a checkpoint gets the same reply
            an uninterrupted run would have got.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    replies: list[Any]
    cycle: bool = False
    index_by: Literal["call", "turn"] = "call"

    _position: int = PrivateAttr(default=0)
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def calls(self) -> list[ScriptedCall]:
        """Every call received so far, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used (with `index_by="call"`)."""
        with self._lock:
            return max(len(self.replies) - self._position, 0)

    def reset(self) -> None:
        """Rewind the script and forget recorded calls."""
        with self._lock:
            self._position = 0
            self._calls.clear()

    def _reply(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]],
        forced_tool: str | None,
        **kwargs: Any,
    ) -> AIMessage:
        with self._lock:
            self._calls.append(
                ScriptedCall(
                    messages=list(messages),
                    tools=[t["function"]["name"] for t in tools],
                    structured_output=forced_tool,
                )
            )
            if self.index_by == "turn":
                index = sum(isinstance(m, AIMessage) for m in messages)
            else:
                index = self._position
                self._position += 1
            if index >= len(self.replies):
                if not self.cycle or not self.replies:
                    raise ScriptExhaustedError(
                        f"ScriptedChatModel has {len(self.replies)} scripted replies but was "
                        f"called for reply #{index + 1}. Last message received: "
                        f"{messages[-1].text[:200] if messages else '(none)'!r}"
                    )
                index %= len(self.replies)
            reply = self.replies[index]
        if callable(reply) and not isinstance(reply, BaseModel | BaseException):
            names = [t["function"]["name"] for t in tools]
            takes_tools = len(inspect.signature(reply).parameters) >= 2
            reply = reply(list(messages), names) if takes_tools else reply(list(messages))
        if isinstance(reply, BaseException):
            raise reply
        return _to_ai_message(reply, forced_tool)


def tool_calls_reply(*calls: tuple[str, dict[str, Any]], text: str = "") -> AIMessage:
    """A scripted reply that calls tools: ``tool_calls_reply(("lookup_order", {...}))``.

    Call ids are left empty so each use of the reply gets fresh ones.
    """
    return AIMessage(
        content=text,
        tool_calls=[ToolCall(name=n, args=a, id=None, type="tool_call") for n, a in calls],
    )


def _to_ai_message(reply: Any, structured: str | None) -> AIMessage:
    if isinstance(reply, AIMessage):
        calls = [
            ToolCall(name=c["name"], args=c["args"], id=c.get("id") or _call_id(), type="tool_call")
            for c in reply.tool_calls
        ]
        return reply.model_copy(update={"tool_calls": calls, "id": reply.id or _message_id()})
    if isinstance(reply, BaseModel):
        reply = reply.model_dump(mode="json")
    if isinstance(reply, dict):
        if structured:
            return AIMessage(
                content="",
                id=_message_id(),
                tool_calls=[ToolCall(name=structured, args=reply, id=_call_id(), type="tool_call")],
            )
        return AIMessage(content=json.dumps(reply), id=_message_id())
    if isinstance(reply, str):
        return AIMessage(content=reply, id=_message_id())
    raise TypeError(f"Unsupported scripted reply of type {type(reply).__name__}: {reply!r}")


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def _message_id() -> str:
    return f"scripted-{uuid.uuid4().hex[:12]}"
