"""Personal data out of log lines and span attributes, cheaply: `redact_fields`.

Every string of a record goes through `guardrails.pii.redact_text` (e-mail addresses, phones,
cards, IBANs, national ids become ``[email]``, ``[card]``, ...), except what cannot hold
personal data: the fields the framework itself fills with timestamps, closed vocabularies and
numbers (`TRUSTED_KEYS`) and UUIDs (run ids, most thread ids). The same short strings come
back in every line of a run (its thread, agent, node and graph), so their redaction is cached.

Example:
    >>> redact_fields({"user_id": "ana@example.com", "run_id": "0b5e8f2e-6a7b-4f5e-9c1d-2e3f4a5b6c7d"})
    {'user_id': '[email]', 'run_id': '0b5e8f2e-6a7b-4f5e-9c1d-2e3f4a5b6c7d'}
"""  # noqa: E501

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["TRUSTED_KEYS", "redact_fields"]

TRUSTED_KEYS = frozenset(
    {"timestamp", "at", "action", "kind", "outcome", "decision", "state", "event"}
)
"""Fields whose text the framework writes from a closed set (never a user's words)."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_CACHED_UP_TO = 256
"""Strings up to this length are cached (ids and names; long texts are rarely repeated)."""


@functools.lru_cache(maxsize=4096)
def _cached(text: str) -> str:
    from guardrails.pii import redact_text

    return redact_text(text)


def _text(text: str) -> str:
    if _UUID.fullmatch(text):
        return text
    if len(text) <= _CACHED_UP_TO:
        return _cached(text)
    from guardrails.pii import redact_text

    return redact_text(text)


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_value(str(key)): _value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    return value


def redact_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with personal data redacted from every value (keys of nested data too).

    Args:
        record: a flat mapping of field names to JSON-safe values.

    Returns:
        A new dict, in the same order; `TRUSTED_KEYS` and non-text values unchanged.
    """
    return {key: value if key in TRUSTED_KEYS else _value(value) for key, value in record.items()}
