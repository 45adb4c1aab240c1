"""State, records, context and model roles of the reflexion pattern (`graphs.reflexion`).

The two roles (`CODER_ROLE`, `REFLECTOR_ROLE`) and the keyword inputs each receives are
declared here, so the graph and whatever plays a role offline agree on them without reading
each other's prompts: the graph passes them on every call (``nodes.model_call.resolve_model(
..., role=CODER_ROLE, inputs=CoderInputs(...))``) and an offline stand-in registered for the
role (`models.offline.register_offline`) is built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from pydantic import BaseModel, Field

from state.agent import AgentState
from state.context import AgentContext

__all__ = [
    "CODER_ROLE",
    "CODER_SYSTEM_PROMPT",
    "REFLECTOR_ROLE",
    "Attempt",
    "CodeTask",
    "CoderInputs",
    "Reflection",
    "ReflectorInputs",
    "ReflexionContext",
    "ReflexionState",
]

CODER_ROLE = "reflexion.coder"
"""The role that writes the code of each attempt; its inputs are `CoderInputs`."""

REFLECTOR_ROLE = "reflexion.reflector"
"""The role that turns a failed attempt into a lesson; its inputs are `ReflectorInputs`."""

CODER_SYSTEM_PROMPT = (
    "You write Python code that makes the given tests pass. Reply with the complete module "
    "in one ```python fenced block and nothing else. Use only the standard library; do not "
    "read or write files, start processes or use the network. Heed the reflections and "
    "lessons from earlier attempts."
)

REFLECT_SYSTEM_PROMPT = (
    "You review a failed attempt at a coding task. From the code and the test failures, write "
    "one or two sentences: what went wrong and what to do differently next time. Be concrete "
    "and general enough to help with a similar task. Reply with the lesson only."
)


class CodeTask(BaseModel):
    """A coding task: what to write and the tests that decide whether it works."""

    task: str = Field(description="what the code must do, e.g. 'implement slugify(text)'")
    tests: str = Field(
        description="pytest-style test module source: test_* functions that import what they "
        "test from `solution`"
    )
    tests_description: str = Field(
        default="", description="what the tests check, in words (shown to the model)"
    )


class Attempt(BaseModel):
    """One attempt: the code the model wrote."""

    trial: int = Field(ge=1, description="attempt number, from 1")
    code: str = Field(description="the module source written as solution.py")


class Reflection(BaseModel):
    """The model's lesson from one failed attempt."""

    trial: int = Field(ge=1, description="the attempt it reflects on")
    lesson: str = Field(description="what went wrong and what to do differently")


class CoderInputs(TypedDict):
    """What the coder receives on every call, besides its prompt.

    Attributes:
        task: the task being solved (what to write, its tests).
        lessons: lessons recalled from earlier runs of this or a similar task (texts).
        reflections: `Reflection` dumps (``{"trial", "lesson"}``) on this run's failed
            attempts, oldest first; empty for attempt 1.
    """

    task: CodeTask
    lessons: list[str]
    reflections: list[dict[str, Any]]


class ReflectorInputs(TypedDict):
    """What the reflector receives on every call, besides its prompt.

    Attributes:
        task: the task being solved.
        trial: the number of the failed attempt.
        code: the failed attempt's code.
        failures: the sandbox's ``{"test", "error", "where"}`` per failing test
            (`tools.sandbox.SandboxResult.failures`); empty when the run reported none
            (a time-out, a crash).
        summary: the sandbox's account of the run (`tools.sandbox.SandboxResult.summary`).
    """

    task: CodeTask
    trial: int
    code: str
    failures: list[dict[str, str]]
    summary: str


class ReflexionState(AgentState, total=False):
    """Full state of a reflexion run (reset for each request).

    Attributes:
        task: the `CodeTask` being solved (dump), or None when the request held none (or one
            that was refused).
        refusal: why the request's task was refused (client-supplied code not allowed here),
            else None.
        lessons: lessons recalled from episodic memory before attempt 1 (texts).
        attempts: `Attempt` dumps, oldest first.
        evaluations: `tools.sandbox.SandboxResult` dumps with ``trial`` and ``summary``, one per
            attempt; an attempt whose code was not run at all (no isolated sandbox here, or a
            task not allowed) also has ``error``, and the run ends there.
        reflections: `Reflection` dumps, one per failed attempt.
        succeeded: whether an attempt passed every test.
    """

    task: dict[str, Any] | None
    refusal: str | None
    lessons: list[str]
    attempts: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]
    reflections: list[dict[str, Any]]
    succeeded: bool


@dataclass(kw_only=True)
class ReflexionContext(AgentContext):
    """Settings of a reflexion run (on top of `AgentContext`)."""

    system_prompt: str = field(
        default=CODER_SYSTEM_PROMPT,
        metadata={"description": "System prompt of the attempts (the code writer)."},
    )
    reflect_prompt: str = field(
        default=REFLECT_SYSTEM_PROMPT,
        metadata={"description": "System prompt of the reflections on failed attempts."},
    )
    max_attempts: int = field(
        default=3,
        metadata={
            "description": "Attempts at most (1-10). The run ends after this many, saying "
            "whether one succeeded."
        },
    )
    time_limit_s: float = field(
        default=5.0,
        metadata={
            "description": "Seconds the tests of one attempt may run in the sandbox before "
            "the process is killed (counts as a failure)."
        },
    )
    task_id: str = field(
        default="",
        metadata={
            "description": "Key the episodic lessons are stored and recalled under. Empty: "
            "the task text (lessons of similar tasks are recalled too)."
        },
    )
    owner: str = field(
        default="reflexion",
        metadata={
            "description": "Whose lessons these are (a user or agent label, no '.'): one "
            "owner never sees another's lessons. Ignored on a server with authentication: "
            "there the lessons are the authenticated user's."
        },
    )
    lesson_limit: int = field(
        default=5,
        metadata={"description": "Lessons recalled from episodic memory before attempt 1."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.max_attempts <= 10:
            raise ValueError(f"max_attempts must be between 1 and 10, got {self.max_attempts}")
        if self.time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be positive, got {self.time_limit_s}")
        if not self.owner or "." in self.owner:
            raise ValueError(f"owner must be a non-empty label without '.', got {self.owner!r}")
