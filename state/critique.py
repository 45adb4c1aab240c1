"""State, verdict, context and model roles of the critique pattern (`graphs.critique`).

The two roles (`WRITER_ROLE`, `JUDGE_ROLE`) and the keyword inputs each receives are declared
here, so the graph and whatever plays a role offline agree on them without reading each
other's prompts: the graph passes them on every call (``nodes.model_call.resolve_model(...,
role=WRITER_ROLE, inputs=WriterInputs(...))``) and an offline stand-in registered for the role
(`models.offline.register_offline`) is built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field

from state.agent import AgentState
from state.context import AgentContext

__all__ = [
    "GENERATOR_SYSTEM_PROMPT",
    "JUDGE_ROLE",
    "JUDGE_SYSTEM_PROMPT",
    "WRITER_ROLE",
    "CritiqueContext",
    "CritiqueMode",
    "CritiqueState",
    "JudgeInputs",
    "Verdict",
    "WriterInputs",
]

WRITER_ROLE = "critique.writer"
"""The role that writes the first draft and each revision; its inputs are `WriterInputs`."""

JUDGE_ROLE = "critique.judge"
"""The role that returns a `Verdict` on a draft; its inputs are `JudgeInputs`."""


class WriterInputs(TypedDict):
    """What the writer receives on every call, besides its prompt.

    Attributes:
        request: the text of the latest human message: what the draft answers.
        draft: the previous draft's text when revising; None for the first draft.
        issues: the judge's issues with the previous draft, in its order; empty for the
            first draft.
    """

    request: str
    draft: str | None
    issues: list[str]


class JudgeInputs(TypedDict):
    """What the judge receives on every call, besides its prompt.

    Attributes:
        request: the text of the latest human message: what the draft answers.
        draft: the text of the draft to judge.
    """

    request: str
    draft: str


CritiqueMode = Literal["single", "iterate"]
"""``single``: one review and one revision; ``iterate``: revise until accepted or out of rounds."""

GENERATOR_SYSTEM_PROMPT = (
    "You write the text the user asks for: clear, correct, concise, using only the facts "
    "given. When you receive a previous draft and a reviewer's issues, return a complete "
    "revised text that fixes every issue; return only the text."
)

JUDGE_SYSTEM_PROMPT = (
    "You are a strict reviewer. Judge the draft against the request: is it correct, "
    "complete, grounded in the facts given, and clear? Give a score between 0 and 1, "
    "passed=true only if it can be sent as is, and list each concrete problem as one "
    "actionable issue (empty when there is none)."
)


class Verdict(BaseModel):
    """The judge's structured verdict on one draft."""

    score: float = Field(ge=0.0, le=1.0, description="quality of the draft, 0 (bad) to 1 (perfect)")
    passed: bool = Field(description="true only if the draft can be used as is")
    issues: list[str] = Field(
        default_factory=list,
        description="concrete, actionable problems to fix, one per item; empty if none",
    )


class CritiqueState(AgentState, total=False):
    """Full state of a critique run; the history is per request (reset on each new turn).

    Attributes:
        request: the text of the latest human message: what the drafts answer.
        drafts: ``{"round", "text"}`` per draft of this request, oldest first.
        verdicts: ``{"round", "score", "passed", "issues"}`` per judged draft.
        round: the number of the latest draft (1 for the first).
        best: the best judged draft so far, ``{"round", "draft", "verdict"}``: passed before
            not passed, then the higher score; ties keep the earlier draft.
        outcome: how the run ended, ``{"status", "round", "score", "passed", "draft"}`` with
            status ``passed`` (accepted), ``revised`` (single mode: revised once, the
            revision not judged again), ``limit`` (out of rounds: the best draft returned) or
            ``judge_error`` (the judge's verdict was invalid even when asked again: the best
            judged draft, else the unjudged latest one, returned).
        judge_error: why the judge's verdict on the latest draft was unusable, or None.
    """

    request: str
    drafts: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    round: int
    best: dict[str, Any] | None
    outcome: dict[str, Any]
    judge_error: str | None


@dataclass(kw_only=True)
class CritiqueContext(AgentContext):
    """Run settings of the critique pattern (plus the shared `AgentContext` fields)."""

    system_prompt: str = field(
        default=GENERATOR_SYSTEM_PROMPT,
        metadata={"description": "The generator's system prompt (drafts and revisions)."},
    )
    judge_prompt: str = field(
        default=JUDGE_SYSTEM_PROMPT,
        metadata={"description": "The judge's system prompt (it returns a Verdict)."},
    )
    mode: CritiqueMode = field(
        default="iterate",
        metadata={
            "description": "'single': draft, one review, one revision (not judged again). "
            "'iterate': revise until a draft is accepted or max_rounds drafts were judged; "
            "then the best draft is returned."
        },
    )
    threshold: float = field(
        default=0.8,
        metadata={
            "description": "A draft is accepted when the judge says passed and its score is "
            "at least this (0..1)."
        },
    )
    max_rounds: int = field(
        default=3,
        metadata={"description": "Most drafts judged per request in 'iterate' mode (1..10)."},
    )
    judge_model: str = field(
        default="",
        metadata={
            "description": "Chat model spec of the judge ('demo', 'openai:<model>'). Empty: "
            "the generator's model. Ignored when the graph was built with a judge object."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in ("single", "iterate"):
            raise ValueError(f"mode must be 'single' or 'iterate', got {self.mode!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {self.threshold}")
        if not 1 <= self.max_rounds <= 10:
            raise ValueError(f"max_rounds must be between 1 and 10, got {self.max_rounds}")
