"""Offline stand-ins for reflexion's coder and reflector when a run uses the demo model.

The demo model (`models.heuristic.HeuristicDemoModel`) is keyword heuristics, not an LLM: it
cannot write code or reflect. So that ``langgraph dev``, the CLI and Studio show the pattern
offline, a run on the demo model plays these scripted roles instead, for the shipped
``slugify`` scenario (`graphs.reflexion.SCENARIOS`):

- the coder knows three attempts, each better than the last (spaces only; every separator
  but accented letters kept; correct), and picks the next one by how much it has learnt: the
  number of reflections on this run's failures plus the lessons recalled from earlier runs.
  So a first run fails twice and passes on attempt 3, and a later run that recalls the stored
  lessons passes on its first attempt;
- the reflector turns the failing tests named in the sandbox's report into lessons (one
  sentence per failing test it knows, else the report's first failure).

The tests still run in the sandbox: only the model is scripted, the check is real. Any other
task gets a reply that says what the stand-in is and what it knows, and fails its tests.

Both play from the inputs the pattern declares for their roles (`state.reflexion.CoderInputs`,
`state.reflexion.ReflectorInputs`), never from the prompt's text. `register_stand_ins`
registers them; the served reflexion graph's wiring calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.reflexion import CODER_ROLE, REFLECTOR_ROLE, CodeTask

__all__ = ["SLUGIFY_ATTEMPTS", "demo_coder", "demo_reflector", "register_stand_ins"]

SLUGIFY_ATTEMPTS = [
    'def slugify(text: str) -> str:\n    return text.lower().replace(" ", "-")\n',
    "import re\n\n\ndef slugify(text: str) -> str:\n"
    '    return re.sub(r"[^\\w]+", "-", text.lower()).strip("-")\n',
    "import re\n\n\ndef slugify(text: str) -> str:\n"
    '    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")\n',
]
"""The coder's attempts at ``slugify``, worst first; the last passes every test."""

LESSONS = {
    "test_words": "Punctuation is a separator too: replace every run of characters that are "
    "not letters or digits with one '-', not only spaces.",
    "test_spaces_collapse": "Collapse runs of separators into a single '-' and strip '-' from "
    "both ends.",
    "test_strips_dashes": "Strip '-' from both ends after replacing separators.",
    "test_non_ascii_is_a_separator": "Only ASCII counts as letters: match [^a-z0-9]+ after "
    "lower-casing, because \\w also matches accented letters such as 'é'.",
}
"""What the reflector learns from each failing ``slugify`` test."""

NOT_AN_LLM = "offline demo coder (not an LLM)"

SLUGIFY_SIGNATURE = "slugify(text: str)"
"""How the coder recognises the shipped ``slugify`` task in its text."""


def code_for(task: CodeTask | None, learnt: int) -> str:
    """The coder's reply: the ``slugify`` attempt for `learnt` lessons, else a note.

    Args:
        task: the task; only the shipped ``slugify`` scenario is known.
        learnt: lessons recalled plus reflections so far: which attempt comes next.
    """
    if task is None or SLUGIFY_SIGNATURE not in task.task:
        return f"# {NOT_AN_LLM}: it only knows the shipped scenario 'slugify'.\n"
    attempt = SLUGIFY_ATTEMPTS[min(learnt, len(SLUGIFY_ATTEMPTS) - 1)]
    return f"```python\n{attempt}```"


def lessons_for(failures: Sequence[Mapping[str, str]], summary: str = "") -> str:
    """The reflector's lesson: one sentence per failing test it knows, else the report's start.

    Args:
        failures: the sandbox's ``{"test", "error", "where"}`` per failing test.
        summary: the sandbox's account of the run (used when no failing test is known).
    """
    known = [LESSONS[failure["test"]] for failure in failures if failure.get("test") in LESSONS]
    if known:
        return " ".join(dict.fromkeys(known))
    first = summary.strip().splitlines()[:2]
    return "Fix what the tests reported first: " + " ".join(first)


def demo_coder(
    *,
    task: CodeTask | None = None,
    lessons: Sequence[str] = (),
    reflections: Sequence[Mapping[str, Any]] = (),
    **_: Any,
) -> ScriptedChatModel:
    """The coder: the next ``slugify`` attempt for what it has learnt so far.

    Args:
        task: the task being solved (`state.reflexion.CoderInputs`).
        lessons: lessons recalled from earlier runs.
        reflections: reflections on this run's failed attempts.
        **_: other inputs, ignored.
    """
    reply = code_for(task, len(lessons) + len(reflections))
    return ScriptedChatModel(replies=[reply], cycle=True)


def demo_reflector(
    *, failures: Sequence[Mapping[str, str]] = (), summary: str = "", **_: Any
) -> ScriptedChatModel:
    """The reflector: lessons from the failing tests the sandbox reported.

    Args:
        failures: the sandbox's failing tests (`state.reflexion.ReflectorInputs`).
        summary: the sandbox's account of the run.
        **_: other inputs (the task, the trial, the code), ignored.
    """
    return ScriptedChatModel(replies=[lessons_for(failures, summary)], cycle=True)


def register_stand_ins() -> None:
    """Register the coder and the reflector as reflexion's offline stand-ins (by role)."""
    register_offline(CODER_ROLE, demo_coder)
    register_offline(REFLECTOR_ROLE, demo_reflector)
