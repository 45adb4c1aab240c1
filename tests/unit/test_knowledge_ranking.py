"""BM25 ranking and reciprocal-rank fusion."""

from __future__ import annotations

import pytest

from memory.knowledge import BM25Index, reciprocal_rank_fusion, tokenize
from memory.knowledge.bm25 import stem

DOCS = [
    "The API rate limit is 1000 requests per minute per project.",
    "Refunds are paid within five business days after the return arrives.",
    "Refund requests above 500 euros need a reviewer's approval.",
    "Kettles ship from the Lyon warehouse in two days.",
    "The warehouse in Lyon closes on public holidays.",
]


def test_tokenize_drops_stopwords_and_folds_inflections() -> None:
    assert tokenize("How are the Refunds refunded?") == ["refund", "refund"]
    assert tokenize("the and of") == ["the", "and", "of"], "all stopwords: kept"
    assert [stem(w) for w in ("shipped", "shipping", "ships", "boxes", "class", "bus")] == [
        "ship",
        "ship",
        "ship",
        "box",
        "class",
        "bus",
    ]


def test_bm25_ranks_documents_sharing_rare_terms_first() -> None:
    index = BM25Index(DOCS)
    assert [doc for doc, _ in index.top("how long until my refund is paid", 5)] == [1, 2]
    assert [doc for doc, _ in index.top("Lyon warehouse kettles", 5)][:2] == [3, 4]
    assert index.top("rate limit", 5)[0][0] == 0
    assert index.top("zebra", 5) == []
    assert index.top("refund", 1) == index.top("refund", 5)[:1]


def test_bm25_rare_terms_weigh_more_and_long_documents_less() -> None:
    index = BM25Index(["lyon lyon kettle", "lyon paris", "lyon rome", "kettle " + "word " * 50])
    scores = index.scores("kettle lyon")
    assert scores[0] == max(scores)
    assert scores[3] < scores[0], "the same term in a long document counts less"
    common = BM25Index(["lyon a", "lyon b", "lyon c", "rome d"]).scores("lyon rome")
    assert common[3] > common[0], "rome appears once, lyon three times: rome is worth more"
    assert len(BM25Index([])) == 0 and BM25Index([]).top("x", 3) == []


def test_rrf_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "d"]])
    assert [item for item, _ in fused] == ["c", "b", "a", "d"], "a first alone loses to both"
    scores = dict(fused)
    assert scores["b"] == pytest.approx(2 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61) and scores["d"] == pytest.approx(1 / 63)


def test_rrf_ties_go_to_the_better_rank_then_the_first_list() -> None:
    assert [i for i, _ in reciprocal_rank_fusion([["a"], ["b"]])] == ["a", "b"]
    assert [i for i, _ in reciprocal_rank_fusion([["x", "a"], ["b"]])] == ["x", "b", "a"]
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([["a", "b"]], k=0)[0] == ("a", 1.0)
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], k=-1)
