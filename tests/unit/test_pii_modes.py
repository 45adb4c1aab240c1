"""Redaction modes of the personal-data guardrail: redact, mask and block, over text and over
nested data (log records, trace payloads), and clear errors for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from guardrails.pii import PiiBlocked, PiiMatch, find_pii, redact_text, redact_value

TEXT = (
    "Jane <jane.doe@example.com>, +44 20 7946 0958, card 4111 1111 1111 1111, "
    "IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-8726."
)
VALUES = (
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "536-22-8726",
)


def test_find_pii_reports_kinds_spans_and_values_in_order() -> None:
    matches = find_pii(TEXT)
    assert [m.kind for m in matches] == ["email", "phone", "card", "iban", "national_id"]
    assert [m.text for m in matches] == list(VALUES)
    assert all(TEXT[m.start : m.end] == m.text for m in matches)
    assert isinstance(matches[0], PiiMatch)


def test_redact_replaces_each_value_by_its_kind() -> None:
    assert redact_text(TEXT) == (
        "Jane <[email]>, [phone], card [card], IBAN [iban], SSN [national_id]."
    )


def test_mask_keeps_the_last_four_of_cards_phones_and_ibans() -> None:
    assert redact_text(TEXT, mode="mask") == (
        "Jane <j***@example.com>, ****0958, card ****1111, IBAN ****3000, SSN ***-**-****."
    )


@pytest.mark.parametrize("mode", ["redact", "mask"])
def test_no_original_value_survives(mode: Any) -> None:
    cleaned = redact_text(TEXT, mode=mode)
    assert not [value for value in VALUES if value in cleaned]
    assert "jane.doe" not in cleaned and "8726" not in cleaned


def test_block_raises_with_the_kinds_and_never_the_values() -> None:
    with pytest.raises(PiiBlocked) as raised:
        redact_text(TEXT, mode="block")
    assert raised.value.kinds == ("card", "email", "iban", "national_id", "phone")
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert not [value for value in VALUES if value in message]
    assert "7946" not in message and "jane" not in message


def test_block_lets_clean_text_through_unchanged() -> None:
    clean = (
        "Order A-1001 for $1,299.99 ships on 2024-05-01 (run 550e8400-e29b-41d4-a716-446655440000)."
    )
    assert redact_text(clean, mode="block") == clean


def test_kinds_limit_what_is_treated() -> None:
    assert redact_text(TEXT, kinds=["email", "card"]) == (
        "Jane <[email]>, +44 20 7946 0958, card [card], "
        "IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-8726."
    )
    assert [m.kind for m in find_pii(TEXT, kinds={"iban"})] == ["iban"]
    assert redact_text(TEXT, mode="block", kinds=()) == TEXT


def test_text_without_digits_or_at_sign_has_nothing() -> None:
    assert find_pii("No personal data in this sentence, only words.") == []
    assert find_pii("") == []


class Event(NamedTuple):
    name: str
    detail: str


def test_redact_value_walks_nested_data_without_changing_it() -> None:
    record: dict[str, Any] = {
        "event": "tool_call",
        "args": {"to": "jane.doe@example.com", "amount": 12.5, "retries": 3},
        "messages": ["call me on +44 20 7946 0958", None, True],
        "pair": ("4111 1111 1111 1111", 7),
        "named": Event("reply", "IBAN DE89 3704 0044 0532 0130 00"),
        "bob@example.org": "key with an address",
    }
    snapshot = repr(record)
    cleaned = redact_value(record)
    assert cleaned == {
        "event": "tool_call",
        "args": {"to": "[email]", "amount": 12.5, "retries": 3},
        "messages": ["call me on [phone]", None, True],
        "pair": ("[card]", 7),
        "named": Event("reply", "IBAN [iban]"),
        "[email]": "key with an address",
    }
    assert isinstance(cleaned["named"], Event)
    assert repr(record) == snapshot
    assert redact_value(42) == 42 and redact_value(None) is None


@dataclass(frozen=True)
class Note:
    author: str
    body: str
    tags: frozenset[str] = field(default_factory=frozenset)


def test_redact_value_cleans_messages_models_and_dataclasses() -> None:
    human = HumanMessage("I'm jane.doe@example.com, card 4111 1111 1111 1111", id="m1")
    ai = AIMessage(
        "",
        tool_calls=[{"name": "refund", "args": {"iban": "DE89370400440532013000"}, "id": "c1"}],
    )
    note = Note("ops", "call +44 20 7946 0958", frozenset({"bob@example.org", "vip"}))
    cleaned = redact_value({"messages": [human, ai], "note": note, "seen": {"a@example.com"}})
    assert cleaned["messages"][0] == HumanMessage("I'm [email], card [card]", id="m1")
    assert cleaned["messages"][1].tool_calls[0]["args"] == {"iban": "[iban]"}
    assert cleaned["note"] == Note("ops", "call [phone]", frozenset({"[email]", "vip"}))
    assert cleaned["seen"] == {"[email]"}
    assert human.content == "I'm jane.doe@example.com, card 4111 1111 1111 1111"
    assert ai.tool_calls[0]["args"] == {"iban": "DE89370400440532013000"}


def test_redact_value_masks_and_blocks_deep_inside() -> None:
    nested = {"a": [{"b": ("x", "card 4111 1111 1111 1111")}]}
    assert redact_value(nested, mode="mask") == {"a": [{"b": ("x", "card ****1111")}]}
    with pytest.raises(PiiBlocked) as raised:
        redact_value(nested, mode="block")
    assert raised.value.kinds == ("card",)


def test_bad_input_gets_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown redaction mode 'hide'"):
        redact_text(TEXT, mode="hide")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown PII kinds \['passport'\]"):
        find_pii(TEXT, kinds=["email", "passport"])
    with pytest.raises(TypeError, match="not the string 'email'"):
        find_pii(TEXT, kinds="email")
    with pytest.raises(ValueError, match="unknown redaction mode"):
        redact_value(42, mode="erase")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bytes"):
        find_pii(b"jane@example.com")  # type: ignore[arg-type]
