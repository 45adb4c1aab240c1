"""The personal-data detectors one by one: what each accepts, what it rejects, and the
exemptions that keep ids, timestamps, amounts and versions from being flagged.
"""

from __future__ import annotations

import phonenumbers
import pytest

from guardrails.pii import find_pii
from guardrails.pii_detectors import card_issuer_known, find_cards, find_ibans, luhn_valid
from guardrails.pii_exemptions import blank_exempt
from guardrails.pii_national_ids import find_national_ids
from guardrails.pii_phones import find_phones


def kinds_and_values(text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in find_pii(text)]


def test_a_phone_matcher_alone_finds_phones_in_uuids_but_find_pii_does_not() -> None:
    thread_id = "03923845-0264-e491-a2a9-908ceebb6118"
    matcher = phonenumbers.PhoneNumberMatcher(thread_id, "DE", phonenumbers.Leniency.VALID)
    assert [m.raw_string for m in matcher] == ["03923845-0264"]
    assert list(find_phones(thread_id)), "the phone detector on the raw text flags it too"
    assert find_pii(f"thread {thread_id} resumed") == []
    assert kinds_and_values(f"thread {thread_id}: call (415) 555-2671") == [
        ("phone", "(415) 555-2671")
    ]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("écrire à françois.dupont@exemple.fr merci", "françois.dupont@exemple.fr"),
        ("Mail an jürgen@bücher.de.", "jürgen@bücher.de"),
        ("联系 张伟@例子.公司 谢谢", "张伟@例子.公司"),
    ],
)
def test_internationalised_email_addresses_are_found_whole(text: str, address: str) -> None:
    assert kinds_and_values(text) == [("email", address)]


@pytest.mark.parametrize(
    "text", ["user@localhost", "@jane_doe on Slack", "a@b", "x@1.2", "name@domain.c0m", "@@@"]
)
def test_not_an_email_address(text: str) -> None:
    assert find_pii(text) == []


def test_blanking_keeps_offsets() -> None:
    text = "at 2024-05-01T10:30:00Z order A-1001 paid $1,234.56 with v2.10.3 from 10.0.0.1"
    blanked = blank_exempt(text)
    assert len(blanked) == len(text)
    assert blanked == "at " + "x" * 20 + " " + "x" * 12 + " paid " + "x" * 9 + (
        " with " + "x" * 7 + " from " + "x" * 8
    )


def test_luhn_and_issuer() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert card_issuer_known("4111111111111111")
    assert not card_issuer_known("9999999999999995")  # no network starts with 99
    assert not card_issuer_known("378282246310005" + "0")  # Amex numbers have 15 digits


@pytest.mark.parametrize(
    "written",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4111 1111-1111 1111"],
)
def test_cards_in_any_grouping(written: str) -> None:
    assert [(m.kind, m.text) for m in find_pii(f"pay with {written}.")] == [("card", written)]


@pytest.mark.parametrize(
    ("text", "cards"),
    [
        ("card 4111 1111 1111 1111 12/27", ["4111 1111 1111 1111"]),
        ("4111 1111 1111 1111 123", ["4111 1111 1111 1111"]),
        ("pay 2 4111-1111-1111-1111", ["4111-1111-1111-1111"]),
        ("4111 1111 1111 1111 5555 5555 5555 4444", ["4111 1111 1111 1111", "5555 5555 5555 4444"]),
        ("4111111111111111 5555555555554444", ["4111111111111111", "5555555555554444"]),
        ("4111 1111 1111 1112 1", []),
    ],
)
def test_a_card_beside_other_numbers(text: str, cards: list[str]) -> None:
    assert [value for kind, value in kinds_and_values(text) if kind == "card"] == cards


def test_card_not_read_out_of_a_longer_number_or_a_decimal() -> None:
    assert list(find_cards("id 94111111111111111111 end")) == []
    assert list(find_cards("ratio 0.4111111111111111")) == []


def test_iban_drops_a_word_it_swallowed() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00 THEN pay"
    [(start, end)] = find_ibans(text)
    assert text[start:end] == "DE89 3704 0044 0532 0130 00"


def test_iban_digits_are_not_also_a_card() -> None:
    assert kinds_and_values("to GB29 NWBK 6016 1331 9268 19 now") == [
        ("iban", "GB29 NWBK 6016 1331 9268 19")
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("SSN 536-22-8726", True),
        ("SSN 666-22-8726", False),  # area 666 never issued
        ("SSN 536-00-8726", False),  # group 00 never issued
        ("SSN 078-05-1120", False),  # the Woolworth wallet card
        ("ssn 536228726", True),  # plain digits after the word
        ("count 536228726", False),  # plain digits without it
        ("NINO AB 12 34 56 C", True),
        ("NINO QQ 12 34 56 C", False),  # Q never starts a NINO
        ("NINO GB 12 34 56 C", False),  # GB never issued
        ("DNI 12345678Z", True),
        ("DNI 12345678A", False),  # wrong check letter
        ("BSN 111222333", True),
        ("reference 111222333", False),  # a BSN only next to its name
        ("Aadhaar 2345 6789 0124", True),
        ("Aadhaar 2345 6789 0125", False),  # wrong Verhoeff digit
        ("NIR 1 84 12 76 451 089 46", True),
        ("NIR 1 84 12 76 451 089 47", False),  # wrong key
    ],
)
def test_national_ids(text: str, found: bool) -> None:
    assert bool(list(find_national_ids(text))) is found


def test_phone_international_always_bare_digits_only_next_to_a_phone_word() -> None:
    assert kinds_and_values("+49 30 12345678") == [("phone", "+49 30 12345678")]
    assert kinds_and_values("total 4155552671 rows") == []
    assert kinds_and_values("call 4155552671 today") == [("phone", "4155552671")]
    assert kinds_and_values("tel 912 345 678") == [("phone", "912 345 678")]


def test_a_run_too_long_for_a_phone_is_not_split_into_one() -> None:
    assert list(find_phones("ref 4155552671 4155552671 0000")) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("in case 0151 23456789 does not answer", ("phone", "0151 23456789")),
        ("please run 4111 1111 1111 1111 again", ("card", "4111 1111 1111 1111")),
        ("order no. 4111 1111 1111 1111", ("card", "4111 1111 1111 1111")),
    ],
)
def test_a_label_word_exempts_one_reference_not_the_number_after_it(
    text: str, found: tuple[str, str]
) -> None:
    assert kinds_and_values(text) == [found]


@pytest.mark.parametrize(
    "text",
    [
        "checkpoint 1ef4f797-8335-6428-8001-8a1503f9b875",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "at 2024-05-01T10:30:00.123+02:00",
        "order ORD-2024-004217",
        "total $4,155,552,671",
        "version 10.0.19045.3693",
        "from 192.168.100.254",
    ],
)
def test_exempt_spans_are_never_flagged(text: str) -> None:
    assert find_pii(text) == []
