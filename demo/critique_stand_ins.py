"""Offline stand-ins for critique's writer and judge when a run uses the demo model.

The demo model (`models.heuristic.HeuristicDemoModel`) is keyword heuristics, not an LLM: it
cannot draft or review. So that ``langgraph dev``, the CLI and Studio show the pattern
offline, a run on the demo model plays these scripted roles instead, for replies to customers:

- the judge checks a rubric in code: the reply names every order the request mentions (ids
  like ``A-1001``), apologises when the request reports a problem, says what happens next
  (a ``Next step:`` sentence) and keeps to 120 words. The score is the share of the rubric
  met; the draft passes when all of it is. Each issue starts with the rubric item it is about;
- the writer's first draft is an acknowledgement plus the facts the request lists (its
  ``- ...`` lines), nothing else; each revision fixes the first two issues the judge listed.
  So the CLI's default request ("My order A-1001 arrived broken. Can you refund it?") scores
  0.25, then 0.75, and passes in round 3.

Both play from the inputs the pattern declares for their roles (`state.critique.WriterInputs`,
`state.critique.JudgeInputs`), never from the prompt's text. `register_stand_ins` registers
them; the served critique graph's wiring calls it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.critique import JUDGE_ROLE, WRITER_ROLE, Verdict

__all__ = ["MAX_WORDS", "demo_judge", "demo_writer", "register_stand_ins", "review"]

MAX_WORDS = 120
GREETING = "Hello,"
SIGN_OFF = ["Best regards,", "The support team"]
FIRST_DRAFT = "Thank you for getting in touch with us."
NEXT_STEP = (
    "Next step: we will look into it today and reply within one business day with a refund, "
    "a replacement or a fix."
)
APOLOGY = "We are sorry about the trouble this has caused."

_ORDER_ID = re.compile(r"\b[A-Z]-\d{3,}\b")
_PROBLEM = re.compile(
    r"\b(broken|damaged|late|missing|wrong|never arrived|not arrived|faulty|cracked)\b", re.I
)
_APOLOGY = re.compile(r"\b(sorry|apologi[sz]e)", re.I)


def _orders(request: str) -> list[str]:
    return list(dict.fromkeys(_ORDER_ID.findall(request)))


def review(request: str, draft: str) -> Verdict:
    """The rubric's verdict on `draft` as a reply to `request`."""
    issues = []
    missing = [order for order in _orders(request) if order not in draft]
    if missing:
        issues.append(
            f"Order: name the order ({', '.join(missing)}) so the customer knows "
            "which one you mean."
        )
    if _PROBLEM.search(request) and not _APOLOGY.search(draft):
        issues.append("Apology: the customer reports a problem; apologise for it.")
    if "next step" not in draft.lower():
        issues.append("Next step: say what happens next and when.")
    if len(draft.split()) > MAX_WORDS:
        issues.append(f"Length: keep the reply to {MAX_WORDS} words.")
    score = round(1 - len(issues) / 4, 2)
    return Verdict(score=score, passed=not issues, issues=issues)


def demo_judge(*, request: str = "", draft: str = "", **_: Any) -> ScriptedChatModel:
    """The judge: `review` of `draft` as a reply to `request`, as a `Verdict`.

    Args:
        request: the request the draft answers (`state.critique.JudgeInputs`).
        draft: the draft to judge.
        **_: other inputs, ignored.
    """
    return ScriptedChatModel(replies=[review(request, draft)], cycle=True)


def _revise(request: str, previous: list[str], issues: list[str]) -> list[str]:
    """The previous draft's body with the first two issues fixed."""
    body = [line for line in previous if line and line != GREETING and line not in SIGN_OFF]
    for issue in issues[:2]:
        if issue.startswith("Order:"):
            body.insert(0, f"This is about your order {', '.join(_orders(request))}.")
        elif issue.startswith("Apology:"):
            body.insert(1 if body else 0, APOLOGY)
        elif issue.startswith("Next step:"):
            body.append(NEXT_STEP)
        elif issue.startswith("Length:"):
            body = [line for line in body if line in (APOLOGY, NEXT_STEP) or "order" in line]
    return body


def write(request: str, draft: str | None = None, issues: Sequence[str] = ()) -> str:
    """The writer's text: a first draft of the request's facts, or `draft` revised.

    Args:
        request: what the reply answers; its ``- ...`` lines are the facts of a first draft.
        draft: the previous draft; None writes the first one.
        issues: the judge's issues with `draft`; the first two are fixed.
    """
    if draft is None:
        facts = [line[2:].strip() for line in request.splitlines() if line.startswith("- ")]
        body = [FIRST_DRAFT, *(f"{fact[:1].upper()}{fact[1:]}." for fact in facts)]
    else:
        body = _revise(request, draft.splitlines(), list(issues))
    return "\n".join([GREETING, *body, *SIGN_OFF])


def demo_writer(
    *, request: str = "", draft: str | None = None, issues: Sequence[str] = (), **_: Any
) -> ScriptedChatModel:
    """The writer: a first draft of the request's facts; then revisions fixing two issues.

    Args:
        request: the request the draft answers (`state.critique.WriterInputs`).
        draft: the previous draft when revising; None for the first draft.
        issues: the judge's issues with the previous draft.
        **_: other inputs, ignored.
    """
    return ScriptedChatModel(replies=[write(request, draft, issues)], cycle=True)


def register_stand_ins() -> None:
    """Register the writer and the judge as critique's offline stand-ins (by role)."""
    register_offline(WRITER_ROLE, demo_writer)
    register_offline(JUDGE_ROLE, demo_judge)
