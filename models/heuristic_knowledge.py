r"""Knowledge-base passages in the system prompt, for the offline demo model.

Graphs that retrieve knowledge put the passages into the system prompt
(`nodes.knowledge.render_knowledge`): a header line that starts with "Knowledge base passages"
and ends with a colon, then one ``- [<source>#<position>] <title>: <text>`` line per passage.
The demo model reads them back and, for the passages that share words with the request, quotes
the sentence that shares the most, followed by the passage's citation, so its answer cites
what it used (and only that).

Example:
    >>> from langchain_core.messages import SystemMessage
    >>> prompt = (
    ...     "Be brief.\n\nKnowledge base passages retrieved for this request. Passages:\n"
    ...     "- [api.md#0] API: Our API rate limit is 1000 requests per minute. Keys rotate."
    ... )
    >>> passages = knowledge_passages([SystemMessage(prompt)])
    >>> quoted_passages("What is the API rate limit?", passages)
    ['Our API rate limit is 1000 requests per minute. [api.md#0]']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import BaseMessage, SystemMessage

from models.heuristic_intents import stems

__all__ = ["KnowledgePassage", "knowledge_passages", "quoted_passages"]

_HEADER = "Knowledge base passages"
_ENTRY = re.compile(r"^- (\[[^\[\]\n]+#\d+\]) (?:([^:\n]*): )?(.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MOST = 3
"""At most this many passages are quoted."""


@dataclass(frozen=True)
class KnowledgePassage:
    """One passage listed in the system prompt."""

    citation: str
    title: str
    text: str


def knowledge_passages(messages: Sequence[BaseMessage]) -> list[KnowledgePassage]:
    """The passages listed in the system prompt, in the order given (best first)."""
    found: list[KnowledgePassage] = []
    for message in messages:
        if not isinstance(message, SystemMessage):
            continue
        in_block = False
        for line in message.text.splitlines():
            stripped = line.strip()
            if stripped.startswith(_HEADER) and stripped.endswith(":"):
                in_block = True
            elif in_block and (entry := _ENTRY.match(stripped)):
                found.append(KnowledgePassage(entry[1], entry[2] or "", entry[3].strip()))
            elif in_block and stripped:
                in_block = False
    return found


def _best_sentence(request_stems: set[str], text: str) -> tuple[int, str]:
    """The sentence of `text` sharing the most stems with the request, and how many."""
    best = (0, "")
    for sentence in _SENTENCE.split(text):
        shared = len(request_stems & stems(sentence))
        if shared > best[0]:
            best = (shared, sentence.strip())
    return best


def quoted_passages(request: str, passages: Sequence[KnowledgePassage]) -> list[str]:
    """For the passages that share words with the request, its best sentence and citation."""
    wanted = stems(request)
    scored = []
    for order, passage in enumerate(passages):
        shared, sentence = _best_sentence(wanted, passage.text)
        title_shared = len(wanted & stems(passage.title))
        if shared or title_shared:
            quote = sentence or passage.text[:200].strip()
            scored.append((-shared, -title_shared, order, f"{quote} {passage.citation}"))
    return [quote for *_, quote in sorted(scored)[:_MOST]]
