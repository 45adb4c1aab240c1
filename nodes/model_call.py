"""The model-call node: system prompt from the context, tools bound, one reply appended.

Every reply's tool-call ids are made unique in the thread (`nodes.call_ids`) before any call
can reach the approval gate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime

from models.demo import HeuristicDemoModel
from models.factory import create_chat_model
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
    offline: Callable[[], BaseChatModel] | None = None,
) -> BaseChatModel:
    """The model a node calls: the one it was built with, else the one the run's spec names.

    Args:
        model: the model the graph was built with; None resolves `spec` on every run, so
            Studio and SDK users can switch models per run.
        spec: the run's model spec (``context.model``: ``"demo"``, ``"openai:<model>"``).
        offline: builds a pattern's offline stand-in, used instead when the model is the
            offline demo model (keyword heuristics, not an LLM), which cannot play roles
            such as a planner, a judge or a coder.

    Returns:
        The chat model to call.
    """
    chosen = model if model is not None else model_for_spec(spec)
    if offline is not None and isinstance(chosen, HeuristicDemoModel):
        return offline()
    return chosen


def make_call_model(
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    *,
    system_prompt: str | None = None,
    instructions: str | None = None,
    reply_name: str | None = None,
) -> AgentNode:
    """Build the node that calls the model.

    Args:
        model: a chat model; None means "resolve `runtime.context.model` on each run", so
            Studio and SDK users can switch models per run.
        tools: tools to bind (none: the model answers in text only).
        system_prompt: this agent's own instructions, in place of ``context.system_prompt``
            (how agents of one multi-agent graph, sharing one context, get different roles).
        instructions: text appended to the system prompt (the shared prompt plus a role).
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
        text = system_prompt or context.system_prompt
        if instructions:
            text = f"{text}\n\n{instructions}".strip()
        reply = runnable.invoke([SystemMessage(text), *state["messages"]])
        if isinstance(reply, AIMessage):
            reply = with_unique_call_ids(reply, state["messages"])
        if reply_name and isinstance(reply, AIMessage) and not reply.name:
            reply = reply.model_copy(update={"name": reply_name})
        return {"messages": [reply]}

    return call_model
