"""Capability-matched assignment: which worker researches a workstream (code, not a model).

Each worker declares capabilities: keywords or short phrases (``"regulation"``,
``"unit economics"``). A capability matches a workstream when every one of its words begins
a word of the workstream's name, deliverable or questions (case-insensitive; so
``"regulat"`` matches "regulatory" and "regulations"). A worker's score is the number of its
capabilities that match. The workstream goes to the worker with the highest score; a tie
goes to the worker declared first. When no capability of any worker matches, it goes to the
generalist, if there is one, else it is left unassigned (and reported as such).

Example:
    >>> workers = {"legal": ("regulat", "tax"), "ops": ("logistics", "delivery")}
    >>> match_worker("Regulatory and tax review", ["Which food rules apply?"], workers)
    {'worker': 'legal', 'how': 'capabilities', 'score': 2, 'matched': ['regulat', 'tax']}
    >>> match_worker("Brand awareness", [], workers, generalist="ops")["how"]
    'generalist'
    >>> match_worker("Brand awareness", [], workers)["worker"] is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["capability_matches", "match_worker", "words"]

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """The lowercase words (letters and digits) of `text`."""
    return _WORD.findall(text.lower())


def capability_matches(capability: str, text_words: Iterable[str]) -> bool:
    """Whether every word of `capability` begins one of `text_words`."""
    wanted = words(capability)
    have = list(text_words)
    return bool(wanted) and all(any(w.startswith(part) for w in have) for part in wanted)


def match_worker(
    text: str,
    questions: Sequence[str],
    capabilities: Mapping[str, Sequence[str]],
    *,
    generalist: str | None = None,
) -> dict[str, Any]:
    """The best worker for a workstream, by capability overlap.

    Args:
        text: the workstream's name and deliverable.
        questions: its questions.
        capabilities: each worker's capabilities, in declared order (the tie-break).
        generalist: who takes a workstream no capability matches (None: nobody).

    Returns:
        ``{"worker", "how", "score", "matched"}``: ``how`` is ``capabilities``,
        ``generalist`` or ``unassigned`` (``worker`` None); ``matched`` the capabilities
        that matched.
    """
    text_words = words(" ".join([text, *questions]))
    best: tuple[int, str, list[str]] | None = None
    for name, declared in capabilities.items():
        matched = [c for c in declared if capability_matches(c, text_words)]
        if matched and (best is None or len(matched) > best[0]):
            best = (len(matched), name, matched)
    if best is not None:
        return {"worker": best[1], "how": "capabilities", "score": best[0], "matched": best[2]}
    if generalist is not None:
        return {"worker": generalist, "how": "generalist", "score": 0, "matched": []}
    return {"worker": None, "how": "unassigned", "score": 0, "matched": []}
