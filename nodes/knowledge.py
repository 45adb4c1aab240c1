"""Knowledge retrieval before the model call: passages the caller may read, with citations.

`make_retrieve_knowledge` builds a node any pattern can put before its model call. It searches
the knowledge base kept in the graph's store (`memory.knowledge.KnowledgeBase` over
``runtime.store``) with the latest request, over the scopes the caller may read
(`knowledge_scopes`), keeps the relevant passages in ``state["retrieved_knowledge"]``
(replaced each turn), and `render_knowledge` is the system-prompt section that shows them to
the model, each with the citation an answer must use (``[<source>#<position>]``).
`nodes.grounding` wraps the model node to put that section in front of it, to decline in
grounded mode and to check the answer's citations.

**Who reads what.** On a LangGraph server the authenticated user (`nodes.identity`) reads the
project's knowledge, their teams' (from the team table the budgets keep beside the
checkpoints, `checkpointers.budget_caps.CapStore.team_of`) and their own. Outside a server the
context's ``user_id`` is used the same way (no ``user_id`` field: the project only). A client
can never name a scope.

**Relevance.** Hybrid search ranks by reciprocal-rank fusion, whose scores say nothing about
relevance on their own, so each passage also gets a ``relevance`` in 0..1: the share of the
request's terms (BM25 terms: stopwords dropped, inflections folded) the passage contains, or
its vector similarity to the request when the store has vectors and that is higher. A passage
below ``context.knowledge_min_score`` is dropped; in grounded mode, none left means the agent
does not know.

**Screening.** Each passage is screened for prompt injection (`nodes.injection_screen`): a
flagged one stays (it may be the answer), shown to the model wrapped as untrusted data and
recorded in ``guardrail_flags``.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from checkpointers.budget_caps import default_cap_store
from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from memory.knowledge import KnowledgeBase, Passage, Scope, readable_scopes, tokenize
from nodes.context import AgentNode, context_as
from nodes.identity import authenticated_user_id
from nodes.injection_screen import FLAGS_CHANNEL, screen_records, untrusted_line
from state.knowledge import KnowledgeContext

__all__ = [
    "GROUNDED_ENV",
    "GROUNDED_MIN_SCORE",
    "operator_grounded",
    "KNOWLEDGE_HEADER",
    "knowledge_base",
    "knowledge_context",
    "knowledge_scopes",
    "latest_request",
    "make_retrieve_knowledge",
    "relevance",
    "render_knowledge",
    "search_passages",
]

GROUNDED_ENV = "AGENT_PATTERNS_GROUNDED"
"""Set to ``true`` to turn grounded mode on for every run (a client cannot turn it off)."""
GROUNDED_MIN_SCORE = 0.3
"""Under the operator's grounded mode, the lowest relevance bar a run may ask for: a client may
raise ``knowledge_min_score`` (stricter), never lower it below this (every passage relevant,
so the agent would never say it does not know)."""
_TRUE = {"1", "true", "yes", "on"}


def operator_grounded(option: bool | None = None) -> bool:
    """Whether the operator turned grounded mode on: `option`, else ``AGENT_PATTERNS_GROUNDED``."""
    if option is not None:
        return option
    return os.environ.get(GROUNDED_ENV, "").strip().lower() in _TRUE


KNOWLEDGE_HEADER = "Knowledge base passages retrieved for this request"
"""First words of the system-prompt section (the offline demo model looks for them)."""

_log = logging.getLogger(__name__)
_bases: weakref.WeakKeyDictionary[BaseStore, KnowledgeBase] = weakref.WeakKeyDictionary()
_bases_lock = threading.Lock()


def knowledge_context(runtime: Runtime[Any] | None) -> KnowledgeContext:
    """The run's knowledge settings (a context without them gets the defaults)."""
    return context_as(runtime, KnowledgeContext)


def knowledge_base(store: BaseStore) -> KnowledgeBase:
    """The knowledge base over `store`, one per store (it caches the BM25 index)."""
    with _bases_lock:
        found = _bases.get(store)
        if found is None:
            found = _bases[store] = KnowledgeBase(store)
        return found


def knowledge_scopes(runtime: Runtime[Any] | None, config: RunnableConfig | None) -> list[Scope]:
    """The scopes the caller reads: project, their teams, their own (see the module docs).

    Example:
        >>> knowledge_scopes(None, {"configurable": {}})
        ['project']
    """
    user = authenticated_user_id(config)
    if user is None and runtime is not None:
        context = runtime.context
        user = (
            context.get("user_id")
            if isinstance(context, dict)
            else getattr(context, "user_id", None)
        )
    if not user:
        return readable_scopes(None, [])
    saver = ((config or {}).get("configurable") or {}).get(RUN_CHECKPOINTER_KEY)
    teams = default_cap_store(saver if isinstance(saver, BaseCheckpointSaver) else None)
    return readable_scopes(str(user), teams.team_of(str(user)))


def latest_request(messages: Sequence[AnyMessage]) -> str:
    """The text of the human messages that opened the current turn."""
    end = len(messages)
    while end > 0 and not isinstance(messages[end - 1], HumanMessage):
        end -= 1
    start = end
    while start > 0 and isinstance(messages[start - 1], HumanMessage):
        start -= 1
    return "\n".join(m.text for m in messages[start:end]).strip()


def relevance(query: str, passage: Passage, similarity: float | None = None) -> float:
    """How relevant `passage` is to `query`, 0..1 (see the module docs).

    Example:
        >>> p = Passage("The API allows 1000 requests per minute.", "API", "api.md", 0,
        ...             "project", 0.03, "x:0")
        >>> relevance("How many requests per minute?", p), relevance("Paris weather", p)
        (0.75, 0.0)
    """
    terms = set(tokenize(query))
    if not terms:
        return 0.0
    found = set(tokenize(f"{passage.title}\n{passage.text}"))
    coverage = len(terms & found) / len(terms)
    return round(max(coverage, similarity or 0.0), 4)


def _similarities(
    kb: KnowledgeBase, query: str, scopes: Sequence[Scope], k: int
) -> dict[tuple[str, str], float]:
    """Vector similarity by chunk id (empty when the store has no vectors)."""
    try:
        hits = kb.search(query, scopes=scopes, k=k, mode="vector")
    except ValueError:
        return {}
    return {(p.scope, p.chunk_id): p.score for p in hits}


def search_passages(
    store: BaseStore, query: str, scopes: Sequence[Scope], *, k: int, min_score: float
) -> list[dict[str, Any]]:
    """The `k` best passages for `query` in `scopes` that are relevant enough, as records.

    Each record: ``citation, text, title, source, position, scope, score`` (the hybrid
    rank score), ``relevance`` and ``chunk_id``.
    """
    if k <= 0 or not query.strip():
        return []
    kb = knowledge_base(store)
    passages = kb.search(query, scopes=scopes, k=k)
    similar = _similarities(kb, query, scopes, max(k * 4, 20)) if passages else {}
    records = []
    for passage in passages:
        score = relevance(query, passage, similar.get((passage.scope, passage.chunk_id)))
        if score < min_score:
            continue
        records.append(
            {
                "citation": passage.citation(),
                "text": passage.text,
                "title": passage.title,
                "source": passage.source,
                "position": passage.position,
                "scope": passage.scope,
                "score": round(passage.score, 6),
                "relevance": score,
                "chunk_id": passage.chunk_id,
            }
        )
    return records


@functools.cache
def _warn_no_store() -> None:
    _log.warning("retrieve_knowledge: the graph has no store; knowledge retrieval is off.")


def make_retrieve_knowledge(*, grounded: bool | None = None) -> AgentNode:
    """Build the node that retrieves the passages relevant to the latest request.

    Args:
        grounded: the operator's grounded mode (None reads ``AGENT_PATTERNS_GROUNDED``); under
            it a run's ``knowledge_min_score`` is raised to at least `GROUNDED_MIN_SCORE`.

    Returns:
        A node ``retrieve_knowledge(state, runtime, config) -> {"retrieved_knowledge": [...]}``
        (replaced each turn; empty without a store, a request or passages above
        ``context.knowledge_min_score``).
    """

    def retrieve_knowledge(
        state: dict[str, Any], *, runtime: Runtime[Any], config: RunnableConfig
    ) -> dict[str, Any]:
        """Search the caller's readable scopes with the request; keep the relevant passages."""
        context = knowledge_context(runtime)
        request = latest_request(state["messages"])
        if runtime.store is None:
            _warn_no_store()
            return {"retrieved_knowledge": []}
        if not request or context.knowledge_limit == 0:
            return {"retrieved_knowledge": []}
        scopes = knowledge_scopes(runtime, config)
        floor = GROUNDED_MIN_SCORE if operator_grounded(grounded) else 0.0
        min_score = max(context.knowledge_min_score, floor)
        found = search_passages(
            runtime.store,
            request,
            scopes,
            k=context.knowledge_limit,
            min_score=min_score,
        )
        found, flags = screen_records(found, source="knowledge", name_key="citation")
        return {"retrieved_knowledge": found, **({FLAGS_CHANNEL: flags} if flags else {})}

    return retrieve_knowledge


def _without_title(text: str, title: str) -> str:
    """The passage on one line, without a leading Markdown heading that repeats the title."""
    first, _, rest = text.strip().partition("\n")
    if first.startswith("#") and first.lstrip("#").strip() == title.strip():
        text = rest
    return " ".join(text.split())


def render_knowledge(passages: Sequence[dict[str, Any]], *, grounded: bool = False) -> str:
    r"""The system-prompt section listing the passages ("" when there are none).

    Example:
        >>> block = render_knowledge([{"citation": "[api.md#0]", "title": "API",
        ...                            "text": "1000 requests\nper minute."}])
        >>> block.splitlines()[-1]
        '- [api.md#0] API: 1000 requests per minute.'
    """
    if not passages:
        return ""
    rule = (
        "Answer only from these passages; if they do not answer the question, say that you do "
        "not know."
        if grounded
        else "Prefer them over what you believe; they may not answer every question."
    )
    lines = [
        f"{KNOWLEDGE_HEADER}. Cite each passage you use by its tag, exactly as written "
        f"(such as {passages[0]['citation']}), and cite nothing else. {rule} Passages:"
    ]
    for passage in passages:
        text = _without_title(str(passage["text"]), str(passage["title"]))
        text = untrusted_line(passage, text, source="knowledge", name=str(passage["citation"]))
        lines.append(f"- {passage['citation']} {passage['title']}: {text}")
    return "\n".join(lines)
