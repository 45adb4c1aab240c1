"""Memory nodes: recall the user's memories before the model, remember facts after the answer.

Both use the graph's store (``runtime.store``: whatever `compile(store=...)` or the LangGraph
server provides, `memory.ChromaStore` or LangGraph's Postgres store alike) and keep each
user's memories in the namespace ``("memories", <user id>)`` (the id escaped by
`memory.namespaces.namespace_label`, so an e-mail address is a valid label). The user id is the
run context's `MemoryContext.user_id`, except on a LangGraph server with authentication, where
the authenticated user always wins, so a client cannot read another user's memories by naming
them.

- `make_recall_memories`: searches the namespace with the latest request and keeps the
  memories scoring at least ``context.recall_threshold`` (at most ``context.recall_limit``)
  in ``state["recalled_memories"]``, replaced each turn.
- `make_call_model_with_memories`: the ReAct model node, with the recalled memories appended
  to the **system prompt** of that call. We chose the system prompt over a `SystemMessage` in
  the conversation: the thread's history stays the conversation itself (no memory blocks
  piling up turn after turn, nothing for providers that reject mid-conversation system
  messages), the model sees the memories once, next to its instructions, and what was
  recalled stays inspectable in state.
- `make_remember_facts`: asks the model, through structured output (`ExtractedFacts`), for
  facts worth keeping from **what the user said this turn** (not from the answer or tool
  results, so a model's own mistakes never become "facts about the user"), and stores each
  with provenance: user, thread id, the source message id and the time. A fact's key is a
  digest of the user and its normalised text, so restating it updates it (``created_at``
  stays the first time it was seen). Extraction is best-effort: an invalid answer is asked
  for again once with the error (`nodes.ask.ask_structured`); still invalid, it falls back
  to no facts and records ``{"status": "failed", "error": ...}`` in ``remembered``, and the
  answer stands.

With no store (a graph compiled without one, outside a server) the memory nodes do nothing
and log a warning once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from langgraph.store.base import PutOp

from memory.namespaces import namespace_label
from nodes.ask import InvalidOutput, ask_structured
from nodes.context import AgentNode, context_as
from nodes.identity import authenticated_user_id
from nodes.model_call import make_call_model, resolve_model
from state.memory import ExtractedFacts, MemoryAgentState, MemoryContext

__all__ = [
    "EXTRACTION_PROMPT",
    "MEMORIES_NAMESPACE",
    "fact_key",
    "make_call_model_with_memories",
    "make_recall_memories",
    "make_remember_facts",
    "memory_context",
    "memory_namespace",
    "memory_user_id",
    "render_memories",
]

MEMORIES_NAMESPACE = "memories"
"""First label of the users' memory namespaces: ``("memories", user_id)``."""

EXTRACTION_PROMPT = (
    "You maintain a long-term memory about the user of a customer-support assistant. Read "
    "the user's messages below and list the facts about the user that will still be useful "
    "in later conversations: preferences (how to be contacted, what they like), profile "
    "(name, language, location) and ongoing situations (a problem being handled, a plan). "
    "Write each fact as a short statement about the user in the third person, such as "
    "'Prefers email over phone calls'. Do not list questions, greetings, one-off requests, "
    "or anything the user did not say. Return an empty list when there is nothing to keep."
)

_log = logging.getLogger(__name__)


def memory_context(runtime: Runtime[Any] | None) -> MemoryContext:
    """The run's `MemoryContext`, or the defaults when the caller passed none."""
    return context_as(runtime, MemoryContext)


def memory_user_id(runtime: Runtime[Any] | None, config: RunnableConfig | None = None) -> str:
    """Whose memories a run uses: the server's authenticated user, else ``context.user_id``.

    On a server with authentication the authenticated user always wins, whatever its id looks
    like (an e-mail address included) and whatever the client put in the context; the
    namespace escapes the id (`memory_namespace`). Outside a server (Python, the CLI) there is
    no authenticated user and the context's ``user_id`` is used.

    Example:
        >>> memory_user_id(None, {"configurable": {"langgraph_auth_user_id": "ana@example.com"}})
        'ana@example.com'
        >>> memory_user_id(None, {"configurable": {}})
        'anonymous'
    """
    return authenticated_user_id(config) or memory_context(runtime).user_id


def memory_namespace(user_id: str, root: str = MEMORIES_NAMESPACE) -> tuple[str, str]:
    """The namespace holding a user's memories: ``(root, namespace_label(user_id))``.

    Example:
        >>> memory_namespace("ana"), memory_namespace("ana@example.com")
        (('memories', 'ana'), ('memories', 'ana@example%2Ecom'))
    """
    return (root, namespace_label(user_id))


def fact_key(user_id: str, text: str) -> str:
    """A fact's key: the same fact of the same user always gets the same key.

    Example:
        >>> fact_key("ana", "Prefers email.") == fact_key("ana", "  prefers EMAIL ")
        True
    """
    normalised = " ".join(text.lower().split()).rstrip(".!")
    return hashlib.sha256(f"{user_id}\x00{normalised}".encode()).hexdigest()[:24]


def _latest_request(messages: Sequence[AnyMessage]) -> list[HumanMessage]:
    """The human messages that opened the current turn (usually one)."""
    end = next(
        (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)),
        None,
    )
    if end is None:
        return []
    start = end
    while start > 0 and isinstance(messages[start - 1], HumanMessage):
        start -= 1
    return [m for m in messages[start : end + 1] if isinstance(m, HumanMessage)]


@functools.cache
def _warn_no_store(node: str) -> None:
    _log.warning(
        "%s: the graph has no store (compile it with store=..., or serve it with a store "
        "configured); memory is off for this run.",
        node,
    )


def make_recall_memories(*, namespace_root: str = MEMORIES_NAMESPACE) -> AgentNode:
    """Build the node that recalls the user's memories relevant to the latest request.

    Args:
        namespace_root: first label of the memory namespaces.

    Returns:
        A node ``recall_memories(state, runtime, config) -> {"recalled_memories": [...]}``.
    """

    def recall_memories(
        state: MemoryAgentState, *, runtime: Runtime[MemoryContext], config: RunnableConfig
    ) -> dict[str, Any]:
        """Search the user's memories with the request; keep the relevant ones."""
        context = memory_context(runtime)
        request = "\n".join(m.text for m in _latest_request(state["messages"])).strip()
        if runtime.store is None:
            _warn_no_store("recall_memories")
            return {"recalled_memories": []}
        if not request or context.recall_limit == 0:
            return {"recalled_memories": []}
        namespace = memory_namespace(memory_user_id(runtime, config), namespace_root)
        hits = runtime.store.search(namespace, query=request, limit=context.recall_limit)
        recalled = [
            {
                "key": hit.key,
                "text": str(hit.value.get("text") or hit.value),
                "score": None if hit.score is None else round(float(hit.score), 4),
                "thread_id": hit.value.get("thread_id"),
                "source_message_id": hit.value.get("source_message_id"),
                "recorded_at": hit.value.get("recorded_at") or hit.updated_at.isoformat(),
            }
            for hit in hits
            if hit.score is None or hit.score >= context.recall_threshold
        ]
        return {"recalled_memories": recalled}

    return recall_memories


def render_memories(memories: Sequence[dict[str, Any]]) -> str:
    """The system-prompt section listing recalled memories ("" when there are none).

    Example:
        >>> block = render_memories([{"text": "Prefers email", "recorded_at": "2026-01-02T03"}])
        >>> block.splitlines()[-1]
        '- Prefers email (noted 2026-01-02)'
    """
    if not memories:
        return ""
    lines = [
        "What you remember about this user from earlier conversations (it may be outdated; "
        "what the user says now takes precedence):"
    ]
    for memory in memories:
        noted = str(memory.get("recorded_at") or "")[:10]
        lines.append(f"- {memory['text']}" + (f" (noted {noted})" if noted else ""))
    return "\n".join(lines)


def make_call_model_with_memories(
    model: BaseChatModel | None, tools: Sequence[BaseTool], *, instructions: str = ""
) -> AgentNode:
    """The ReAct model node (`make_call_model`) with recalled memories in its system prompt.

    Args:
        model: a chat model, or None to resolve ``context.model`` per run.
        tools: tools to bind.
        instructions: the agent's system prompt; empty uses ``context.system_prompt``.

    Returns:
        A node ``call_model(state, runtime) -> {"messages": [reply]}``.
    """
    call_model = make_call_model(model, tools)

    def call_model_with_memories(
        state: MemoryAgentState, *, runtime: Runtime[MemoryContext]
    ) -> dict[str, Any]:
        """Ask the model for the next step, reminding it of what it knows about the user."""
        block = render_memories(state.get("recalled_memories") or [])
        context = memory_context(runtime)
        prompt = instructions or context.system_prompt
        if block:
            prompt = f"{prompt}\n\n{block}"
        if prompt != context.system_prompt:
            runtime = runtime.override(context=replace(context, system_prompt=prompt))
        return call_model(state, runtime=runtime)

    return call_model_with_memories


def make_remember_facts(
    model: BaseChatModel | None, *, namespace_root: str = MEMORIES_NAMESPACE
) -> AgentNode:
    """Build the node that extracts facts from the user's messages and stores them.

    Args:
        model: the chat model that extracts facts (structured output); None resolves
            ``context.model`` per run, like the model node.
        namespace_root: first label of the memory namespaces.

    Returns:
        A node ``remember_facts(state, runtime, config) -> {"remembered": [...]}``.
    """

    def remember_facts(
        state: MemoryAgentState, *, runtime: Runtime[MemoryContext], config: RunnableConfig
    ) -> dict[str, Any]:
        """Store the facts worth keeping from this turn, with provenance."""
        context = memory_context(runtime)
        request = _latest_request(state["messages"])
        if not context.remember or not request:
            return {"remembered": []}
        if runtime.store is None:
            _warn_no_store("remember_facts")
            return {"remembered": []}
        user_id = memory_user_id(runtime, config)
        source = request[-1]
        provenance = {
            "user_id": user_id,
            "thread_id": (config.get("configurable") or {}).get("thread_id"),
            "source_message_id": source.id,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        extracted = ask_structured(
            resolve_model(model, context.model),
            [SystemMessage(EXTRACTION_PROMPT), *request],
            ExtractedFacts,
            role="memory extractor",
            label="list of facts",
            on_invalid="fallback",
            fallback=ExtractedFacts(facts=[]),
        )
        failed: list[dict[str, Any]] = []
        if isinstance(extracted, InvalidOutput):  # best-effort: the fallback, failure recorded
            failed = [{"status": "failed", "error": extracted.reason, **provenance}]
            extracted = extracted.use_fallback()
        facts = extracted.facts
        namespace = memory_namespace(user_id, namespace_root)
        stored: dict[str, dict[str, Any]] = {}
        for fact in facts:
            text = " ".join(fact.text.split())
            if text.endswith("?"):  # a question is not a fact (weak models echo the request)
                continue
            value = {"kind": "fact", "text": text, "category": fact.category, **provenance}
            stored[fact_key(user_id, text)] = {**value, "source": "remember_facts"}
        if stored:
            runtime.store.batch(
                [PutOp(namespace, key, value, index=["text"]) for key, value in stored.items()]
            )
        records = [
            {"status": "stored", "key": key, "namespace": list(namespace), **value}
            for key, value in stored.items()
        ]
        return {"remembered": [*failed, *records]}

    return remember_facts
