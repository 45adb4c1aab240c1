"""The personal-data corpus (issue 14): recall and precision per kind, every hard negative
unflagged, and redaction that leaves none of the values found behind.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from guardrails.pii import PII_KINDS, find_pii, redact_text
from scripts.bench.bench_pii import Evaluation, corpus, evaluate

RECALL_FLOOR = 0.9
PRECISION_FLOOR = 0.95

CASES = corpus()
NEGATIVES = [case for case in CASES if "negative" in case]


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate(CASES)


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    assert len(CASES) >= 200
    values = Counter(kind for case in CASES for kind, _ in case["pii"])
    assert set(values) == set(PII_KINDS)
    assert min(values.values()) >= 20, values
    categories = Counter(case["negative"] for case in NEGATIVES)
    for category in ("uuid", "hex_id", "timestamp", "order_id", "amount", "version"):
        assert categories[category] >= 5, categories
    for category in ("invalid_card", "invalid_iban", "invalid_ssn", "serial"):
        assert categories[category] >= 4, categories
    assert all(case["pii"] or "negative" in case for case in CASES)


@pytest.mark.parametrize("kind", PII_KINDS)
def test_recall_and_precision_per_kind(evaluation: Evaluation, kind: str) -> None:
    score = evaluation.scores[kind]
    assert score.recall >= RECALL_FLOOR, (kind, score, evaluation.misses)
    assert score.precision >= PRECISION_FLOOR, (kind, score, evaluation.false_alarms)


def test_overall_precision(evaluation: Evaluation) -> None:
    found = sum(s.true_positives + s.false_positives for s in evaluation.scores.values())
    right = sum(s.true_positives for s in evaluation.scores.values())
    assert right / found >= PRECISION_FLOOR, evaluation.false_alarms


@pytest.mark.parametrize(
    "case", NEGATIVES, ids=[f"{c['negative']}:{c['text'][:40]}" for c in NEGATIVES]
)
def test_hard_negative_is_not_flagged(case: dict[str, Any]) -> None:
    assert find_pii(case["text"]) == []
    assert redact_text(case["text"]) == case["text"]


@pytest.mark.parametrize("mode", ["redact", "mask"])
def test_redacted_text_holds_none_of_the_values_found(evaluation: Evaluation, mode: Any) -> None:
    missed = {(kind, value) for kind, value, _ in evaluation.misses}
    checked = 0
    for case in CASES:
        cleaned = redact_text(case["text"], mode=mode)
        for kind, value in case["pii"]:
            if (kind, value) in missed:
                continue
            assert value not in cleaned, (mode, value, cleaned)
            checked += 1
    assert checked >= 0.9 * sum(len(case["pii"]) for case in CASES)


def test_every_value_found_is_covered_whole(evaluation: Evaluation) -> None:
    """A match covers every letter and digit of the value, not just a part of it."""
    missed = {(kind, value) for kind, value, _ in evaluation.misses}
    for case in CASES:
        matches = find_pii(case["text"])
        for kind, value in case["pii"]:
            if (kind, value) in missed:
                continue
            start = case["text"].index(value)
            uncovered = [
                index
                for index in range(start, start + len(value))
                if case["text"][index].isalnum()
                and not any(m.start <= index < m.end for m in matches)
            ]
            assert not uncovered, (value, matches)


@pytest.mark.parametrize("mode", ["redact", "mask"])
def test_cleaning_twice_changes_nothing_more(mode: Any) -> None:
    """A placeholder or a mask is never read as personal data (logs may be cleaned twice)."""
    for case in CASES:
        once = redact_text(case["text"], mode=mode)
        assert redact_text(once, mode=mode) == once
