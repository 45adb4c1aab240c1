"""Tool selection: each model call sees only the tools relevant to the conversation.

An agent with a hundred tools should not show the model a hundred schemas on every call (they
cost tokens and the model picks worse among many). `ToolSelector` ranks an agent's tools
against the conversation and offers the top `k`, plus the tools declared always offered.

**What is compared.** The query is the latest human message, plus the names of the tools
whose results came back since then (so a follow-up call in the same turn keeps the tools the
work is using close). Each tool is described by its name (``issue_refund`` read as *issue
refund*), its description and its argument names and descriptions.

**How it ranks** (`ToolSelection.mode`):

- ``"vector"``: cosine similarity of the query's embedding to each tool's (the tool vectors
  are embedded once per selector and kept).
- ``"lexical"``: BM25 over the tools' words (computed here, no dependency): rare words
  (*payslip*, *kubernetes*) weigh more than words every tool shares (*order*, *customer*).
- ``"hybrid"`` (the default): both scores min-max scaled to [0, 1] over the tools, then
  ``bm25 + vector_weight * cosine`` (0.4 by default). Measured on the labelled requests of
  ``tests/data/tool_selection.json`` (docs/performance.md, "Tool selection") it is at least
  as accurate as either alone at every k. Reciprocal-rank fusion (what the knowledge base
  uses) measured worse here: it keeps only ranks, so one strong BM25 match is averaged
  with the hash vector's noisy rank of the same tool.

**Always offered.** Tools named in `ToolSelection.always`, tools whose metadata says
``{"always_offered": True}`` (`offer_always`), and handoff tools (``transfer_to_<agent>``,
`tools.handoff`: how a swarm agent passes the conversation on) are offered on every call,
ahead of the ranked ones and not counted in `k`. Names an agent does not have are ignored (one
`ToolSelection` serves every agent of a graph).

**Selection is not permission.** The tool node still knows every tool of the agent: a call to
a tool the model was not offered on this call (one it saw on an earlier call, or guessed) is
validated, gated and executed exactly like any other call. Selection decides what the model
is *shown*; to take a tool away, do not give it to the agent.

Example:
    >>> from langchain_core.tools import tool
    >>> from memory.embeddings import HashEmbeddings
    >>> @tool
    ... def track_parcel(tracking_number: str) -> str:
    ...     \"\"\"Where a parcel is now, by its carrier tracking number.\"\"\"
    ...     return tracking_number
    >>> @tool
    ... def reset_password(username: str) -> str:
    ...     \"\"\"Send a password reset link to an employee.\"\"\"
    ...     return username
    >>> @tool
    ... def escalate(summary: str) -> str:
    ...     \"\"\"Hand the conversation to a person.\"\"\"
    ...     return summary
    >>> selector = ToolSelector(
    ...     [track_parcel, reset_password, escalate], embeddings=HashEmbeddings(), k=1,
    ...     always=("escalate",),
    ... )
    >>> [t.name for t in selector.select(["I forgot my password"])]
    ['escalate', 'reset_password']
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.messages import (
    BaseMessage,
    HumanMessage,
    ToolMessage,
    convert_to_messages,
)
from langchain_core.messages.utils import MessageLikeRepresentation
from langchain_core.tools import BaseTool

from memory.embeddings import create_embeddings
from tools.handoff import HANDOFF_PREFIX

__all__ = [
    "ALWAYS_OFFERED_KEY",
    "OFFERED_KEY",
    "DEFAULT_VECTOR_WEIGHT",
    "SelectionMode",
    "ToolSelection",
    "ToolSelector",
    "offer_always",
    "selection_query",
    "tool_document",
]

ALWAYS_OFFERED_KEY = "always_offered"
"""Tool metadata flag: offer this tool on every call, whatever the conversation."""

OFFERED_KEY = "tools_offered"
"""Where a reply records the tools its call was offered (``AIMessage.response_metadata``)."""

DEFAULT_VECTOR_WEIGHT = 0.4
"""Weight of the scaled cosine against the scaled BM25 score in ``hybrid`` mode."""

SelectionMode = Literal["hybrid", "vector", "lexical"]

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from has have how i in is it its me my "
    "of on or our please so that the this to us was we what when where which who will with "
    "would you your".split()
)


@dataclass(frozen=True, kw_only=True)
class ToolSelection:
    """The operator's setting: offer each model call only the top-k relevant tools.

    Set it on the controls (``PatternRuntime(controls=Controls(tool_selection=...))``); every
    model-call node of the graph then binds only the selected tools per call. None (the
    default on `nodes.controls.Controls`) offers every tool, as before.

    Attributes:
        k: ranked tools offered per call (the always-offered ones come on top).
        always: names of tools offered on every call (an escalation tool, a help search).
        embeddings: embeddings spec for the vector score (`memory.embeddings`): ``"hash"``
            (offline, shared words only), ``"chroma-default"``, ``"openai:<model>"``.
        mode: ``"hybrid"`` (BM25 and vectors fused), ``"vector"`` or ``"lexical"``.
        vector_weight: in ``hybrid`` mode, the weight of the scaled cosine against the
            scaled BM25 score (raise it for a semantic embedding, which finds synonyms BM25
            cannot).
    """

    k: int = 8
    always: tuple[str, ...] = ()
    embeddings: str = "hash"
    mode: SelectionMode = "hybrid"
    vector_weight: float = DEFAULT_VECTOR_WEIGHT

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"ToolSelection.k must be a positive integer, got {self.k!r}")
        if self.mode not in ("hybrid", "vector", "lexical"):
            raise ValueError(
                f"ToolSelection.mode must be hybrid, vector or lexical, got {self.mode!r}"
            )
        if not 0 <= self.vector_weight <= 100:
            raise ValueError(
                f"ToolSelection.vector_weight must be between 0 and 100, got {self.vector_weight}"
            )
        if isinstance(self.always, str):
            raise ValueError("ToolSelection.always is a tuple of tool names, not one string")
        object.__setattr__(self, "always", tuple(self.always))


def offer_always(tool: BaseTool) -> BaseTool:
    """A copy of `tool` marked to be offered on every call (metadata ``always_offered``)."""
    metadata = {**(tool.metadata or {}), ALWAYS_OFFERED_KEY: True}
    return tool.model_copy(update={"metadata": metadata})


def _words(text: str) -> list[str]:
    """Lower-cased words of `text`, ``snake_case`` and ``camelCase`` split, stopwords out."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    return [w for w in _WORD.findall(spaced) if w not in _STOPWORDS]


def tool_document(tool: BaseTool) -> str:
    """The text a tool is ranked by: its name as words, description, argument names."""
    schema: dict[str, Any] = {}
    try:
        schema = dict(tool.tool_call_schema.model_json_schema())  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - a tool without a pydantic schema: name and description
        schema = {}
    arguments = []
    for name, spec in (schema.get("properties") or {}).items():
        described = spec.get("description", "") if isinstance(spec, dict) else ""
        arguments.append(f"{name.replace('_', ' ')} {described}".strip())
    parts = [tool.name.replace("_", " "), tool.description or "", *arguments]
    return ". ".join(part for part in parts if part)


def selection_query(messages: Sequence[MessageLikeRepresentation]) -> str:
    """What the tools are ranked against: the latest human message and the tools used since.

    Args:
        messages: the conversation (messages or anything `convert_to_messages` takes).

    Returns:
        The latest human message's text, then the names of the tools whose results came back
        after it (one line); empty for a conversation without a human message.
    """
    converted: list[BaseMessage] = convert_to_messages(messages)
    latest = max((i for i, m in enumerate(converted) if isinstance(m, HumanMessage)), default=-1)
    if latest < 0:
        return ""
    used = list(
        dict.fromkeys(
            m.name for m in converted[latest + 1 :] if isinstance(m, ToolMessage) and m.name
        )
    )
    text = converted[latest].text
    return f"{text}\n{' '.join(n.replace('_', ' ') for n in used)}" if used else text


class _BM25:
    """Okapi BM25 over a fixed set of short documents (k1 = 1.2, b = 0.75)."""

    def __init__(self, documents: Sequence[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self._counts = [Counter(words) for words in documents]
        self._lengths = [len(words) for words in documents]
        self._average = (sum(self._lengths) / len(documents)) if documents else 1.0
        frequency: Counter[str] = Counter()
        for counts in self._counts:
            frequency.update(counts.keys())
        total = len(documents)
        self._idf = {
            word: math.log(1 + (total - n + 0.5) / (n + 0.5)) for word, n in frequency.items()
        }
        self._k1, self._b = k1, b

    def scores(self, query: Sequence[str]) -> list[float]:
        """The BM25 score of every document for `query` (0 where no word is shared)."""
        terms = [word for word in dict.fromkeys(query) if word in self._idf]
        found = []
        for counts, length in zip(self._counts, self._lengths, strict=True):
            norm = self._k1 * (1 - self._b + self._b * length / max(self._average, 1e-9))
            score = 0.0
            for word in terms:
                tf = counts.get(word, 0)
                if tf:
                    score += self._idf[word] * tf * (self._k1 + 1) / (tf + norm)
            found.append(score)
        return found


def _unit(vector: Sequence[float]) -> list[float]:
    """`vector` scaled to length 1 (a zero vector stays zero)."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine of two unit vectors (their dot product)."""
    return sum(x * y for x, y in zip(a, b, strict=True))


def _scaled(scores: Sequence[float]) -> list[float]:
    """Scores min-max scaled to [0, 1] (all equal: all 0, so they add nothing)."""
    low, high = min(scores), max(scores)
    spread = high - low
    return [(score - low) / spread if spread > 0 else 0.0 for score in scores]


def _ranks(scores: Sequence[float]) -> list[int]:
    """Positions sorted by score, best first (ties keep the tools' order)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


class ToolSelector:
    """Ranks an agent's tools against a conversation and picks what a model call is offered.

    Thread-safe; the tools' vectors are embedded on first use and kept.
    """

    def __init__(
        self,
        tools: Sequence[BaseTool],
        *,
        embeddings: Embeddings | None = None,
        k: int = 8,
        always: Sequence[str] = (),
        mode: SelectionMode = "hybrid",
        vector_weight: float = DEFAULT_VECTOR_WEIGHT,
    ) -> None:
        """Keep the tools and what ranks them.

        Args:
            tools: every tool of the agent (unique names).
            embeddings: the vector score's embedding (None: ``hash``).
            k: ranked tools offered per call.
            always: names of tools offered on every call (unknown names are ignored); tools
                with metadata ``always_offered`` and handoff tools are always offered too.
            mode: ``"hybrid"``, ``"vector"`` or ``"lexical"``.
            vector_weight: the cosine's weight in ``hybrid`` mode.
        """
        settings = ToolSelection(
            k=k, always=tuple(always), mode=mode, vector_weight=vector_weight
        )  # validates
        self.tools = list(tools)
        self.k = settings.k
        self.mode = settings.mode
        self.vector_weight = settings.vector_weight
        self.embeddings = embeddings if embeddings is not None else create_embeddings("hash")
        declared = set(settings.always)
        self.always = [
            t
            for t in self.tools
            if t.name in declared
            or t.name.startswith(HANDOFF_PREFIX)
            or (t.metadata or {}).get(ALWAYS_OFFERED_KEY)
        ]
        self._ranked = [t for t in self.tools if t not in self.always]
        documents = [tool_document(t) for t in self._ranked]
        self._documents = documents
        self._bm25 = _BM25([_words(d) for d in documents])
        self._vectors: list[list[float]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, tools: Sequence[BaseTool], settings: ToolSelection) -> ToolSelector:
        """The selector an operator's `ToolSelection` describes."""
        return cls(
            tools,
            embeddings=create_embeddings(settings.embeddings),
            k=settings.k,
            always=settings.always,
            mode=settings.mode,
            vector_weight=settings.vector_weight,
        )

    def _tool_vectors(self) -> list[list[float]]:
        with self._lock:
            if self._vectors is None:
                embedded = self.embeddings.embed_documents(self._documents)
                self._vectors = [_unit(vector) for vector in embedded]
            return self._vectors

    def scores(self, query: str) -> list[tuple[BaseTool, float]]:
        """Every rankable tool with its score for `query`, best first.

        The score is the cosine (``vector``), the BM25 score (``lexical``) or the fused score
        (``hybrid``: both scaled to [0, 1], ``bm25 + vector_weight * cosine``).
        """
        if not self._ranked:
            return []
        lexical = self._bm25.scores(_words(query)) if self.mode != "vector" else []
        if self.mode == "lexical":
            combined = lexical
        else:
            vector = _unit(self.embeddings.embed_query(query))
            cosine = [_dot(vector, tool_vector) for tool_vector in self._tool_vectors()]
            combined = cosine
            if self.mode == "hybrid":
                weight = self.vector_weight
                pairs = zip(_scaled(lexical), _scaled(cosine), strict=True)
                combined = [bm25 + weight * cos for bm25, cos in pairs]
        return [(self._ranked[i], combined[i]) for i in _ranks(combined)]

    def rank(self, query: str, k: int | None = None) -> list[BaseTool]:
        """The top `k` (default `self.k`) rankable tools for a query text."""
        return [tool for tool, _ in self.scores(query)[: self.k if k is None else k]]

    def select(self, messages: Sequence[MessageLikeRepresentation]) -> list[BaseTool]:
        """The tools a model call on this conversation is offered: always-offered, then top k.

        A conversation with no human message yet offers the always-offered tools and the
        first `k` tools in their given order.
        """
        query = selection_query(messages)
        ranked = self.rank(query) if query.strip() else self._ranked[: self.k]
        return [*self.always, *ranked]
