"""Reciprocal-rank fusion: one ranking out of several, by rank alone.

Each list votes ``1 / (k + rank)`` for each of its items (rank 1 is the best); an item's
fused score is the sum of its votes, so an item high in both lists beats one high in a single
list, and the lists' raw scores (BM25 points, cosine similarities) never need a common scale.
``k = 60`` is the constant of Cormack, Clarke and Buettcher (SIGIR 2009): it damps the
difference between the first few ranks so one list cannot decide alone.

Weighted fusion (`weights`) multiplies each list's votes by its weight. `hybrid_weights`
gives the weights for BM25 and an embedding's ranking: equal weights let the weaker ranking
pull the stronger one's right answers down. On the labelled handbook of issue 21
(tests/data/knowledge, 78 questions, `scripts/bench/knowledge_retrieval.py`), equal weights
give a lower MRR than the better list alone, with either embedding: BM25 0.806, hash
vectors 0.747, fused 0.797; wordllama vectors 0.883, fused with BM25 0.862. With the
stronger list leading (0.85 / 0.15) the fused MRR is 0.808 and 0.886 and recall@5 is at
least the better list's. The weights were chosen on that set, so expect less on others; the
direction (the stronger ranking leads) is what generalises.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["LEADING_WEIGHT", "RRF_K", "hybrid_weights", "reciprocal_rank_fusion"]

RRF_K = 60
LEADING_WEIGHT = 0.85
"""The weight of the leading ranking in `hybrid_weights`; the other one gets the rest."""
Key = TypeVar("Key", bound=Hashable)


def hybrid_weights(embedding_identity: str) -> tuple[float, float]:
    """The (lexical, vector) weights for fusing BM25 with the ranking of an embedding.

    The hash embedding (identity ``hash-...``) is lexical itself: it matches the words and
    letter trigrams BM25 already matches, with hash collisions on top, so BM25 leads and
    its vectors break ties and catch inflections and typos. Any other embedding is taken to
    be semantic (matches paraphrases BM25 cannot), so it leads and BM25 adds exact terms
    (numbers, names, codes) it blurs.

    Example:
        >>> hybrid_weights("hash-v2-512"), hybrid_weights("wordllama-l2_supercat-256")
        ((0.85, 0.15), (0.15, 0.85))
    """
    lead, rest = LEADING_WEIGHT, round(1.0 - LEADING_WEIGHT, 10)
    return (lead, rest) if embedding_identity.startswith("hash-") else (rest, lead)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Key]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[Key, float]]:
    """Fuse rankings (each best first, without duplicates) into one.

    Args:
        rankings: the lists to fuse; an item may appear in any of them.
        k: the damping constant (60 by default).
        weights: one non-negative weight per list, multiplying its votes; None weighs
            every list 1.

    Returns:
        (item, fused score) best first; ties go to the item with the better best rank, then
        to the first list that ranked it.

    Example:
        >>> fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
        >>> [(item, round(score, 4)) for item, score in fused]
        [('b', 0.0325), ('a', 0.0164), ('c', 0.0161)]
        >>> [item for item, _ in reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[3, 1])]
        ['a', 'b']
    """
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings) or any(w < 0 for w in weights):
        raise ValueError(f"need one non-negative weight per ranking, got {list(weights)}")
    scores: dict[Key, float] = {}
    best: dict[Key, tuple[int, int]] = {}
    for list_index, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weights[list_index] / (k + rank)
            best[item] = min(best.get(item, (rank, list_index)), (rank, list_index))
    return sorted(scores.items(), key=lambda pair: (-pair[1], best[pair[0]]))
