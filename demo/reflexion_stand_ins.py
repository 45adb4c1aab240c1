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
"""

from __future__ import annotations

import re

from langchain_core.messages import BaseMessage

from models.scripted import ScriptedChatModel
from nodes.messages import latest_human_text

__all__ = ["SLUGIFY_ATTEMPTS", "demo_coder", "demo_reflector"]

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

_FAILED_TEST = re.compile(r"^- (test_\w+):", re.MULTILINE)


def _learnt(prompt: str) -> int:
    """Lessons and reflections listed in an attempt prompt (lines ``- ...`` under them)."""
    count = 0
    for section in prompt.split("\n\n"):
        if section.strip().startswith(("Lessons from earlier runs", "Reflections on your fail")):
            count += sum(1 for line in section.splitlines() if line.startswith("- "))
    return count


def demo_coder() -> ScriptedChatModel:
    """The coder: the next ``slugify`` attempt for what it has learnt so far."""

    def write(messages: list[BaseMessage]) -> str:
        prompt = latest_human_text(messages)
        if "slugify(text: str)" not in prompt:
            return f"# {NOT_AN_LLM}: it only knows the shipped scenario 'slugify'.\n"
        attempt = SLUGIFY_ATTEMPTS[min(_learnt(prompt), len(SLUGIFY_ATTEMPTS) - 1)]
        return f"```python\n{attempt}```"

    return ScriptedChatModel(replies=[write], cycle=True)


def demo_reflector() -> ScriptedChatModel:
    """The reflector: lessons from the failing tests the sandbox reported."""

    def reflect(messages: list[BaseMessage]) -> str:
        report = latest_human_text(messages).split("Test result:\n", 1)[-1]
        failed = _FAILED_TEST.findall(report)
        lessons = [LESSONS[test] for test in failed if test in LESSONS]
        if lessons:
            return " ".join(dict.fromkeys(lessons))
        first = report.strip().splitlines()[:2]
        return "Fix what the tests reported first: " + " ".join(first)

    return ScriptedChatModel(replies=[reflect], cycle=True)
