"""Detector of national identity numbers: formats and checksums, offline.

Ids with a distinctive shape are found anywhere; purely numeric ids whose checksum a random
number passes too often (one in ten or eleven) only next to a word that names them
(`_CONTEXT`, within 40 characters before) or in their usual grouping:

- **US SSN** ``123-45-6789`` (``stdnum.us.ssn``: no area 000, 666 or 900-999, no group 00,
  no serial 0000, no advertised numbers); without dashes only after "SSN" or
  "social security".
- **UK National Insurance number** ``QQ 12 34 56 C`` (the prefixes HMRC never issues
  excluded: D, F, I, Q, U, V first; D, F, I, O, Q, U, V second; BG, GB, KN, NK, NT, TN, ZZ).
- **Spain** DNI ``12345678Z`` and NIE ``X1234567L`` (``stdnum.es``: check letter).
- **Italy** codice fiscale ``RSSMRA85T10A562S`` (``stdnum.it.codicefiscale``: check letter).
- **France** NIR ``1 84 12 76 451 089 46`` (``stdnum.fr.nir``: mod-97 key).
- **Germany** Steuer-IdNr ``12 345 678 901`` (``stdnum.de.idnr``: digit rules and check).
- **Netherlands** BSN (``stdnum.nl.bsn``: 11-test), only in context.
- **India** Aadhaar ``2345 6789 0123`` (``stdnum.in_.aadhaar``: Verhoeff check).

Example:
    >>> list(find_national_ids("SSN 536-22-8726, not 000-12-3456"))
    [(4, 15)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

__all__ = ["NATIONAL_ID_RULES", "NationalIdRule", "find_national_ids"]

_CONTEXT = re.compile(
    r"\b(?:ssn|social\s+security|national\s+(?:id|identity|insurance)|id\s+(?:number|no)|"
    r"identity\s+number|bsn|burgerservicenummer|aadhaa?r|uid|steuer[\s-]?id|idnr|"
    r"steuer[\s-]?identifikationsnummer|identifikationsnummer|tax\s+id|nir|insee|"
    r"s[ée]curit[ée]\s+sociale|personal\s+(?:id|number)|citizen\s+(?:id|number))\b",
    re.IGNORECASE,
)
_CONTEXT_WINDOW = 40


def _nino_valid(value: str) -> bool:
    """Whether a UK National Insurance number has a prefix HMRC issues."""
    compact = re.sub(r"\s", "", value).upper()
    prefix = compact[:2]
    if prefix[0] in "DFIQUV" or prefix[1] in "DFIOQUV":
        return False
    return prefix not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


@dataclass(frozen=True)
class NationalIdRule:
    """One national id: its shape, its validator and whether it needs a naming word.

    Attributes:
        name: what it is (``"us_ssn"``), for tests and docs.
        pattern: the candidate shape.
        valid: the checksum or format validator of a candidate.
        needs_context: whether a naming word must come within 40 characters before it.
    """

    name: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    needs_context: bool = False


def _shape(body: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + body + r"(?![\w]|-\d)", flags)


NATIONAL_ID_RULES: tuple[NationalIdRule, ...] = (
    NationalIdRule("us_ssn", _shape(r"\d{3}-\d{2}-\d{4}"), ssn.is_valid),
    NationalIdRule("us_ssn_plain", _shape(r"\d{3} ?\d{2} ?\d{4}"), ssn.is_valid, True),
    NationalIdRule(
        "uk_nino",
        _shape(r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", re.IGNORECASE),
        _nino_valid,
    ),
    NationalIdRule("es_dni", _shape(r"\d{8}-?[A-Z]", re.IGNORECASE), dni.is_valid),
    NationalIdRule("es_nie", _shape(r"[XYZ]-?\d{7}-?[A-Z]", re.IGNORECASE), nie.is_valid),
    NationalIdRule(
        "it_codice_fiscale",
        _shape(
            r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]",
            re.IGNORECASE,
        ),
        codicefiscale.is_valid,
    ),
    NationalIdRule(
        "fr_nir",
        _shape(r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3} ?\d{2}", re.IGNORECASE),
        nir.is_valid,
    ),
    NationalIdRule("de_idnr", _shape(r"\d{2} \d{3} \d{3} \d{3}"), idnr.is_valid),
    NationalIdRule("de_idnr_plain", _shape(r"\d{11}"), idnr.is_valid, True),
    NationalIdRule("nl_bsn", _shape(r"\d{4}\.?\d{2}\.?\d{3}|\d{9}"), bsn.is_valid, True),
    NationalIdRule("in_aadhaar", _shape(r"[2-9]\d{3}[ -]\d{4}[ -]\d{4}"), aadhaar.is_valid),
    NationalIdRule("in_aadhaar_plain", _shape(r"[2-9]\d{11}"), aadhaar.is_valid, True),
)
"""Every national id recognised, tried in this order."""


def _named_before(text: str, start: int) -> bool:
    return _CONTEXT.search(text, max(0, start - _CONTEXT_WINDOW), start) is not None


def find_national_ids(text: str) -> Iterator[tuple[int, int]]:
    """Spans of national identity numbers in `text` (scan the copy with exempt spans blanked).

    Args:
        text: the text to scan.
    """
    for rule in NATIONAL_ID_RULES:
        for match in rule.pattern.finditer(text):
            if rule.needs_context and not _named_before(text, match.start()):
                continue
            if rule.valid(match.group()):
                yield match.span()
