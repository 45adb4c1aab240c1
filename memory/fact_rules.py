"""Rule-based memory extraction: facts, procedural preferences and forget requests, offline.

The memory agent asks a model for what to remember (`state.memory.ExtractedFacts`). A run on
the offline demo model gets this extractor instead (`nodes.memory` registers it as the
extractor's stand-in): regular expressions over what the user said, sentence by sentence.

- **Forget requests** first: "forget everything about me", "delete my data" (everything);
  "forget that I live in Berlin", "forget my name" (a target: an attribute and/or words).
- **Procedural preferences**: how the user wants to be served ("answer in bullet points",
  "keep it short", "always include the order number", "reply in German"), each under an
  attribute (``answer_format``, ``answer_length``, ``always_include:order_number`` ...).
- **Facts** with an attribute ("my name is", "call me <Name>", "I live in", "I moved to",
  "I prefer email", "my language is" ...) and, as a fallback, other durable first-person
  statements ("My dog is allergic to chicken") without one.

Questions, greetings, thanks and one-off requests (anything naming an order, asking for a
refund, "please ...") are not memories. A fact's text is the user's own sentence, lead-ins
such as "Please remember that" removed, so what is recalled is what the user said.

Limits: English only; paraphrases outside the patterns are missed ("I've made Lisbon my
home"); generic preferences ("I prefer window seats") have no attribute, so a later opposite
one sits beside them instead of superseding them. A real model's structured output has none
of these limits.

Example:
    >>> found = extract_memories("Hi! My name is Ana. I moved to Lisbon. Keep it short.")
    >>> [(f.attribute, f.text) for f in found.facts]
    [('name', 'My name is Ana.'), ('location', 'I moved to Lisbon.')]
    >>> [(p.attribute, p.text) for p in found.procedures]
    [('answer_length', 'Keep it short.')]
    >>> extract_memories("Please forget everything about me.").forget[0].everything
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "FORGET_ALL",
    "RuleExtraction",
    "RuleFact",
    "RuleForget",
    "RuleProcedure",
    "distinctive_words",
    "extract_memories",
    "target_attribute",
]

_I = re.IGNORECASE

_LEAD_IN = re.compile(
    r"^(?:(?:please|oh|and|also|ok|okay|so|by the way|btw|fyi|just so you know|for the record|"
    r"from now on|going forward|in future|in the future|for future reference|"
    r"(?:do |please )?(?:remember|note|keep in mind|be aware)(?: that)?)[,:]?\s+)+",
    _I,
)

FORGET_ALL = re.compile(
    r"\bforget (?:everything|all)(?: (?:about me|you know(?: about me)?|i (?:told|said)(?: you)?"
    r"))?\W*$|\bforget (?:about )?me\W*$|\b(?:delete|erase|wipe|remove|clear) (?:all )?(?:of )?my "
    r"(?:data|memories|information|info|details|profile)\b|\b(?:delete|erase|wipe|clear) "
    r"(?:everything|all) (?:you (?:know|remember|have) )?(?:about|on) me\b",
    _I,
)
"""A request to forget everything about the user."""

_FORGET_TARGET = re.compile(
    r"^(?:forget|don't remember|do not remember|stop remembering|(?:delete|erase|remove) the "
    r"(?:memory|fact|note))\s+(?:that |about |the fact that |what i (?:said|told you) about )?"
    r"(?P<target>.+?)\W*$",
    _I,
)

_VAGUE_TARGET = re.compile(r"^(?:it|this|that|about it)\b", _I)

_ATTRIBUTE_FACTS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("name", "profile", re.compile(r"\bmy name(?: is|'s)\b|\bi(?: am|'m) called\b", _I)),
    (
        "location",
        "profile",
        re.compile(
            r"\bi (?:now |still )?(?:live|am living|'m living|reside|am based|'m based) "
            r"(?:in|at|near)\b|\bi(?: have|'ve)? (?:just |recently )?(?:moved|relocated) "
            r"(?:back )?to\b|\bi no longer live\b|"
            r"\bi (?:don't|do not) live (?:in|at) .*\bany ?more\b|"
            r"\bmy (?:home |postal )?(?:address|city) is\b",
            _I,
        ),
    ),
    (
        "language",
        "profile",
        re.compile(
            r"\bmy (?:native |first |mother |preferred )?(?:language|tongue) is\b|"
            r"\bi(?: only)? speak \w+|\bi(?: am|'m) a native \w+ speaker\b",
            _I,
        ),
    ),
    ("email_address", "profile", re.compile(r"\bmy e-?mail(?: address)? is\b", _I)),
    (
        "phone_number",
        "profile",
        re.compile(r"\bmy (?:phone|mobile|cell)(?: phone)?(?: number)? is\b", _I),
    ),
    (
        "contact_preference",
        "preference",
        re.compile(
            r"\b(?:contact|reach|call|text|e-?mail|message) me (?:only )?(?:by|via|over|through|"
            r"on)\b|\bi(?: would|'d)? (?:prefer|rather|like) (?:to be contacted |being "
            r"contacted |be contacted |to hear from you |to be reached )?"
            r"(?:by |via |over |through )?"
            r"(?:e-?mails?|phone|sms|texts?|calls?|whatsapp|post|letters?)\b|\b(?:don't|do not|"
            r"never) (?:call|phone|e-?mail|text) me\b|\bi no longer want (?:phone )?(?:calls|"
            r"e-?mails|texts|sms)\b",
            _I,
        ),
    ),
    (
        "occupation",
        "profile",
        re.compile(r"\bi work (?:as|at|for)\b|\bmy job is\b|\bi(?: am|'m) an? \w+ by trade", _I),
    ),
)
"""Facts with an attribute: a new fact about the same attribute supersedes the stored one."""

_CALL_ME_NAME = re.compile(
    r"\b[Cc]all me (?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|ASAP|"
    r"Back|Later|Tomorrow|Now|Please)\b)(?P<name>[A-Z][\w'-]+)"
)

_PROCEDURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "answer_format",
        re.compile(
            r"\b(?:answer|reply|respond|write)\w* (?:to me |me )?(?:in|as|with|using) (?:short )?"
            r"(?:bullet(?: point)?s|a (?:bulleted |numbered )?list|lists|a table|tables|prose|"
            r"full sentences|paragraphs|plain text)\b|\buse (?:bullet(?: point)?s|bulleted "
            r"lists|numbered lists|tables|full sentences|plain text)\b|\b(?:no|stop using|"
            r"don't use|do not use) bullet(?: point)?s\b|\bi (?:like|prefer|want) (?:your )?"
            r"(?:answers|replies) (?:in|as) (?:bullet|a list|prose|a table)",
            _I,
        ),
    ),
    (
        "answer_length",
        re.compile(
            r"\bkeep (?:it|your answers?|your replies|replies|responses|things) (?:short|brief|"
            r"concise)\b|\bbe (?:brief|concise|short)\b|\b(?:short|shorter|brief) (?:answers|"
            r"replies|responses)\b|\b(?:more|full) detail\b|\b(?:detailed|longer|thorough) "
            r"(?:answers|replies|explanations|responses)\b",
            _I,
        ),
    ),
    (
        "answer_language",
        re.compile(
            r"\b(?:answer|reply|respond|write|talk|speak)\w* (?:to me )?in (?:english|german|"
            r"french|spanish|italian|portuguese|dutch|polish|japanese|chinese)\b",
            _I,
        ),
    ),
    (
        "tone",
        re.compile(
            r"\bbe (?:more )?(?:formal|casual|friendly|polite|direct)\b|\b(?:no|avoid|don't use|"
            r"do not use|never use) (?:jargon|emojis?|slang)\b",
            _I,
        ),
    ),
)
"""Procedural preferences (how to serve the user), checked before facts."""

_ALWAYS = re.compile(
    r"\balways (?:include|mention|add|quote|show|give me|tell me) (?:the |my |a )?(?P<what>.+?)"
    r"(?:\s+(?:in|when|whenever|if|so|at|for)\b.*)?\W*$",
    _I,
)

_DURABLE = re.compile(
    r"^(?:i(?: am|'m) (?!(?:not |so |very |really )?(?:happy|sad|angry|upset|frustrated|sorry|"
    r"confused|fine|ok|okay|good|great|glad|here|back|waiting|trying|looking|writing|calling|"
    r"having|going|asking|wondering|interested|afraid|done|ready|sure)\b)|i (?:have|own|like|"
    r"love|hate|dislike|prefer|enjoy|work|use|can't eat|cannot eat|don't eat|do not eat|"
    r"no longer)\b|i've got\b|my (?!order\b)\w+(?: \w+)? (?:is|are|has|have)\b)",
    _I,
)
"""A durable first-person statement: a fact without an attribute (the fallback rule)."""

_ONE_OFF = re.compile(
    r"\b(?:order|orders|refund|cancel|invoice|package|parcel|delivery|tracking|ticket|"
    r"question|problem|issue|help|please|today|yesterday|right now|this time)\b|"
    r"\b[A-Z]-?\d{3,}\b|#\d+|\b(?:thanks|thank you|hello|hi|hey)\b",
    _I,
)
"""Signs of a one-off request or small talk: never a durable fact (fallback rule only)."""

_STOPWORDS = frozenset(
    "a an the and or of to in on at by for from with about that this it is are was were be "
    "i me my mine you your we our am do does did not no never now still just also really "
    "very live lives living moved move relocated name called language speak prefer "
    "prefers like likes want wants please that what said told".split()
)

_TARGET_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email_address", re.compile(r"\be-?mail address\b", _I)),
    ("phone_number", re.compile(r"\b(?:phone|mobile|cell) number\b", _I)),
    ("name", re.compile(r"\bmy name\b|\bwhat (?:to |you )?call me\b", _I)),
    ("location", re.compile(r"\b(?:address|where i live|my city|location|home town)\b", _I)),
    ("language", re.compile(r"\bmy language\b|\blanguage i speak\b", _I)),
    ("contact_preference", re.compile(r"\bcontact\b|\bhow to reach me\b", _I)),
    ("answer_format", re.compile(r"\bbullet|\bformat\b", _I)),
    ("answer_length", re.compile(r"\bshort answers\b|\blength\b", _I)),
    ("occupation", re.compile(r"\bmy (?:job|work|occupation)\b", _I)),
)
"""How a forget target names an attribute without stating a fact ("forget my address")."""


@dataclass(frozen=True)
class RuleFact:
    """A fact found by the rules: the user's sentence, its attribute (or None), its category."""

    text: str
    attribute: str | None
    category: str


@dataclass(frozen=True)
class RuleProcedure:
    """A procedural preference: the user's instruction and its attribute."""

    text: str
    attribute: str


@dataclass(frozen=True)
class RuleForget:
    """A forget request: everything, or a target (an attribute and/or the words to match)."""

    everything: bool = False
    attribute: str | None = None
    text: str = ""


@dataclass(frozen=True)
class RuleExtraction:
    """What the rules found in one turn of the user's messages."""

    facts: list[RuleFact] = field(default_factory=list)
    procedures: list[RuleProcedure] = field(default_factory=list)
    forget: list[RuleForget] = field(default_factory=list)


def _sentences(text: str) -> list[str]:
    """Sentences of `text` (split after ``.``, ``!``, ``?`` and at line breaks)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [part.strip() for part in parts if part.strip()]


def _clean(sentence: str) -> str:
    """The sentence without lead-ins ("Please remember that ..."), capitalised."""
    cleaned = _LEAD_IN.sub("", sentence).strip(" ,;:-")
    return cleaned[:1].upper() + cleaned[1:] if cleaned else ""


def _slug(text: str, words: int = 4) -> str:
    kept = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in {"the", "a", "my"}]
    return "_".join(kept[:words])


def fact_attribute(sentence: str) -> tuple[str, str] | None:
    """The ``(attribute, category)`` of a fact sentence, or None (no attribute rule fits)."""
    if _CALL_ME_NAME.search(sentence):
        return "name", "profile"
    for attribute, category, pattern in _ATTRIBUTE_FACTS:
        if pattern.search(sentence):
            return attribute, category
    return None


def procedure_attribute(sentence: str) -> str | None:
    """The attribute of a procedural preference in `sentence`, or None."""
    always = _ALWAYS.search(sentence)
    if always and _slug(always["what"]):
        return f"always_include:{_slug(always['what'])}"
    return next((name for name, pattern in _PROCEDURES if pattern.search(sentence)), None)


def target_attribute(target: str) -> str | None:
    """The attribute a forget target names ("I live in Berlin", "my address"), or None."""
    stated = fact_attribute(target) or (
        (found, "") if (found := procedure_attribute(target)) else None
    )
    if stated:
        return stated[0]
    return next((name for name, pattern in _TARGET_KEYWORDS if pattern.search(target)), None)


def distinctive_words(text: str) -> frozenset[str]:
    """The words that identify a memory (lower case, no stopwords, at least 3 letters).

    Example:
        >>> sorted(distinctive_words("I live in Berlin"))
        ['berlin']
    """
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower())
    return frozenset(w for w in words if len(w) >= 3 and w not in _STOPWORDS)


def _forget(sentence: str) -> RuleForget | None:
    if FORGET_ALL.search(sentence):
        return RuleForget(everything=True)
    match = _FORGET_TARGET.match(sentence)
    if not match:
        return None
    target = match["target"].strip()
    stated = fact_attribute(target)
    if stated is not None:  # "forget that I live in Berlin": the attribute and its words
        return RuleForget(attribute=stated[0], text=target)
    attribute = target_attribute(target)
    if attribute is not None:  # "forget my address": the whole attribute
        return RuleForget(attribute=attribute)
    if _VAGUE_TARGET.match(target) or not distinctive_words(target):
        return None  # "forget it", "forget that, I found it": nothing to match
    return RuleForget(text=target)


def extract_memories(text: str) -> RuleExtraction:
    """Facts, procedural preferences and forget requests in what the user said.

    Args:
        text: the user's messages of one turn.

    Returns:
        What to remember and what to forget; empty lists when nothing fits.
    """
    found = RuleExtraction()
    for raw in _sentences(text):
        if raw.endswith("?"):
            continue  # a question is not a memory
        sentence = _clean(raw)
        if not sentence:
            continue
        forget = _forget(sentence)
        if forget is not None:
            found.forget.append(forget)
            continue
        procedure = procedure_attribute(sentence)
        if procedure is not None:
            found.procedures.append(RuleProcedure(sentence, procedure))
            continue
        attribute = fact_attribute(sentence)
        if attribute is not None:
            found.facts.append(RuleFact(sentence, *attribute))
        elif _DURABLE.search(sentence) and not _ONE_OFF.search(sentence):
            found.facts.append(RuleFact(sentence, None, "other"))
    return found
