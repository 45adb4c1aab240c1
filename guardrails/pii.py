"""Personal data in text: find it, and redact, mask or block it.

The public face of the guardrail. `find_pii` runs every detector (e-mail, phone, card, IBAN,
national id; see `guardrails.pii_detectors`, `guardrails.pii_phones`,
`guardrails.pii_national_ids`) and settles overlaps; `redact_text` rewrites a text in one of
three modes; `redact_value` does the same over nested data (log records, trace payloads).

Modes:
    - ``redact``: each value becomes a placeholder naming its kind (``[email]``, ``[phone]``,
      ``[card]``, ``[iban]``, ``[national_id]``).
    - ``mask``: cards, phones and IBANs keep their last four digits (``****1111``), e-mail
      addresses their first letter and domain (``j***@example.com``), national ids nothing
      (every letter and digit becomes ``*``, separators stay).
    - ``block``: `PiiBlocked` is raised, naming the kinds found (never the values).

Ids, timestamps, amounts and version numbers are exempt (`guardrails.pii_exemptions`). A text
with neither a digit nor ``@`` is returned at once.

Example:
    >>> redact_text("Mail jane.doe@example.com or call +44 20 7946 0958.")
    'Mail [email] or call [phone].'
    >>> redact_text("Card 4111 1111 1111 1111", mode="mask")
    'Card ****1111'
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any, Literal, get_args

from pydantic import BaseModel

from guardrails.pii_detectors import find_cards, find_emails, find_ibans
from guardrails.pii_exemptions import blank_exempt
from guardrails.pii_match import PII_KINDS, PiiMatch
from guardrails.pii_national_ids import find_national_ids
from guardrails.pii_phones import find_phones

__all__ = [
    "PII_KINDS",
    "PiiBlocked",
    "PiiMatch",
    "RedactionMode",
    "find_pii",
    "redact_text",
    "redact_value",
]

RedactionMode = Literal["redact", "mask", "block"]
"""How found personal data is treated: replaced by its kind, masked, or refused."""

_MODES: tuple[str, ...] = get_args(RedactionMode)
_HAS_DIGIT = re.compile(r"\d")
_DETECTORS: dict[str, tuple[Callable[[str], Iterable[tuple[int, int]]], bool]] = {
    # kind: (detector, scans the copy with exempt spans blanked)
    "email": (find_emails, False),
    "iban": (find_ibans, True),
    "card": (find_cards, True),
    "national_id": (find_national_ids, True),
    "phone": (find_phones, True),
}
"""The detectors in priority order: of two overlapping matches the earlier kind wins."""


class PiiBlocked(ValueError):
    """Personal data was found where the ``block`` mode forbids it.

    Attributes:
        kinds: the kinds found, sorted (the values are never carried).
    """

    def __init__(self, kinds: Collection[str]) -> None:
        self.kinds: tuple[str, ...] = tuple(sorted(set(kinds)))
        super().__init__(f"personal data found ({', '.join(self.kinds)}); blocked")


def _chosen_kinds(kinds: Collection[str] | None) -> list[str]:
    if kinds is None:
        return list(_DETECTORS)
    if isinstance(kinds, str):
        raise TypeError(f"kinds must be a collection of kinds, not the string {kinds!r}")
    if unknown := sorted(set(kinds) - set(PII_KINDS)):
        raise ValueError(f"unknown PII kinds {unknown}; choose from {list(PII_KINDS)}")
    return [kind for kind in _DETECTORS if kind in kinds]


def _candidates(text: str, chosen: list[str]) -> Iterator[PiiMatch]:
    has_digit = _HAS_DIGIT.search(text) is not None
    numbers = has_digit and any(_DETECTORS[kind][1] for kind in chosen)
    blanked = blank_exempt(text) if numbers else text
    for kind in chosen:
        detector, scans_blanked = _DETECTORS[kind]
        if scans_blanked and not has_digit:
            continue
        for start, end in detector(blanked if scans_blanked else text):
            yield PiiMatch(kind, start, end, text[start:end])


def find_pii(text: str, kinds: Collection[str] | None = None) -> list[PiiMatch]:
    """Every piece of personal data in `text`, in order, without overlaps.

    Args:
        text: the text to scan.
        kinds: the kinds to look for (default all of `PII_KINDS`).

    Returns:
        The matches sorted by position. Where two overlap, the kind earlier in
        e-mail, IBAN, card, national id, phone order wins (within a kind, the one its
        detector reports first).

    Raises:
        TypeError: `text` is not a string, or `kinds` is a bare string.
        ValueError: `kinds` names an unknown kind.
    """
    if not isinstance(text, str):
        raise TypeError(f"find_pii scans a string, not {type(text).__name__}")
    chosen = _chosen_kinds(kinds)
    if "@" not in text and not _HAS_DIGIT.search(text):
        return []
    kept: list[PiiMatch] = []  # sorted by start, never overlapping
    for match in _candidates(text, chosen):
        index = bisect.bisect_left(kept, match.start, key=lambda other: other.start)
        clear_before = index == 0 or kept[index - 1].end <= match.start
        clear_after = index == len(kept) or match.end <= kept[index].start
        if clear_before and clear_after:
            kept.insert(index, match)
    return kept


def _mask(match: PiiMatch) -> str:
    if match.kind == "email":
        local, _, domain = match.text.partition("@")
        return f"{local[0]}***@{domain}"
    if match.kind == "national_id":
        return re.sub(r"[A-Za-z0-9]", "*", match.text)
    tail = re.sub(r"[^A-Za-z0-9]", "", match.text)[-4:]
    return f"****{tail}"


def redact_text(
    text: str, mode: RedactionMode = "redact", kinds: Collection[str] | None = None
) -> str:
    """`text` with its personal data redacted, masked, or refused.

    Args:
        text: the text to clean.
        mode: ``"redact"`` (placeholders), ``"mask"`` (last four kept) or ``"block"``.
        kinds: the kinds to treat (default all of `PII_KINDS`).

    Returns:
        The cleaned text (unchanged when nothing is found).

    Raises:
        PiiBlocked: in ``block`` mode, when anything is found.
        ValueError: an unknown mode or kind.
    """
    if mode not in _MODES:
        raise ValueError(f"unknown redaction mode {mode!r}; choose from {list(_MODES)}")
    matches = find_pii(text, kinds)
    if not matches:
        return text
    if mode == "block":
        raise PiiBlocked([match.kind for match in matches])
    pieces: list[str] = []
    cursor = 0
    for match in matches:
        pieces.append(text[cursor : match.start])
        pieces.append(f"[{match.kind}]" if mode == "redact" else _mask(match))
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact_value(
    value: Any, mode: RedactionMode = "redact", kinds: Collection[str] | None = None
) -> Any:
    """`value` with every string inside it cleaned, recursively (for logs and traces).

    Strings are cleaned with `redact_text`; dicts (keys and values), lists, tuples (named
    tuples keep their type), sets, pydantic models (LangChain messages: their content and
    tool-call arguments) and dataclass instances are rebuilt with their parts cleaned;
    anything else (numbers, None, other objects) is returned as it is. The input is never
    modified.

    Args:
        value: a string, or data holding strings.
        mode: as for `redact_text`.
        kinds: as for `redact_text`.

    Raises:
        PiiBlocked: in ``block`` mode, when any string holds personal data.
        ValueError: an unknown mode or kind.
    """
    if mode not in _MODES:
        raise ValueError(f"unknown redaction mode {mode!r}; choose from {list(_MODES)}")
    _chosen_kinds(kinds)
    return _redact(value, mode, kinds)


def _redact(value: Any, mode: RedactionMode, kinds: Collection[str] | None) -> Any:
    if isinstance(value, str):
        return redact_text(value, mode, kinds)
    if isinstance(value, dict):
        return {_redact(k, mode, kinds): _redact(item, mode, kinds) for k, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, mode, kinds) for item in value]
    if isinstance(value, set | frozenset):
        rebuilt = {_redact(item, mode, kinds) for item in value}
        return rebuilt if isinstance(value, set) else frozenset(rebuilt)
    if isinstance(value, tuple):
        items = [_redact(item, mode, kinds) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return value.model_copy(
            update={name: _redact(getattr(value, name), mode, kinds) for name in fields}
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            field.name: _redact(getattr(value, field.name), mode, kinds)
            for field in dataclasses.fields(value)
            if field.init
        }
        return dataclasses.replace(value, **changes)
    return value
