"""What a request asks for, for the offline demo model: word stems and a small synonym table.

The demo model (`models.heuristic`) matches requests to tools by shared words. People rarely use
the tool's words ("money back" for a refund, "it broke" for a faulty product, "where is" for a
look-up), so a request is first expanded with the *concept words* of the intents it states.
The table is deliberately small and domain-neutral (support-desk vocabulary: refunds,
charges, delivery, faults, log-in, tickets, contact), and it is data: each intent is the
phrases that state it and the words that tool names and descriptions use for it.

Example:
    >>> [intent.name for intent in detect_intents("Where is A-1001? It broke.")]
    ['locate', 'faulty']
    >>> "refun" in concepts("I want my money back")
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["INTENTS", "Intent", "concepts", "detect_intents", "primary_intents", "stems"]

_STOPWORDS = frozenset(
    "a an and are as at be but by can could did do does for from get got has have how i if in "
    "into is it its me my no not of on or our out please so that the their them then there this "
    "to was we what when where which who why will with would you your yes am been being any "
    "some while about tell know need want like just also".split()
)
_VAGUE = frozenset({"issue", "canno", "tool", "thing", "somet", "hello", "thank"})
"""Stems too common in descriptions to signal anything ("cannot resolve the issue")."""


@dataclass(frozen=True)
class Intent:
    """Something a request can ask for, however it is worded.

    Attributes:
        name: a short label (for tests and reading).
        phrases: regexes (matched case-insensitively) that state the intent.
        words: the words tool names and descriptions use for it.
        weight: how strongly it decides who acts: asks (3) outrank situations (2) and
            topics (1); ties go to the intent stated first.
    """

    name: str
    phrases: tuple[str, ...]
    words: tuple[str, ...]
    weight: int


INTENTS: tuple[Intent, ...] = (
    Intent(
        "refund",
        (
            r"\brefund\w*",
            r"\bmoney back\b",
            r"\breimburs\w*",
            r"\bpay (?:me )?back\b",
            r"\breturn (?:my|the) money\b",
            r"\bcompensat\w*",
        ),
        ("refund", "money", "reimburse"),
        3,
    ),
    Intent(
        "charge",
        (
            r"\b(?:charged|billed|debited)\b",
            r"\btwice\b",
            r"\b(?:took|taken|take|deducted|withdrew|debited) (?:all )?(?:my|the) money\b",
            r"\bdouble[- ]?(?:charg|bill)\w*",
            r"\bovercharg\w*",
            r"\bcharges?\b",
            r"\bbilling\b",
            r"\binvoice\w*",
            r"\breceipt\w*",
            r"\bpayments?\b",
        ),
        ("charge", "charges", "billing", "payment", "payments", "invoice"),
        3,
    ),
    Intent(
        "ticket",
        (
            r"\bticket\b",
            r"\b(?:open|raise|file|log|create|start|submit) (?:a |an )?(?:new )?"
            r"(?:support )?(?:case|ticket|complaint|request)\b",
            r"\bescalat\w*",
            r"\b(?:speak|talk|chat) (?:to|with) (?:a |an |some )?(?:person|human|someone|agent|"
            r"manager|people)\b",
            r"\bcomplain\w*",
            r"\bfollow[- ]?up\b",
            r"\b(?:a|real) (?:person|human)\b",
        ),
        ("ticket", "support", "person", "escalate", "case"),
        3,
    ),
    Intent(
        "login",
        (
            r"\blog ?in\b",
            r"\blog(?:s|ged|ging)? (?:me )?out\b",
            r"\b(?:app|website|web site)\b",
            r"\bsign(?:ed)? ?in\b",
            r"\bpassword\w*",
            r"\blocked out\b",
            r"\b2fa\b",
            r"\btwo[- ]factor\b",
            r"\bverification code\b",
            r"\baccess (?:to )?my account\b",
            r"\bmy account\b",
        ),
        ("login", "account", "password", "technical", "work", "setup", "website"),
        2,
    ),
    Intent(
        "faulty",
        (
            r"\bbr(?:oke|oken|eaks?)\b",
            r"\bdamag\w*",
            r"\bcrack\w*",
            r"\bfault\w*",
            r"\bdefect\w*",
            r"\bshatter\w*",
            r"\bsmash\w*",
            r"\bdent\w*",
            r"\bleak\w*",
            r"\b(?:does ?n[o']t|do ?n[o']t|won'?t|will not|can'?t|cannot|not|stopped|never) "
            r"(?:\w+ )?(?:work\w*|turn(?:s|ed)? on|start\w*|power\w* on|pair\w*|connect\w*|"
            r"heat\w*|load\w*)\b",
            r"\bdead\b",
            r"\bmalfunction\w*",
            r"\bbug\w*",
            r"\bcrash\w*",
            r"\berror\w*",
        ),
        ("faulty", "damaged", "broken", "work", "technical"),
        2,
    ),
    Intent(
        "locate",
        (
            r"\bwhere(?:'s| is| are)\b",
            r"\btrack\w*",
            r"\bstatus\b",
            r"\beta\b",
            r"\b(?:has ?n[o']t|have ?n[o']t|has not|have not|not|never|still not|yet to"
            r"|did ?n[o']t|did not) (?:\w+ )?(?:arriv\w*|come|came|show(?:n|ed)? up"
            r"|turn(?:ed)? up|been delivered|delivered|been shipped|shipped)\b",
            r"\blate\b",
            r"\bdelay\w*",
            r"\blost\b",
            r"\bwhen will\b",
            r"\bmissing\b",
            r"\bstuck\b",
        ),
        ("status", "delivery", "tracking", "carrier", "shipping", "parcel", "lookup", "late"),
        2,
    ),
    Intent(
        "contact",
        (
            r"\bcontact\w*",
            r"\breach (?:me|you)\b",
            r"\be-?mail\w*",
            r"\bphone\w*",
            r"\bcall(?:s|ed)? me\b",
            r"\btext me\b",
            r"\bsms\b",
        ),
        ("contact", "email", "phone", "calls"),
        1,
    ),
)
"""The synonym table: intents, the phrases that state them and the words tools use for them."""


def stems(text: str) -> set[str]:
    """Content-word stems of `text` (first five letters; stop words and vague words dropped).

    Example:
        >>> sorted(stems("Look up an order by id"))
        ['look', 'order']
    """
    words = re.findall(r"[a-z][a-z0-9]+", text.lower().replace("_", " "))
    found = {_stem(w) for w in words if w not in _STOPWORDS and len(w) > 2}
    return found - _VAGUE


def _stem(word: str) -> str:
    """A crude stem: an ending ("-ing", "-ed", "-s") dropped, then the first five letters."""
    for ending in ("ing", "ed", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3 and not word.endswith("ss"):
            word = word[: -len(ending)]
            break
    return word[:5]


def detect_intents(text: str) -> list[Intent]:
    """The intents `text` states, in the order it states them."""
    lowered = text.lower()
    found: list[tuple[int, int, Intent]] = []
    for position, intent in enumerate(INTENTS):
        starts = [m.start() for p in intent.phrases for m in re.finditer(p, lowered)]
        if starts:
            found.append((min(starts), position, intent))
    return [intent for *_, intent in sorted(found, key=lambda item: item[:2])]


def primary_intents(text: str) -> list[Intent]:
    """The intents `text` states, strongest first (ties: the one stated first)."""
    stated = detect_intents(text)
    return sorted(stated, key=lambda intent: (-intent.weight, stated.index(intent)))


def intent_stems(intent: Intent) -> set[str]:
    """Stems of the words an intent adds to a request."""
    return stems(" ".join(intent.words))


def concepts(text: str) -> set[str]:
    """The stems of `text` plus the concept words of every intent it states."""
    found = stems(text)
    for intent in detect_intents(text):
        found |= intent_stems(intent)
    return found
