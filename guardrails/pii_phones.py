"""Detector of phone numbers: Google's libphonenumber metadata through ``phonenumbers``.

Candidate runs (digits with spaces, dots, dashes, slashes and brackets, optionally after
``+`` or ``00``, 7 to 17 digits, not touching a letter or digit) are found by a regular
expression in the copy with exempt spans blanked; each is then handed to
``phonenumbers.PhoneNumberMatcher`` at leniency ``VALID`` (the number must be a valid number
of its region, by the library's own metadata, which ships with it: offline) for each region
of `PHONE_REGIONS` in turn. International numbers (``+44 20 7946 0958``) are valid in any
region; national ones (``020 7946 0958``, ``030 12345678``, ``98765 43210``) in theirs.
A run longer than a phone number (a card or account number) is skipped whole, never split
into a phone number.

A valid number in a region's metadata is not yet a phone number: most 10-digit runs are
valid somewhere (an epoch timestamp, a count, ``98 76 54 32 10``). A national number
therefore counts on its own only when it is written like one: an area code in brackets
(``(415) 555-2671``, ``1 (800) 275-2273``), a trunk ``0`` and separators
(``030 12345678``), or the North American 3-3-4 grouping (``415-555-2671``,
``1-800-275-2273``). Any other national number (bare ``4155552671``, ``912 345 678``)
needs a word that names a phone (`_CONTEXT`: phone, call, mobile, fax, WhatsApp, Telefon,
téléphone, llámame...) within 40 characters before or 25 after.

Example:
    >>> list(find_phones("call +44 20 7946 0958 or (415) 555-2671"))
    [(5, 21), (25, 39)]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence

import phonenumbers

__all__ = ["PHONE_REGIONS", "clear_phone_cache", "find_phones"]

PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "ES", "IT", "NL", "AU", "BR")
"""The regions whose national formats are recognised, in the order they are tried."""

_CONTEXT = re.compile(
    r"\b(?:phone|tel\b|tel[eé:.]|call|ring|mobil|cell|whats\s?app|sms|text|fax|contact|"
    r"reach|dial|hotline|ruf|anruf|handy|portable|m[oó]vil|ll[aá]m|chiam|bel\b|bellen|"
    r"numéro de t|n[°º]\s?tel)",
    re.IGNORECASE,
)
_WRITTEN_AS_PHONE = re.compile(
    r"(?:\+|00|\(|0\d*[ ./-]|1[ .-]?\()|(?:1[ .-])?\d{3}([ .-])\d{3}\1\d{4}$"
)
_MAY_BE_WRITTEN_AS_PHONE = re.compile(r"\+|\(|(?<!\d)0\d|\d{3}([ .-])\d{3}\1\d{4}")
"""A cheap test of a whole candidate run: could any number inside it pass `_WRITTEN_AS_PHONE`?"""
_BEFORE, _AFTER = 40, 25
_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t().\-/]{4,22}\d(?![\w])")
_MIN_DIGITS = 7
_MAX_DIGITS = 17


@functools.lru_cache(maxsize=4096)
def _matches_in(candidate: str, regions: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Spans of valid phone numbers inside one candidate run (cached: log lines repeat).

    Regions are tried in order until the numbers found cover every digit of the run.
    """
    found: list[tuple[int, int]] = []
    for region in regions:
        matcher = phonenumbers.PhoneNumberMatcher(
            candidate, region, leniency=phonenumbers.Leniency.VALID
        )
        for match in matcher:
            if all(match.end <= start or match.start >= end for start, end in found):
                found.append((match.start, match.end))
        digits_found = sum(sum(c.isdigit() for c in candidate[start:end]) for start, end in found)
        if found and digits_found == sum(c.isdigit() for c in candidate):
            break
    return tuple(found)


def clear_phone_cache() -> None:
    """Forget the candidate runs already checked (for benchmarks that time a cold scan)."""
    _matches_in.cache_clear()


def _named_near(text: str, start: int, end: int) -> bool:
    return _CONTEXT.search(text, max(0, start - _BEFORE), end + _AFTER) is not None


def find_phones(text: str, regions: Sequence[str] = PHONE_REGIONS) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers in `text` (scan the copy with exempt spans blanked).

    Args:
        text: the text to scan.
        regions: the regions whose national formats count (international numbers always do).
    """
    for candidate in _CANDIDATE.finditer(text):
        digits = sum(char.isdigit() for char in candidate.group())
        if not _MIN_DIGITS <= digits <= _MAX_DIGITS:
            continue
        offset, written_run = candidate.start(), candidate.group()
        if not _MAY_BE_WRITTEN_AS_PHONE.search(written_run) and not _named_near(
            text, offset, candidate.end()
        ):
            continue
        for start, end in _matches_in(written_run, tuple(regions)):
            written = written_run[start:end]
            if _WRITTEN_AS_PHONE.match(written) or _named_near(text, offset + start, offset + end):
                yield offset + start, offset + end
