"""Reciprocal-rank fusion: one ranking out of several, by rank alone.

Each list votes ``1 / (k + rank)`` for each of its items (rank 1 is the best); an item's
fused score is the sum of its votes, so an item high in both lists beats one high in a single
list, and the lists' raw scores (BM25 points, cosine similarities) never need a common scale.
``k = 60`` is the constant of Cormack, Clarke and Buettcher (SIGIR 2009): it damps the
difference between the first few ranks so one list cannot decide alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["RRF_K", "reciprocal_rank_fusion"]

RRF_K = 60
Key = TypeVar("Key", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Key]], *, k: int = RRF_K
) -> list[tuple[Key, float]]:
    """Fuse rankings (each best first, without duplicates) into one.

    Args:
        rankings: the lists to fuse; an item may appear in any of them.
        k: the damping constant (60 by default).

    Returns:
        (item, fused score) best first; ties go to the item with the better best rank, then
        to the first list that ranked it.

    Example:
        >>> fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
        >>> [(item, round(score, 4)) for item, score in fused]
        [('b', 0.0325), ('a', 0.0164), ('c', 0.0161)]
    """
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    scores: dict[Key, float] = {}
    best: dict[Key, tuple[int, int]] = {}
    for list_index, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            best[item] = min(best.get(item, (rank, list_index)), (rank, list_index))
    return sorted(scores.items(), key=lambda pair: (-pair[1], best[pair[0]]))
