r"""Finding an id in a request, in whatever form the person wrote it, for the offline demo model.

People write ids loosely: ``A-1001``, ``a-1001``, ``A1001``, ``#1001``, ``order 1001`` or just
``1001``. The tool's JSON schema says what the id must look like: a ``pattern``, and examples in
``examples``, ``default`` or the description ("Order id, like A-1001."). Every id-like token of
the request is tried in a few normalised forms (as written, upper case, the separator of the
example, the example's prefix for bare numbers) and the first form the pattern accepts wins.
Nothing here knows a particular shop: the schema is the only source of the id's shape.

Example:
    >>> spec = {"type": "string", "pattern": "^[A-Z]-\\d{4}$", "description": "like A-1001."}
    >>> [find_id(spec, text) for text in ("a1002 please", "order #1003", "Refund $20", "1004")]
    ['A-1002', 'A-1003', None, 'A-1004']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["find_id", "id_like", "id_shape"]

_CANDIDATE = re.compile(
    r"(?<![\w$€£.])(?:(?P<letters>[A-Za-z]{1,4})[-_ ]?|#\s*)?(?P<digits>\d{2,})(?![\w$€£]|\.\d)"
)
"""An id-like token: optional short letter prefix (or ``#``) then digits, not part of money."""
_LOOSE_ID = re.compile(r"(?<![\w-])[A-Za-z]{1,4}-?\d{2,}(?![\w-])")
"""An id-like token when the schema gives no pattern (``A-1001``, ``inv42``)."""
_SHAPE = re.compile(r"^(?P<prefix>\D*?)(?P<digits>\d+)$")
_MONEY_BEFORE = re.compile(r"(?:\$|€|£|usd|eur|gbp)\s*$", re.I)
_MONEY_AFTER = re.compile(r"^\s*(?:\$|€|£|usd|eur|gbp|dollars?|euros?|pounds?)\b", re.I)


def id_like(name: str, spec: dict[str, Any]) -> bool:
    """Whether a string property holds an id (its name ends in ``id`` or it has a pattern)."""
    return bool(spec.get("pattern")) or name.lower().endswith(("id", "_ids"))


def id_shape(spec: dict[str, Any]) -> tuple[str, str] | None:
    """Prefix and separator-aware prefix of the schema's example id, e.g. ``("A", "A-")``.

    Looks in ``examples``, ``default`` and the description for a token the pattern accepts.
    """
    pattern = spec.get("pattern")
    texts = [str(e) for e in spec.get("examples") or []]
    texts += [str(spec.get("default") or ""), str(spec.get("description") or "")]
    for token in re.findall(r"[\w#-]+", " ".join(texts)):
        if pattern and not re.fullmatch(pattern, token):
            continue
        shape = _SHAPE.match(token)
        if shape and shape["prefix"] is not None:
            prefix = shape["prefix"]
            return prefix.rstrip("-_ #"), prefix
    return None


def _forms(
    letters: str | None, digits: str, raw: str, shape: tuple[str, str] | None
) -> Iterator[str]:
    """Normalised spellings of one candidate token, most faithful first."""
    yield raw
    yield raw.upper()
    separators = [shape[1][len(shape[0]) :]] if shape else []
    separators += ["-", "", "_"]
    if letters:
        for separator in separators:
            yield f"{letters.upper()}{separator}{digits}"
            yield f"{letters}{separator}{digits}"
    if shape:
        yield f"{shape[1]}{digits}"
    yield digits


def _is_money(text: str, start: int, end: int) -> bool:
    return bool(_MONEY_BEFORE.search(text[:start]) or _MONEY_AFTER.match(text[end:]))


def find_id(spec: dict[str, Any], text: str) -> str | None:
    """The first id in `text` that the schema's pattern accepts, normalised to its form.

    Args:
        spec: the string property's JSON schema (``pattern``, ``examples``, description).
        text: where to look (the request).

    Returns:
        The id as the pattern wants it, or None. Without a pattern, the first token that
        looks like an id (letters then digits), upper-cased.
    """
    pattern = spec.get("pattern")
    if not pattern:
        loose = _LOOSE_ID.search(text)
        return loose.group(0).upper() if loose else None
    shape = id_shape(spec)
    candidates = list(_CANDIDATE.finditer(text))
    # Explicit ids (with letters or '#') before bare numbers, each in text order.
    candidates.sort(key=lambda m: (not (m["letters"] or m.group(0).startswith("#")), m.start()))
    for match in candidates:
        if _is_money(text, match.start(), match.end()):
            continue
        raw = match.group(0).lstrip("#").strip()
        for form in _forms(match["letters"], match["digits"], raw, shape):
            if re.fullmatch(pattern, form):
                return form
    return None
