"""The model-call node, and how a node finds the model it calls.

`make_call_model` builds the tool-calling node: system prompt from the context, tools bound
(once per model the node calls, see `_BoundTools`), one reply appended. Every reply's
tool-call ids are made unique in the thread (`nodes.call_ids`) before any call can reach the
approval gate. Its call goes through
`nodes.ask.invoke_model`, like every other model call. With tool selection on
(``Controls.tool_selection``, `nodes.tool_selection`), each call binds only the tools
selected for the conversation; the reply records them in ``response_metadata``
(``tools_offered``) and the ``custom`` stream gets a ``tool_selection`` event. The tool node
still knows every tool (selection is not permission).

`resolve_model` picks the model a node calls: the one the graph was built with, else the one
the run's spec names; for a role with a registered offline stand-in (`models.offline`), the
stand-in when that model is the offline demo model.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime

from models.factory import create_chat_model
from models.offline import offline_stand_in
from nodes.ask import invoke_model
from nodes.call_ids import with_unique_call_ids
from nodes.context import AgentNode, agent_context
from nodes.control_events import emit_event
from nodes.controls import current_controls
from nodes.tool_selection import OFFERED_KEY, ToolSelection, ToolSelector
from nodes.window_call import SUMMARY_CHANNEL, fitted_messages
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


class _BoundTools:
    """One node's tools bound to the models it calls, bound once per model (a tiny LRU).

    ``bind_tools`` converts every tool schema, so binding on every call cost more than the
    call itself on a fast model. The node binds once per model instance instead. The cache is
    per node (so per tool set) and holds at most `size` models, most recently used kept: the
    model of the graph, or the few `model_for_spec` resolves per run, stay bound; a model
    built per call (an offline stand-in) is bound like any other and soon evicted, so neither
    it nor its binding is kept alive for long. Entries are keyed by ``id`` and hold the model
    itself, so an id is never reused while its entry lives.
    """

    def __init__(self, tools: Sequence[BaseTool], size: int = 4) -> None:
        self._tools = list(tools)
        self._size = size
        self._lock = threading.Lock()
        self._bound: OrderedDict[int, tuple[BaseChatModel, Runnable[Any, Any]]] = OrderedDict()

    def __call__(self, model: BaseChatModel) -> Runnable[Any, Any]:
        """`model` with the tools bound (the model itself when there are no tools)."""
        if not self._tools:
            return model
        key = id(model)
        with self._lock:
            entry = self._bound.get(key)
            if entry is not None and entry[0] is model:
                self._bound.move_to_end(key)
                return entry[1]
        bound = model.bind_tools(self._tools)
        with self._lock:
            self._bound[key] = (model, bound)
            self._bound.move_to_end(key)
            while len(self._bound) > self._size:
                self._bound.popitem(last=False)
        return bound


class _OfferedTools:
    """One node's tools per call: all of them, or the ones its `ToolSelection` picks.

    Keeps one selector per selection setting (the tools' vectors embedded once) and the
    bindings of the last few selected tool sets (`_BoundTools` each), so a conversation that
    keeps asking about the same thing does not re-bind on every call.
    """

    def __init__(self, tools: Sequence[BaseTool], size: int = 16) -> None:
        self._tools = list(tools)
        self._all = _BoundTools(self._tools)
        self._size = size
        self._lock = threading.Lock()
        self._selectors: dict[ToolSelection, ToolSelector] = {}
        self._bound: OrderedDict[tuple[str, ...], _BoundTools] = OrderedDict()

    def for_call(
        self, settings: ToolSelection | None, messages: Sequence[Any]
    ) -> tuple[_BoundTools, list[str] | None]:
        """The binder of this call and the names offered (None: every tool, no selection)."""
        if settings is None or not self._tools:
            return self._all, None
        with self._lock:
            selector = self._selectors.get(settings)
        if selector is None:
            selector = ToolSelector.from_settings(self._tools, settings)
            with self._lock:
                selector = self._selectors.setdefault(settings, selector)
        chosen = selector.select(messages)
        names = tuple(tool.name for tool in chosen)
        with self._lock:
            bind = self._bound.get(names)
            if bind is None:
                bind = self._bound[names] = _BoundTools(chosen)
            self._bound.move_to_end(names)
            while len(self._bound) > self._size:
                self._bound.popitem(last=False)
        return bind, list(names)


def _record_offered(reply: Any, offered: list[str], *, of: int, agent: str) -> Any:
    """Report the tools a call was offered: a stream event, and on the reply itself."""
    emit_event("tool_selection", {"agent": agent, "offered": offered, "of": of})
    if not isinstance(reply, AIMessage):
        return reply
    metadata = {**reply.response_metadata, OFFERED_KEY: offered}
    return reply.model_copy(update={"response_metadata": metadata})


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
    offered_tools = _OfferedTools(tool_list)

    def call_model(state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Ask the model for the next step given the conversation so far."""
        context = agent_context(runtime)
        chat_model = resolve_model(model, context.model)
        selection = current_controls().tool_selection
        bind, offered = offered_tools.for_call(selection, state["messages"])
        runnable = bind(chat_model)
        system = [SystemMessage(instructions or context.system_prompt)]
        messages, summary = fitted_messages(chat_model, system, state)
        reply = invoke_model(runnable, messages, role=reply_name or "agent", rebind=bind)
        if offered is not None:
            agent = reply_name or "agent"
            reply = _record_offered(reply, offered, of=len(tool_list), agent=agent)
        if isinstance(reply, AIMessage):
            reply = with_unique_call_ids(reply, state["messages"])
        if reply_name and isinstance(reply, AIMessage) and not reply.name:
            reply = reply.model_copy(update={"name": reply_name})
        update: dict[str, Any] = {"messages": [reply]}
        if summary is not None:
            update[SUMMARY_CHANNEL] = summary
        return update

    return call_model
