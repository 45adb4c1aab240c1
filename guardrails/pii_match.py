"""One piece of personal data found in a text: its kind and where it is.

Example:
    >>> match = PiiMatch("email", 8, 24, "jane@example.com")
    >>> match.kind, match.end - match.start
    ('email', 16)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PII_KINDS", "PiiMatch"]

PII_KINDS: tuple[str, ...] = ("email", "phone", "card", "iban", "national_id")
"""Every kind of personal data the detectors find, in the order overlaps are settled."""


@dataclass(frozen=True)
class PiiMatch:
    """A span of personal data in a text.

    Attributes:
        kind: one of `PII_KINDS` (``"email"``, ``"phone"``, ``"card"``, ``"iban"``,
            ``"national_id"``).
        start: index of the first character in the text.
        end: index after the last character (``text[start:end]`` is the value).
        text: the value as it appears in the text (never logged by the guardrails).
    """

    kind: str
    start: int
    end: int
    text: str
