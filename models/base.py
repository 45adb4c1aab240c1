"""Shared base of the offline chat models: tool binding, generation and streaming.

Subclasses implement `_reply(messages, tools, forced_tool)`; this base turns the reply into a
result or a stream of chunks whose tool-call chunks merge back into the same tool calls (the
fake models in langchain-core drop them when streaming).

Every reply carries ``usage_metadata``: a reply that brings none gets a deterministic
**estimate** from text length, ``ceil(characters / 4)`` tokens (`estimate_tokens`), the
prompt's messages for the input and the reply for the output (text plus tool-call arguments as
JSON; bound tool schemas are not counted). It is an estimate, not any tokenizer's count; it
exists so that usage accounting (`nodes.usage`) behaves offline as it does with a provider.
"""

from __future__ import annotations

import json
import math
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from tools.registry import SIDE_EFFECTS_KEY

__all__ = ["OfflineChatModel", "estimate_tokens", "estimated_usage"]


class OfflineChatModel(BaseChatModel):
    """A chat model computed in-process: supports tools, structured output and streaming.

    `with_structured_output` comes from `BaseChatModel`: it binds the schema as the only tool
    and forces it, so `_reply` receives ``forced_tool`` and answers with a call to it.
    """

    stream_chunk_chars: int = 8
    """How many characters of text each streamed chunk carries."""

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools the way provider integrations do (OpenAI tool format).

        A tool's declared side effects (see `tools.registry`) ride along as
        ``function.side_effects`` so offline models can read before they act.
        """
        formatted = []
        for tool in tools:
            spec = convert_to_openai_tool(tool)
            metadata = tool.metadata or {} if isinstance(tool, BaseTool) else {}
            if SIDE_EFFECTS_KEY in metadata:
                spec["function"]["side_effects"] = bool(metadata[SIDE_EFFECTS_KEY])
            formatted.append(spec)
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    @abstractmethod
    def _reply(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]],
        forced_tool: str | None,
        **kwargs: Any,
    ) -> AIMessage:
        """Compute the reply to `messages` given the bound tools (OpenAI format)."""

    def _reply_from_kwargs(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        tools = list(kwargs.pop("tools", None) or [])
        tool_choice = kwargs.pop("tool_choice", None)
        names = [t["function"]["name"] for t in tools]
        return self._reply(messages, tools, forced_tool_name(names, tool_choice), **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = with_usage(self._reply_from_kwargs(messages, kwargs), messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = with_usage(self._reply_from_kwargs(messages, kwargs), messages)
        for chunk in message_chunks(message, self.stream_chunk_chars):
            if run_manager and chunk.message.content:
                run_manager.on_llm_new_token(chunk.message.text, chunk=chunk)
            yield chunk


def estimate_tokens(chars: int) -> int:
    """The offline token estimate for `chars` characters: ``ceil(chars / 4)``."""
    return math.ceil(max(chars, 0) / 4)


def _chars(message: BaseMessage) -> int:
    calls = getattr(message, "tool_calls", None) or []
    return len(message.text) + sum(len(json.dumps(call["args"])) for call in calls)


def estimated_usage(messages: Sequence[BaseMessage], reply: AIMessage) -> UsageMetadata:
    """The estimate an offline model reports for `reply` to `messages` (module docs)."""
    input_tokens = estimate_tokens(sum(_chars(m) for m in messages))
    output_tokens = estimate_tokens(_chars(reply))
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def with_usage(reply: AIMessage, messages: Sequence[BaseMessage]) -> AIMessage:
    """`reply` with the estimated usage, unless it already reports some (a scripted one)."""
    if reply.usage_metadata is not None:
        return reply
    return reply.model_copy(update={"usage_metadata": estimated_usage(messages, reply)})


def forced_tool_name(tools: list[str], tool_choice: Any) -> str | None:
    """The tool a call forces (how `with_structured_output` asks for a schema), if any."""
    if not tools or tool_choice in (None, "none", "auto", False):
        return None
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
        return str(name) if name else None
    if isinstance(tool_choice, str) and tool_choice in tools:
        return tool_choice
    return tools[0] if len(tools) == 1 else None


def message_chunks(message: AIMessage, chunk_chars: int) -> Iterator[ChatGenerationChunk]:
    """Split a message into stream chunks; tool calls ride on the last chunk, whole."""
    text = message.text
    size = max(chunk_chars, 1)
    pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        calls = message.tool_calls if last else []
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content=piece,
                id=message.id,
                name=message.name,
                tool_call_chunks=[
                    tool_call_chunk(
                        name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=n
                    )
                    for n, call in enumerate(calls)
                ],
                response_metadata=dict(message.response_metadata) if last else {},
                usage_metadata=message.usage_metadata if last else None,
                chunk_position="last" if last else None,
            )
        )
