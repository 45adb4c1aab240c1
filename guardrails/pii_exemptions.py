"""Spans that look like numbers people own but are not: ids, timestamps, amounts, versions.

A phone matcher happily finds a phone number in the digits of a UUID, and a 16-digit run in a
sha256 digest may pass Luhn. The detectors therefore scan a copy of the text in which every
span found here is blanked (`blank_exempt` overwrites it with ``x``, same length, so the
offsets still point into the original): UUIDs, hex ids (thread, run and checkpoint ids,
digests), ISO and local timestamps and dates, clock times, IPv4 addresses, order and ticket
ids (``A-1001``, ``ORD-2024-0042``), labelled references (``order #4155552671``, ``serial
no. 31415926535``), money amounts (``$1,234.56``, ``1.234,56 EUR``), decimal numbers
(``0.884``, ``(0.884-0.908)``) and version numbers (``v2.10.3``, ``1.2.3``).

Example:
    >>> blank_exempt("id 550e8400-e29b-41d4-a716-446655440000 at 2024-05-01T10:00:00Z")
    'id xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx at xxxxxxxxxxxxxxxxxxxx'
"""

from __future__ import annotations

import re

__all__ = ["EXEMPT_PATTERNS", "blank_exempt", "exempt_spans"]

_CURRENCY = r"(?:USD|EUR|GBP|INR|CHF|JPY|CAD|AUD|dollars?|euros?|pounds?|rupees?)"
_LABEL = (
    r"\b(?:order|invoice|ticket|ref(?:erence)?|serial|s/n|sn|tracking|part|model|sku|case|"
    r"booking|confirmation|transaction|txn|batch|lot|build|issue|pr|commit)"
)

EXEMPT_PATTERNS: tuple[re.Pattern[str], ...] = (
    # UUIDs in any case, with or without a urn prefix.
    re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    # Lower-case hex ids and digests (at least one digit and one letter, 8 characters or more).
    re.compile(r"\b(?:0x)?(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"),
    # ISO 8601 dates and timestamps.
    re.compile(
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    ),
    re.compile(r"\b\d{8}T\d{6}Z?\b"),
    # Local dates (15/01/2024, 01.02.2024) and clock times (10:30, 10:30:15.123).
    re.compile(r"(?<![\d./])\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b(?![/.]\d)"),
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b"),
    # IPv4 addresses.
    re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}\b(?!\.\d)"),
    # Order, ticket and invoice ids: A-1001, ORD-2024-0042, INV/2024/17.
    re.compile(r"\b[A-Z]{1,5}(?:[-/_]\d+)+\b"),
    # Labelled references of four characters or more, one word: "order #4155552671",
    # "serial no. 31415926535", "ticket: 20240501" (not "SN 12 34 56 A", a National Insurance
    # number, nor "case 0151 23456789", a phone number after "in case").
    re.compile(
        _LABEL
        + r"(?:\s*(?:no\.?|number|nr\.?|id|#))?\s*[#:]?\s*(?=[\w-]*\d)[A-Za-z0-9][\w-]{3,}"
        + r"(?![\w-]| ?\d)",
        re.IGNORECASE,
    ),
    # Money: $1,234.56, € 99, 1.234,56 EUR, 25 dollars.
    re.compile(r"[$€£¥₹]\s?\d{1,3}(?:[,.' ]\d{3})*(?:[.,]\d{1,2})?(?!\d)"),
    re.compile(r"(?<![\d.,])\d{1,3}(?:[,.' ]\d{3})*(?:[.,]\d{1,2})?\s?" + _CURRENCY + r"\b"),
    # Decimal numbers with one point or comma: 0.884, 12,50 (not 06.12.34.56.78).
    re.compile(r"(?<![\w.,])\d+[.,]\d+(?![.,]?\d)"),
    # Version numbers: v2.10.3, 1.2.3, 3.11.4-rc1 (a first part of one or two digits).
    re.compile(r"\b[vV]\d+(?:\.\d+)+(?:[-+][\w.]+)?\b"),
    re.compile(r"(?<![\d.+])\d{1,2}\.\d{1,3}(?:\.\d{1,5}){1,2}(?:[-+][\w.]+)?(?![.\d])"),
)
"""The patterns of spans never flagged as phone, card, IBAN or national id."""


def exempt_spans(text: str) -> list[tuple[int, int]]:
    """Every exempt span of `text`, as ``(start, end)`` pairs (they may overlap).

    Args:
        text: the text to scan.

    Returns:
        The spans in pattern order.
    """
    return [match.span() for pattern in EXEMPT_PATTERNS for match in pattern.finditer(text)]


def blank_exempt(text: str) -> str:
    """`text` with every exempt span overwritten by ``x`` (same length, same offsets).

    Args:
        text: the text to scan.

    Returns:
        The copy the number detectors scan.
    """
    spans = exempt_spans(text)
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "x" * (end - start)
    return "".join(chars)
