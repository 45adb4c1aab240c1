"""The model-call node, and how a node finds the model it calls.

`make_call_model` builds the tool-calling node: system prompt from the context, tools bound,
one reply appended. Every reply's tool-call ids are made unique in the thread
(`nodes.call_ids`) before any call can reach the approval gate. Its call goes through
`nodes.ask.invoke_model`, like every other model call.

`resolve_model` picks the model a node calls: the one the graph was built with, else the one
the run's spec names; for a role with a registered offline stand-in (`models.offline`), the
stand-in when that model is the offline demo model.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime

from models.factory import create_chat_model
from models.offline import offline_stand_in
from nodes.ask import invoke_model
from nodes.call_ids import with_unique_call_ids
from nodes.context import AgentNode, agent_context
from state.agent import AgentState
from state.context import AgentContext

__all__ = ["make_call_model", "model_for_spec", "resolve_model"]


@functools.lru_cache(maxsize=16)
def model_for_spec(spec: str) -> BaseChatModel:
    """The chat model for a context's model spec, built once per spec and process."""
    return create_chat_model(spec or None)


def resolve_model(
    model: BaseChatModel | None,
    spec: str,
    *,
    role: str | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> BaseChatModel:
    """The model a node calls: the one it was built with, else the one the run's spec names.

    Args:
        model: the model the graph was built with; None resolves `spec` on every run, so
            Studio and SDK users can switch models per run.
        spec: the run's model spec (``context.model``: ``"demo"``, ``"openai:<model>"``).
        role: the role the call plays (``"critique.judge"``); when the chosen model is the
            offline demo model (keyword heuristics, not an LLM) and a stand-in is registered
            for the role (`models.offline.register_offline`), the stand-in is returned.
        inputs: keyword inputs for the stand-in's factory (what it needs to play the role).

    Returns:
        The chat model to call.
    """
    chosen = model if model is not None else model_for_spec(spec)
    stand_in = offline_stand_in(chosen, role, **dict(inputs or {}))
    return stand_in if stand_in is not None else chosen


def make_call_model(
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    *,
    instructions: str | None = None,
    reply_name: str | None = None,
) -> AgentNode:
    """Build the node that calls the model with tools bound.

    The call goes through `nodes.ask.invoke_model` (role ``"agent"``, or `reply_name`), the
    one place every model call passes, where token accounting, budgets, fallbacks and circuit
    breakers are added.

    Args:
        model: a chat model; None means "resolve `runtime.context.model` on each run", so
            Studio and SDK users can switch models per run.
        tools: tools to bind (none: the model answers in text only).
        instructions: this agent's system prompt, in place of ``context.system_prompt`` (how
            agents of one multi-agent graph, sharing one context, get different roles); None
            or empty uses ``context.system_prompt``.
        reply_name: tag each reply with this name (``AIMessage.name``), so a conversation
            several agents write shows who said what.

    Returns:
        A node function ``call_model(state, runtime) -> {"messages": [reply]}``.
    """
    tool_list = list(tools)

    def call_model(state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Ask the model for the next step given the conversation so far."""
        context = agent_context(runtime)
        chat_model = resolve_model(model, context.model)
        runnable: Any = chat_model.bind_tools(tool_list) if tool_list else chat_model
        messages = [SystemMessage(instructions or context.system_prompt), *state["messages"]]
        reply = invoke_model(runnable, messages, role=reply_name or "agent")
        if isinstance(reply, AIMessage):
            reply = with_unique_call_ids(reply, state["messages"])
        if reply_name and isinstance(reply, AIMessage) and not reply.name:
            reply = reply.model_copy(update={"name": reply_name})
        return {"messages": [reply]}

    return call_model
