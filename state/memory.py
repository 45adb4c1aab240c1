"""State, context and structured output of the memory-augmented agent.

The memory agent is ReAct with two more steps: `recall_memories` before the loop (search the
user's memories with the request) and `remember_facts` after the answer (extract facts worth
keeping, store them with provenance). Its state adds what was recalled this turn (facts and
procedural preferences) and append-only records of what was stored and what was forgotten;
its context adds the user id and the recall settings. `ExtractedFacts` is what the extractor
returns: facts (with an attribute, so a new fact supersedes the stored one), procedural
preferences and forget requests (see `memory.facts`).
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
    "ForgetRequest",
    "MemoryAgentOutput",
    "MemoryAgentState",
    "MemoryContext",
    "Procedure",
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
            A stored record's ``change`` is ``added`` (new), ``restated`` (same text again)
            or ``superseded`` (a new version of the same attribute; ``version``,
            ``supersedes`` and ``previous_text`` say what it replaced).
        recalled_procedures: the user's procedural preferences applied to this turn's
            system prompt (replaced each turn): ``{key, text, attribute, version, ...}``.
        forgotten: one record per memory version deleted on the user's request
            (``{key, namespace, kind, text, version, status, request}``), appended.
    """

    recalled_memories: list[dict[str, Any]]
    remembered: Annotated[list[dict[str, Any]], operator.add]
    # -- memory strategies (issue 21): procedural preferences and forget ----------------------
    recalled_procedures: list[dict[str, Any]]
    forgotten: Annotated[list[dict[str, Any]], operator.add]


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
    attribute: str | None = Field(
        default=None,
        max_length=80,
        description="What the fact is about, as a short snake_case key, so that a later fact "
        "about the same thing replaces it: name, location, language, email_address, "
        "phone_number, contact_preference, occupation, or another key you would reuse for "
        "the same question. Null for facts that do not replace one another.",
    )


class Procedure(BaseModel):
    """How the user wants to be served, applied to every later answer."""

    text: str = Field(
        min_length=3,
        max_length=300,
        description="The instruction as the user gave it, e.g. 'Answer in bullet points'.",
    )
    attribute: str = Field(
        min_length=2,
        max_length=80,
        description="What it governs, so a later instruction about the same thing replaces "
        "it: answer_format, answer_length, answer_language, tone, or "
        "always_include:<thing> (e.g. always_include:order_number).",
    )


class ForgetRequest(BaseModel):
    """The user asked to forget something they told earlier."""

    everything: bool = Field(
        default=False, description="True when the user asks to forget everything about them."
    )
    attribute: str | None = Field(
        default=None,
        max_length=80,
        description="The attribute to forget (location, name, answer_format ...), if named.",
    )
    text: str = Field(
        default="",
        max_length=300,
        description="What to forget in the user's words ('I live in Berlin'); its words must "
        "all appear in a memory for it to be forgotten. Empty: the whole attribute.",
    )


class ExtractedFacts(BaseModel):
    """What to remember (facts, procedural preferences) and forget from the user's words."""

    facts: list[Fact] = Field(
        default_factory=list,
        max_length=10,
        description="Facts worth remembering across conversations. Leave empty for plain "
        "questions or small talk.",
    )
    procedures: list[Procedure] = Field(
        default_factory=list,
        max_length=10,
        description="Standing instructions on how to answer this user from now on. Not "
        "one-off requests about the current question.",
    )
    forget: list[ForgetRequest] = Field(
        default_factory=list,
        max_length=10,
        description="What the user asked you to forget; empty unless they asked.",
    )
