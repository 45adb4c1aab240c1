"""State, verdict, context and model roles of the loop pattern (`graphs.loop`).

A loop runs a body (any agent or compiled graph) round after round on the same request, each
round seeing the previous round's output and what was still wrong with it, until a stop check
says it passes or the rounds run out. The stop check is a Python predicate or a judge that
returns a `LoopVerdict` (structured output).

The two roles (`BODY_ROLE`, `JUDGE_ROLE`) and the keyword inputs each receives are declared
here, so the graph and whatever plays a role offline agree on them without reading each
other's prompts: an offline stand-in registered for the role (`models.offline.register_offline`)
is built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field

from state.agent import AgentState
from state.context import AgentContext

__all__ = [
    "BODY_ROLE",
    "JUDGE_ROLE",
    "judge_role",
    "JUDGE_SYSTEM_PROMPT",
    "BodyInputs",
    "JudgeInputs",
    "LoopContext",
    "LoopState",
    "LoopStatus",
    "LoopVerdict",
    "body_role",
]

BODY_ROLE = "loop.body"
"""The prefix of a body's role: a body built from a tool-agent spec plays `body_role`
(``loop.body.<its name>``), with `BodyInputs`. Offline, the body is rebuilt for the round on the
stand-in registered for its role, if any (a body given as a compiled graph runs as given)."""


def body_role(name: str) -> str:
    """The role a loop's body named `name` plays: ``loop.body.<name>``.

    Per body, so a scenario's stand-in plays only its own body, never another loop's.
    """
    return f"{BODY_ROLE}.{name}"


JUDGE_ROLE = "loop.judge"
"""The prefix of the judges' roles (`judge_role`); their inputs are `JudgeInputs`."""


def judge_role(name: str) -> str:
    """The role of the judge of the loop whose body is named `name`: ``loop.judge.<name>``.

    Per loop, like the body's role, so a scenario's judge stand-in judges only its own loop.
    """
    return f"{JUDGE_ROLE}.{name}"


JUDGE_SYSTEM_PROMPT = (
    "You are a strict reviewer. Check the answer against the request. Set passes=true only "
    "if it can be used as is; give the reason in one sentence, and list every remaining "
    "problem as one concrete, actionable issue (empty when there is none)."
)

LoopStatus = Literal["passed", "limit", "judge_error"]
"""How a loop ended: a round passed, the rounds ran out, or the judge gave no valid verdict."""


class LoopVerdict(BaseModel):
    """The stop check's verdict on one round's output."""

    passes: bool = Field(description="true only if the output can be used as is")
    reason: str = Field(description="why it passes or not, in one sentence")
    remaining_issues: list[str] = Field(
        default_factory=list,
        description="concrete problems still to fix, one per item; empty when it passes",
    )


class BodyInputs(TypedDict):
    """What the body's offline stand-in receives for a round, besides its prompt.

    Attributes:
        request: the text of the latest human message: what every round answers.
        round: the round's number (1 for the first).
        previous: the previous round's output; None in round 1.
        issues: the previous round's remaining issues, in the judge's order; empty in round 1.
    """

    request: str
    round: int
    previous: str | None
    issues: list[str]


class JudgeInputs(TypedDict):
    """What the judge receives on every call, besides its prompt.

    Attributes:
        request: the text of the latest human message.
        output: the round's output to check.
        round: the round's number.
    """

    request: str
    output: str
    round: int


class LoopState(AgentState, total=False):
    """Full state of a loop run; the rounds are per request (reset on each new turn).

    Attributes:
        request: the text of the latest human message: what every round answers.
        rounds: one entry per round, oldest first: ``{"round", "input", "output", "error",
            "verdict"}``; ``input`` is the task the body got, ``error`` says why the body
            failed (its output is then empty), ``verdict`` is the `LoopVerdict` as JSON (None
            when the judge gave no valid verdict).
        round: the number of the latest round (0 before the first).
        outcome: how the run ended: ``{"status", "passed", "rounds", "round", "output",
            "reason", "remaining_issues"}``; ``round`` is the round whose output the answer
            returns, ``rounds`` how many ran; status is a `LoopStatus`.
        judge_error: why the judge's verdict on the latest round was unusable, or None.
    """

    request: str
    rounds: list[dict[str, Any]]
    round: int
    outcome: dict[str, Any]
    judge_error: str | None


@dataclass(kw_only=True)
class LoopContext(AgentContext):
    """Run settings of the loop pattern (plus the shared `AgentContext` fields)."""

    max_rounds: int = field(
        default=3,
        metadata={
            "description": "Most rounds per request (1..10); the graph's own max_rounds caps "
            "it too. Past it, the run ends with the last round's output and what still fails."
        },
    )
    judge_prompt: str = field(
        default=JUDGE_SYSTEM_PROMPT,
        metadata={"description": "The judge's system prompt (it returns a LoopVerdict)."},
    )
    judge_model: str = field(
        default="",
        metadata={
            "description": "Chat model spec of the judge ('demo', 'openai:<model>'). Empty: "
            "the loop's model. Ignored when the graph was built with a judge object."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.max_rounds <= 10:
            raise ValueError(f"max_rounds must be between 1 and 10, got {self.max_rounds}")
