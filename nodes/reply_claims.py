"""Which of a graph's side-effecting tools a reply claims were carried out.

The generalisation of the refund desk's draft check (`demo.refund_desk`): each side-effecting
tool of the graph gives its action words from its name (``issue_refund``: verb ``issue``,
noun ``refund``; ``create_support_ticket``: ``create``, ``ticket``; ``block_card``:
``block``, ``card``). A sentence claims the tool when it names the noun with the action's
past form ("card blocked", "refund reversed"; for a verb that only means "carry out the
noun", such as issue or create, any completion word: "refund issued", "refund processed",
"ticket created") or says "I have / we've" with the action ("I have refunded", "we've
escalated it"); a claim that is negated or hedged ("No refund was issued", "once approved,
the refund will be issued") does not count.

Only the graph's OWN tools are judged: a sentence about an action no tool of the graph
performs ("Note: issued." in a graph without a note tool) is not a claim here.

Example:
    >>> from langchain_core.tools import tool
    >>> @tool
    ... def issue_refund(order_id: str) -> str:
    ...     "Issue a refund."
    ...     return order_id
    >>> actions = [ToolAction.of(issue_refund)]
    >>> find_claims("Your refund has been issued.", actions)[0].tools
    ('issue_refund',)
    >>> find_claims("No refund was issued yet.", actions)
    []
    >>> find_claims("Note: issued.", actions)
    []
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.tools import BaseTool

__all__ = ["Claim", "ToolAction", "find_claims", "past_form"]

_GENERIC_DONE = (
    "issued|processed|completed|done|approved|credited|created|sent|submitted|filed|placed|"
    "confirmed|executed|carried out|finali[sz]ed|applied"
)
_HEDGE = re.compile(
    r"\b(?:no|not|never|cannot|unable|yet|will|would|could|may|might|should|once|if|"
    r"until|unless|pending|awaiting|waiting|requested|request|requests|review|reviewer|"
    r"approval|propose[sd]?|proposal|whether|failed|rejected|declined)\b|n't\b",
    re.I,
)
_HEDGE_REACH = 40
"""Characters before a claim in which a negation or a hedge still governs it."""
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_SAME_SENTENCE = r"(?:[^.!?\n]|\.(?=\d))*"
"""Words between two parts of a claim: anything but a sentence end ($89.99 is one sentence)."""
_GENERIC_VERBS = {
    "issue",
    "create",
    "send",
    "post",
    "submit",
    "file",
    "process",
    "apply",
    "make",
    "place",
    "open",
    "add",
    "record",
    "log",
    "schedule",
    "book",
    "execute",
    "complete",
    "do",
    "run",
}
"""Verbs that only say "carry out the noun": any completion word claims them ("refund
processed"); another verb (reverse, block, escalate) is claimed by its own past form only."""
_IRREGULAR = {"send": "sent", "pay": "paid", "make": "made", "put": "put", "set": "set"}
_WEAK_NOUNS = {"to", "a", "an", "the", "for", "of", "and", "or", "with"}


def past_form(verb: str) -> str:
    """The past participle of an English action verb (``issue`` -> ``issued``)."""
    verb = verb.lower()
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("e"):
        return verb + "d"
    if len(verb) > 2 and verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


@dataclass(frozen=True)
class ToolAction:
    """A side-effecting tool's action words, read from its name.

    Attributes:
        tool: the tool's name.
        verb: its first word (``issue``).
        noun: its last meaningful word (``refund``); the verb for one-word names.
    """

    tool: str
    verb: str
    noun: str

    @classmethod
    def of(cls, tool: BaseTool | str) -> ToolAction:
        """The action of `tool` (a tool or a tool name)."""
        name = tool if isinstance(tool, str) else tool.name
        words = [w for w in re.split(r"[_\W]+", name.lower()) if w]
        if not words:
            raise ValueError(f"tool name {name!r} has no words")
        nouns = [w for w in words[1:] if w not in _WEAK_NOUNS]
        return cls(tool=name, verb=words[0], noun=nouns[-1] if nouns else words[0])

    def claim_pattern(self) -> re.Pattern[str]:
        """The regular expression of a sentence claiming this action was carried out."""
        noun = re.escape(self.noun)
        done = acted = re.escape(past_form(self.verb))
        if self.verb in _GENERIC_VERBS:  # "issue a refund" is "refund": refunded, processed...
            acted = re.escape(past_form(self.noun))
            done = f"{done}|{acted}|{_GENERIC_DONE}"
        return re.compile(
            rf"\b{noun}s?\b{_SAME_SENTENCE}\b(?:{done})\b"
            rf"|\b(?:{done})\b{_SAME_SENTENCE}\b{noun}s?\b"
            rf"|\b(?:i|we)\s*(?:have\s+|'ve\s+|had\s+)?(?:just\s+|now\s+|already\s+)?{acted}\b",
            re.I,
        )


@dataclass(frozen=True)
class Claim:
    """One sentence of a reply that says an action was carried out.

    Attributes:
        sentence: the sentence.
        tools: the graph's tools it may refer to (true when any of them was carried out).
    """

    sentence: str
    tools: tuple[str, ...]


def _asserts(pattern: re.Pattern[str], sentence: str) -> bool:
    """Whether `pattern` matches `sentence` somewhere no negation or hedge governs.

    The words of the match and the few before it are read ("No refund was issued", "the
    refund will be issued", "once approved, the refund is issued"); words after it are not
    ("Your refund was issued and will arrive in 5 days" is a claim).
    """
    for match in pattern.finditer(sentence):
        governed = sentence[max(0, match.start() - _HEDGE_REACH) : match.end()]
        if not _HEDGE.search(governed):
            return True
    return False


def find_claims(text: str, actions: Sequence[ToolAction]) -> list[Claim]:
    """The sentences of `text` that say one of `actions` was carried out.

    A question claims nothing; nor does a claim governed by a negation or a hedge (not, yet,
    will, once, pending, approval, ...; see `_asserts`).
    """
    found: list[Claim] = []
    patterns = [(action, action.claim_pattern()) for action in actions]
    for sentence in _SENTENCES.split(text):
        if not sentence.strip() or sentence.rstrip().endswith("?"):
            continue
        tools = tuple(a.tool for a, pattern in patterns if _asserts(pattern, sentence))
        if tools:
            found.append(Claim(sentence=sentence.strip(), tools=tools))
    return found
