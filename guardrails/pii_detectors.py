"""Detectors of e-mail addresses, payment card numbers and IBANs.

Each detector takes the text to scan and yields ``(start, end)`` spans. E-mail addresses are
found in the original text; cards and IBANs in the copy with exempt spans blanked
(`guardrails.pii_exemptions.blank_exempt`), so ids and timestamps never count.

- **e-mail**: a regular expression (local part, ``@``, a dotted domain with a top-level
  domain of two letters or more; letters of any script, as internationalised addresses
  have).
- **card**: runs of 13 to 19 digits, optionally grouped by spaces or dashes, that pass the
  Luhn check and start with a known issuer prefix and length (Visa, Mastercard, American Express,
  Discover, JCB, Diners Club, Maestro, UnionPay, RuPay).
- **IBAN**: two letters, two check digits and up to 30 letters or digits, optionally in groups
  of four, validated by ``stdnum.iban`` (country length and the mod-97 check).

Example:
    >>> list(find_cards("card 4111 1111 1111 1111, not 4111 1111 1111 1112"))
    [(5, 24)]
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban as stdnum_iban

__all__ = ["card_issuer_known", "find_cards", "find_emails", "find_ibans", "luhn_valid"]

_EMAIL = re.compile(
    # Letters and digits of any script ([^\W_]), so françois@exemple.fr and user@bücher.de
    # count whole; a top-level domain is letters only.
    r"(?<![\w.%+-])[^\W_](?:[\w.%+-]{0,62}[\w%+-])?"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}\b"
)
_CARD = re.compile(r"(?<![\w.,])\d(?:[ -]?\d){12,47}(?![\w]|[.,]\d)")
"""A run of 13 digits or more (up to 48: a card and the numbers written beside it)."""
_IBAN = re.compile(
    r"(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?(?![\w])"
)
_ALL = range(12, 20)
_IIN_PREFIXES: tuple[tuple[int, int, range | tuple[int, ...]], ...] = (
    # (first prefix, last prefix, card lengths)
    (4, 4, (13, 16, 19)),  # Visa
    (51, 55, (16,)),  # Mastercard
    (2221, 2720, (16,)),  # Mastercard 2-series
    (34, 34, (15,)),  # American Express
    (37, 37, (15,)),
    (300, 305, range(14, 20)),  # Diners Club
    (36, 36, range(14, 20)),
    (38, 39, range(14, 20)),
    (6011, 6011, range(16, 20)),  # Discover
    (644, 649, range(16, 20)),
    (65, 65, range(16, 20)),
    (62, 62, range(16, 20)),  # UnionPay (and Discover co-branded)
    (3528, 3589, range(16, 20)),  # JCB
    (50, 50, _ALL),  # Maestro
    (56, 69, _ALL),
    (508, 508, (16,)),  # RuPay
    (60, 60, (16,)),
    (81, 82, (16,)),
)


_IIN_RULES = tuple((len(str(low)), low, high, lengths) for low, high, lengths in _IIN_PREFIXES)
_IIN_WIDTHS = frozenset(width for width, _, _, _ in _IIN_RULES)


def find_emails(text: str) -> Iterator[tuple[int, int]]:
    """Spans of e-mail addresses in `text`."""
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield match.span()


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check.

    Example:
        >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
        (True, False)
    """
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_issuer_known(digits: str) -> bool:
    """Whether `digits` start with a known card network's prefix and have its length.

    Example:
        >>> card_issuer_known("378282246310005"), card_issuer_known("3782822463100050")
        (True, False)
    """
    prefixes = {width: int(digits[:width]) for width in _IIN_WIDTHS}
    return any(
        low <= prefixes[width] <= high and len(digits) in lengths
        for width, low, high, lengths in _IIN_RULES
    )


def _is_card(digits: str) -> bool:
    return (
        13 <= len(digits) <= 19
        and digits[0] not in "0179"  # no network's prefix starts with these
        and card_issuer_known(digits)
        and luhn_valid(digits)
    )


def _card_in_groups(run: str, offset: int) -> Iterator[tuple[int, int]]:
    """Cards among the digit groups of a run that is not one card as a whole.

    A card next to other numbers (``4111 1111 1111 1111 12/27``, ``pay 2 4111 ...``) makes
    one run with them; the longest windows of whole groups that are a card are kept.
    """
    groups = [(match.start(), match.end(), match.group()) for match in re.finditer(r"\d+", run)]
    cards = []  # (digits, start, end) of every window of whole groups that is a card
    for first, (start, _, _) in enumerate(groups):
        digits = ""
        for _, end, group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if _is_card(digits):
                cards.append((len(digits), start, end))
    taken: list[tuple[int, int]] = []
    for _, start, end in sorted(cards, key=lambda card: -card[0]):
        if all(end <= t_start or t_end <= start for t_start, t_end in taken):
            taken.append((start, end))
    for start, end in sorted(taken):
        yield offset + start, offset + end


def find_cards(text: str) -> Iterator[tuple[int, int]]:
    """Spans of payment card numbers (Luhn-checked, known issuer and length) in `text`."""
    for match in _CARD.finditer(text):
        if _is_card(re.sub(r"[ -]", "", match.group())):
            yield match.span()
        elif " " in match.group() or "-" in match.group():
            yield from _card_in_groups(match.group(), match.start())


def find_ibans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of valid IBANs in `text`, written compact or in groups of four.

    A candidate that swallowed a following word (``DE89 3704 0044 0532 0130 00 THEN``) is
    shortened group by group until it validates.
    """
    for match in _IBAN.finditer(text):
        start, candidate = match.start(), match.group()
        while len(candidate.replace(" ", "")) >= 15:
            if stdnum_iban.is_valid(candidate):
                yield start, start + len(candidate)
                break
            cut = candidate.rfind(" ")
            if cut < 0:
                break
            candidate = candidate[:cut]
