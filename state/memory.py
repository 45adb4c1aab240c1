"""State, context and structured output of the memory-augmented agent.

The memory agent is ReAct with two more steps: `recall_memories` before the loop (search the
user's memories with the request) and `remember_facts` after the answer (extract facts worth
keeping, store them with provenance). Its state adds what was recalled this turn and an
append-only record of what was stored; its context adds the user id and the recall settings.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from state.agent import AgentOutput, AgentState
from state.context import AgentContext

__all__ = [
    "ExtractedFacts",
    "Fact",
    "FactCategory",
    "MemoryAgentOutput",
    "MemoryAgentState",
    "MemoryContext",
]

FactCategory = Literal["preference", "profile", "situation", "other"]


@dataclass(kw_only=True)
class MemoryContext(AgentContext):
    """`AgentContext` plus whose memories to use and how many to recall."""

    user_id: str = field(
        default="anonymous",
        metadata={
            "description": "Whose long-term memories this run reads and writes (namespace "
            "('memories', user_id)). Runs without one share the 'anonymous' memories. On a "
            "LangGraph server with authentication, the authenticated user is used instead."
        },
    )
    recall_limit: int = field(
        default=5,
        metadata={"description": "At most this many memories are recalled per turn (0: none)."},
    )
    recall_threshold: float = field(
        default=0.2,
        metadata={
            "description": "Minimum similarity (cosine, -1..1) a memory needs to be recalled. "
            "With the offline 'hash' embedding one shared word scores about 0.2 to 0.5 and "
            "unrelated texts about 0 (rarely up to 0.2); with MiniLM or OpenAI embeddings "
            "0.3 to 0.5 is stricter."
        },
    )
    remember: bool = field(
        default=True,
        metadata={
            "description": "Extract facts from the user's messages after each answer and "
            "store them. Off: memories are only read."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.user_id:
            raise ValueError("user_id must be non-empty (its namespace label escapes any '.')")
        if not 0 <= self.recall_limit <= 50:
            raise ValueError(f"recall_limit must be between 0 and 50, got {self.recall_limit}")
        if not -1.0 <= self.recall_threshold <= 1.0:
            raise ValueError(
                f"recall_threshold must be between -1 and 1, got {self.recall_threshold}"
            )


class MemoryAgentOutput(AgentOutput):
    """What a run returns: conversation, approvals, this turn's recall and the memory log.

    Attributes:
        recalled_memories: the memories recalled for the latest request (replaced each turn):
            ``{key, text, score, thread_id, source_message_id, recorded_at}``.
        remembered: one record per fact stored (``status: "stored"``) or per failed
            extraction (``status: "failed"``, with ``error``), appended, never rewritten.
    """

    recalled_memories: list[dict[str, Any]]
    remembered: Annotated[list[dict[str, Any]], operator.add]


class MemoryAgentState(MemoryAgentOutput, AgentState):
    """Full state of the memory agent (`AgentState` plus the memory fields)."""


class Fact(BaseModel):
    """One fact about the user worth remembering in later conversations.

    A fact is a statement: `remember_facts` drops "facts" that are questions.
    """

    text: str = Field(
        min_length=3,
        max_length=500,
        description="The fact as a short, self-contained statement about the user, e.g. "
        "'Prefers email over phone calls'. No greetings, no questions, nothing the "
        "assistant said.",
    )
    category: FactCategory = Field(
        default="other",
        description="preference (likes, wants, how to be contacted), profile (name, "
        "language, location), situation (ongoing problems, plans), or other.",
    )


class ExtractedFacts(BaseModel):
    """Durable facts the user stated about themselves; empty when there are none."""

    facts: list[Fact] = Field(
        default_factory=list,
        max_length=10,
        description="Facts worth remembering across conversations. Leave empty for plain "
        "questions or small talk.",
    )
