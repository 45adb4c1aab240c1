"""Memory nodes: recall the user's memories before the model, remember facts after the answer.

Both use the graph's store (``runtime.store``: whatever `compile(store=...)` or the LangGraph
server provides, `memory.ChromaStore` or LangGraph's Postgres store alike) and keep each
user's memories in the namespaces of `memory.facts.MemorySpaces`: current facts in
``("memories", <user id>)``, procedural preferences in ``("memories_procedures", <user id>)``
and superseded versions in ``("memories_history", <user id>)`` (the id escaped by
`memory.namespaces.namespace_label`, so an e-mail address is a valid label). The user id is the
run context's `MemoryContext.user_id`, except on a LangGraph server with authentication, where
the authenticated user always wins, so a client cannot read another user's memories by naming
them.

- `make_recall_memories`: searches the current facts with the latest request and keeps the
  memories scoring at least ``context.recall_threshold`` (at most ``context.recall_limit``)
  in ``state["recalled_memories"]``, and lists the user's procedural preferences in
  ``state["recalled_procedures"]``, both replaced each turn. Superseded versions live in
  another namespace, so they are never recalled.
- `make_call_model_with_memories`: the ReAct model node, with the recalled memories and the
  procedural preferences appended to the **system prompt** of that call. We chose the system
  prompt over a `SystemMessage` in the conversation: the thread's history stays the
  conversation itself (no memory blocks piling up turn after turn, nothing for providers that
  reject mid-conversation system messages), the model sees the memories once, next to its
  instructions, and what was recalled stays inspectable in state. Memories and preferences
  are screened for prompt injection when recalled (`nodes.injection_screen`): a flagged one
  is shown wrapped as untrusted data and recorded in ``guardrail_flags``.
- `make_remember_facts`: asks the model, through structured output (`ExtractedFacts`), for
  what to keep from **what the user said this turn** (not from the answer or tool results,
  so a model's own mistakes never become "facts about the user"): facts, each with an
  attribute when it has one (``location``, ``contact_preference`` ...), procedural
  preferences, and forget requests. It applies the forget requests first
  (`memory.facts.forget`: the matching memories with all their versions, recorded in
  ``forgotten``), then stores each fact and preference with provenance (user, thread id,
  source message id, time) through `memory.facts.remember`: a new fact about a stored
  attribute **supersedes** it (version + 1, the old version kept in the history for audit).
  On the offline demo model the extractor is a rule-based stand-in
  (`memory.fact_rules.extract_memories`, registered for `EXTRACTOR_ROLE`). Extraction is
  best-effort: an invalid answer is asked for again once with the error
  (`nodes.ask.ask_structured`); still invalid, it falls back to nothing and records
  ``{"status": "failed", "error": ...}`` in ``remembered``, and the answer stands.

With no store (a graph compiled without one, outside a server) the memory nodes do nothing
and log a warning once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from memory.fact_rules import extract_memories
from memory.facts import (
    MEMORIES_ROOT,
    Provenance,
    current_procedures,
    fact_key,
    forget,
    forget_matches,
    remember,
)
from memory.namespaces import namespace_label
from models.offline import register_offline
from models.scripted import ScriptedChatModel
from nodes.ask import InvalidOutput, ask_structured
from nodes.context import AgentNode, context_as
from nodes.identity import authenticated_user_id
from nodes.injection_screen import FLAGS_CHANNEL, screen_records, untrusted_line
from nodes.model_call import make_call_model, resolve_model
from state.memory import ExtractedFacts, ForgetRequest, MemoryAgentState, MemoryContext

__all__ = [
    "EXTRACTION_PROMPT",
    "EXTRACTOR_ROLE",
    "MEMORIES_NAMESPACE",
    "fact_key",
    "make_call_model_with_memories",
    "make_recall_memories",
    "make_remember_facts",
    "memory_context",
    "memory_namespace",
    "memory_user_id",
    "render_memories",
    "render_procedures",
    "rule_extraction",
]

MEMORIES_NAMESPACE = MEMORIES_ROOT
"""First label of the users' memory namespaces: ``("memories", user_id)``."""

EXTRACTOR_ROLE = "memory.extractor"
"""The extractor's role: on the offline demo model, the rule-based stand-in plays it."""

EXTRACTION_PROMPT = (
    "You maintain a long-term memory about the user of a customer-support assistant. Read "
    "the user's messages below and list the facts about the user that will still be useful "
    "in later conversations: preferences (how to be contacted, what they like), profile "
    "(name, language, location) and ongoing situations (a problem being handled, a plan). "
    "Write each fact as a short statement about the user in the third person, such as "
    "'Prefers email over phone calls', and give it an attribute (location, name, language, "
    "contact_preference ...) when a later fact about the same thing should replace it. "
    "List separately the standing instructions on how to answer this user from now on "
    "('Answer in bullet points', 'Keep it short'), and anything the user asks you to "
    "forget. Do not list questions, greetings, one-off requests, or anything the user did "
    "not say. Return empty lists when there is nothing to keep or forget."
)

_log = logging.getLogger(__name__)


def rule_extraction(messages: Sequence[BaseMessage]) -> dict[str, Any]:
    """The offline extractor's answer: `memory.fact_rules` over the user's messages.

    Example:
        >>> rule_extraction([HumanMessage("I moved to Lisbon. Where is A-1001?")])["facts"]
        [{'text': 'I moved to Lisbon.', 'category': 'profile', 'attribute': 'location'}]
    """
    text = "\n".join(m.text for m in messages if isinstance(m, HumanMessage))
    found = extract_memories(text)
    return {
        "facts": [
            {"text": f.text, "category": f.category, "attribute": f.attribute} for f in found.facts
        ],
        "procedures": [{"text": p.text, "attribute": p.attribute} for p in found.procedures],
        "forget": [
            {"everything": f.everything, "attribute": f.attribute, "text": f.text}
            for f in found.forget
        ],
    }


def _rule_extractor(**_: Any) -> BaseChatModel:
    """The extractor's offline stand-in: answers every call with `rule_extraction`."""
    return ScriptedChatModel(replies=[rule_extraction], cycle=True)


register_offline(EXTRACTOR_ROLE, _rule_extractor)


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
    """The namespace holding a user's current facts: ``(root, namespace_label(user_id))``.

    Example:
        >>> memory_namespace("ana"), memory_namespace("ana@example.com")
        (('memories', 'ana'), ('memories', 'ana@example%2Ecom'))
    """
    return (root, namespace_label(user_id))


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


def _procedures(store: BaseStore, user_id: str, root: str) -> list[dict[str, Any]]:
    """The user's procedural preferences as recalled records."""
    return [
        {
            "key": p["key"],
            "text": p.get("text"),
            "attribute": p.get("attribute"),
            "version": p.get("version", 1),
            "thread_id": p.get("thread_id"),
            "recorded_at": p.get("recorded_at"),
        }
        for p in current_procedures(store, user_id, root=root)
    ]


def make_recall_memories(*, namespace_root: str = MEMORIES_NAMESPACE) -> AgentNode:
    """Build the node that recalls the user's memories relevant to the latest request.

    Args:
        namespace_root: first label of the memory namespaces.

    Returns:
        A node ``recall_memories(state, runtime, config) -> {"recalled_memories": [...],
        "recalled_procedures": [...]}``.
    """

    def recall_memories(
        state: MemoryAgentState, *, runtime: Runtime[MemoryContext], config: RunnableConfig
    ) -> dict[str, Any]:
        """Search the user's memories with the request; keep the relevant ones."""
        context = memory_context(runtime)
        request = "\n".join(m.text for m in _latest_request(state["messages"])).strip()
        nothing: dict[str, Any] = {"recalled_memories": [], "recalled_procedures": []}
        if runtime.store is None:
            _warn_no_store("recall_memories")
            return nothing
        if not request:
            return nothing
        user_id = memory_user_id(runtime, config)
        procedures = _not_being_forgotten(
            _procedures(runtime.store, user_id, namespace_root), request
        )
        if context.recall_limit == 0:
            return _screened([], procedures)
        namespace = memory_namespace(user_id, namespace_root)
        hits = runtime.store.search(namespace, query=request, limit=context.recall_limit)
        recalled = [
            {
                "key": hit.key,
                "text": str(hit.value.get("text") or hit.value),
                "attribute": hit.value.get("attribute"),
                "score": None if hit.score is None else round(float(hit.score), 4),
                "thread_id": hit.value.get("thread_id"),
                "source_message_id": hit.value.get("source_message_id"),
                "recorded_at": hit.value.get("recorded_at") or hit.updated_at.isoformat(),
            }
            for hit in hits
            if hit.score is None or hit.score >= context.recall_threshold
        ]
        return _screened(_not_being_forgotten(recalled, request), procedures)

    return recall_memories


def _screened(memories: list[dict[str, Any]], procedures: list[dict[str, Any]]) -> dict[str, Any]:
    """The recall update with memories and preferences screened for prompt injection.

    A flagged one stays recalled, marked ``untrusted`` (the prompt shows it wrapped as
    untrusted data, `nodes.injection_screen`), and its flag goes to ``guardrail_flags``.
    """
    memories, flags = screen_records(memories, source="memory")
    procedures, more = screen_records(procedures, source="memory")
    update: dict[str, Any] = {"recalled_memories": memories, "recalled_procedures": procedures}
    if flags or more:
        update[FLAGS_CHANNEL] = [*flags, *more]
    return update


def _not_being_forgotten(memories: list[dict[str, Any]], request: str) -> list[dict[str, Any]]:
    """The memories minus those the request asks to forget (found by the rules).

    Forgetting happens after the answer (`remember_facts`); this keeps the answer to "forget
    that I live in Berlin" from being told where the user lives. The rules are English
    patterns: with a real model a request they miss is still forgotten after the answer.
    """
    requests = extract_memories(request).forget
    if not requests:
        return memories
    return [
        memory
        for memory in memories
        if not any(
            forget_matches(memory, everything=r.everything, attribute=r.attribute, text=r.text)
            for r in requests
        )
    ]


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
        text = untrusted_line(
            memory, str(memory["text"]), source="memory", name=memory.get("key", "")
        )
        lines.append(f"- {text}" + (f" (noted {noted})" if noted else ""))
    return "\n".join(lines)


def render_procedures(procedures: Sequence[dict[str, Any]]) -> str:
    """The system-prompt section with the user's standing instructions ("" when none).

    Example:
        >>> render_procedures([{"text": "Answer in bullet points."}]).splitlines()[-1]
        '- Answer in bullet points.'
    """
    if not procedures:
        return ""
    lines = [
        "How this user asked to be served (standing instructions from earlier "
        "conversations; follow them unless the user asks otherwise now):"
    ]
    lines.extend(
        "- " + untrusted_line(p, str(p["text"]), source="memory", name=p.get("key", ""))
        for p in procedures
    )
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
        blocks = [
            render_memories(state.get("recalled_memories") or []),
            render_procedures(state.get("recalled_procedures") or []),
        ]
        context = memory_context(runtime)
        prompt = "\n\n".join(
            [instructions or context.system_prompt, *(block for block in blocks if block)]
        )
        if prompt != context.system_prompt:
            runtime = runtime.override(context=replace(context, system_prompt=prompt))
        return call_model(state, runtime=runtime)

    return call_model_with_memories


def _forget_requested(
    store: BaseStore, user_id: str, requests: Sequence[ForgetRequest], root: str
) -> list[dict[str, Any]]:
    """Apply the turn's forget requests; one record per deleted version (or per miss)."""
    records: list[dict[str, Any]] = []
    for request in requests:
        asked = "everything" if request.everything else (request.text or request.attribute)
        deleted = forget(
            store,
            user_id,
            everything=request.everything,
            attribute=request.attribute,
            text=request.text,
            root=root,
        )
        records.extend({"status": "forgotten", "request": asked, **d} for d in deleted)
        if not deleted:
            records.append({"status": "nothing matched", "request": asked})
    return records


def _store_extracted(
    store: BaseStore, extracted: ExtractedFacts, provenance: Provenance, root: str
) -> list[dict[str, Any]]:
    """Store the turn's facts and procedural preferences; one record per memory."""
    records: list[dict[str, Any]] = []
    for fact in extracted.facts:
        text = " ".join(fact.text.split())
        if text.endswith("?"):  # a question is not a fact (weak models echo the request)
            continue
        records.append(
            remember(
                store,
                provenance.user_id,
                text,
                attribute=fact.attribute,
                category=fact.category,
                provenance=provenance,
                root=root,
            )
        )
    for procedure in extracted.procedures:
        text = " ".join(procedure.text.split())
        records.append(
            remember(
                store,
                provenance.user_id,
                text,
                kind="procedure",
                attribute=procedure.attribute,
                category="procedure",
                provenance=provenance,
                root=root,
            )
        )
    return records


def make_remember_facts(
    model: BaseChatModel | None, *, namespace_root: str = MEMORIES_NAMESPACE
) -> AgentNode:
    """Build the node that extracts memories from the user's messages and stores them.

    Args:
        model: the chat model that extracts facts (structured output); None resolves
            ``context.model`` per run, like the model node. On the offline demo model the
            rule-based extractor plays the role (`EXTRACTOR_ROLE`).
        namespace_root: first label of the memory namespaces.

    Returns:
        A node ``remember_facts(state, runtime, config) -> {"remembered": [...],
        "forgotten": [...]}``.
    """

    def remember_facts(
        state: MemoryAgentState, *, runtime: Runtime[MemoryContext], config: RunnableConfig
    ) -> dict[str, Any]:
        """Forget what the user asked to forget; store what is worth keeping, with provenance."""
        context = memory_context(runtime)
        request = _latest_request(state["messages"])
        if not context.remember or not request:
            return {"remembered": []}
        if runtime.store is None:
            _warn_no_store("remember_facts")
            return {"remembered": []}
        provenance = Provenance(
            user_id=memory_user_id(runtime, config),
            thread_id=(config.get("configurable") or {}).get("thread_id"),
            source_message_id=request[-1].id,
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        extracted = ask_structured(
            resolve_model(model, context.model, role=EXTRACTOR_ROLE),
            [SystemMessage(EXTRACTION_PROMPT), *request],
            ExtractedFacts,
            role="memory extractor",
            label="list of facts",
            on_invalid="fallback",
            fallback=ExtractedFacts(facts=[]),
        )
        failed: list[dict[str, Any]] = []
        if isinstance(extracted, InvalidOutput):  # best-effort: the fallback, failure recorded
            failed = [{"status": "failed", "error": extracted.reason, **provenance.as_dict()}]
            extracted = extracted.use_fallback()
        store = runtime.store
        forgotten = _forget_requested(store, provenance.user_id, extracted.forget, namespace_root)
        stored = _store_extracted(store, extracted, provenance, namespace_root)
        update: dict[str, Any] = {"remembered": [*failed, *stored]}
        if forgotten:
            update["forgotten"] = forgotten
        return update

    return remember_facts
