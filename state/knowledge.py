"""State and context of knowledge retrieval: passages before the model call, grounded answers.

`nodes.knowledge.make_retrieve_knowledge` keeps this turn's passages in
``retrieved_knowledge`` (replaced each turn); the model node wrapped by
`nodes.knowledge.make_call_model_with_knowledge` records how its answer used them in
``knowledge_check``. The settings (how many passages, the score a passage needs, grounded mode)
are context fields any pattern's context can mix in (`KnowledgeSettings`).

The memory agent uses the knowledge-aware variants defined here (`KnowledgeMemoryContext`,
`KnowledgeMemoryState`, `KnowledgeMemoryOutput`): its memory classes plus these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NotRequired

from typing_extensions import TypedDict

from state.agent import AgentState
from state.context import AgentContext
from state.memory import MemoryAgentOutput, MemoryAgentState, MemoryContext

__all__ = [
    "KnowledgeAgentState",
    "KnowledgeContext",
    "KnowledgeFields",
    "KnowledgeMemoryContext",
    "KnowledgeMemoryOutput",
    "KnowledgeMemoryState",
    "KnowledgeSettings",
]


@dataclass(kw_only=True)
class KnowledgeSettings:
    """Context fields of knowledge retrieval (a mixin: put it before the context's base)."""

    knowledge_limit: int = field(
        default=4,
        metadata={
            "description": "At most this many knowledge-base passages are retrieved per turn "
            "and put into the model's system prompt (0: knowledge retrieval off)."
        },
    )
    knowledge_min_score: float = field(
        default=0.3,
        metadata={
            "description": "Relevance a passage needs to be used: the share of the request's "
            "words (BM25 terms) the passage contains, 0..1, or its vector similarity when "
            "that is higher. Below it a passage is not relevant; in grounded mode, no passage "
            "above it means 'I do not know'."
        },
    )
    grounded: bool = field(
        default=False,
        metadata={
            "description": "Grounded mode: answer only from the knowledge base. With no "
            "relevant passage the agent says it does not know (the model is not called); an "
            "answer must cite the passages it uses, or it is refused. A client may turn it on; "
            "when the operator turned it on (AGENT_PATTERNS_GROUNDED or the graph's "
            "grounded=True) a client cannot turn it off."
        },
    )

    def __post_init__(self) -> None:
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()
        if not 0 <= self.knowledge_limit <= 20:
            raise ValueError(
                f"knowledge_limit must be between 0 and 20, got {self.knowledge_limit}"
            )
        if not 0.0 <= self.knowledge_min_score <= 1.0:
            raise ValueError(
                f"knowledge_min_score must be between 0 and 1, got {self.knowledge_min_score}"
            )


@dataclass(kw_only=True)
class KnowledgeContext(KnowledgeSettings, AgentContext):
    """`AgentContext` plus the knowledge settings and whose knowledge outside a server."""

    user_id: str = field(
        default="anonymous",
        metadata={
            "description": "Outside a server: whose user-scope knowledge (and teams) a run "
            "reads. On a LangGraph server the authenticated user is used instead."
        },
    )


@dataclass(kw_only=True)
class KnowledgeMemoryContext(KnowledgeSettings, MemoryContext):
    """The memory agent's context (`MemoryContext`) plus the knowledge settings."""


class KnowledgeFields(TypedDict):
    """What retrieval and the answer check add to a graph's state and output.

    Attributes:
        retrieved_knowledge: this turn's passages (replaced each turn), each
            ``{citation, text, title, source, position, scope, score, relevance, chunk_id}``.
        knowledge_check: how the latest answer used them: ``status`` (``cited``,
            ``uncited``, ``unknown_citations``, ``declined``, ``refused``, ``no_knowledge``),
            ``grounded``, ``cited``, ``unknown``, ``available`` (citations), ``asked_again``.
    """

    retrieved_knowledge: NotRequired[list[dict[str, Any]]]
    knowledge_check: NotRequired[dict[str, Any] | None]


class KnowledgeAgentState(KnowledgeFields, AgentState):
    """A tool-calling agent's state (`AgentState`) with the knowledge fields."""


class KnowledgeMemoryOutput(KnowledgeFields, MemoryAgentOutput):
    """What the memory agent returns (`MemoryAgentOutput`) plus the knowledge fields."""


class KnowledgeMemoryState(KnowledgeFields, MemoryAgentState):
    """The memory agent's full state (`MemoryAgentState`) plus the knowledge fields."""
