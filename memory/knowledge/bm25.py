"""Okapi BM25 over a handful of chunks, in pure Python (the lexical half of hybrid search).

Text is tokenised into lower-case words; common English stopwords are dropped and a light
suffix stripper folds plurals and common inflections (*refunds*, *refunded*, *refunding*
all become *refund*), so the lexical ranking forgives the inflections hash vectors forgive.
Scores follow the classic formula with ``k1 = 1.5`` and ``b = 0.75`` and the always-positive
idf ``ln(1 + (N - df + 0.5) / (df + 0.5))``; a chunk sharing no term with the query scores 0
and is never returned.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["BM25Index", "stem", "tokenize"]

_WORD = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his "
    "how i if in into is it its me my no not of on or our she so that the their them then there "
    "these they this those to us was we were what when where which who why will with would you "
    "your am any about also just".split()
)
_SUFFIXES = ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "s")


def stem(word: str) -> str:
    """A light, deterministic suffix stripper (not Porter; enough to fold inflections).

    Example:
        >>> [stem(w) for w in ("refunds", "refunded", "refunding", "policies", "status")]
        ['refund', 'refund', 'refund', 'policy', 'status']
    """
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if not word.endswith(suffix):
            continue
        base = word[: -len(suffix)]
        if suffix in ("ies", "ied"):
            return base + "y" if len(base) >= 2 else word
        if suffix == "s" and (word.endswith(("ss", "us", "is")) or len(base) < 3):
            return word
        if suffix == "es" and not base.endswith(("ss", "sh", "ch", "x", "z")):
            return word[:-1] if len(word) > 4 else word
        if len(base) < 3:
            return word
        if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]  # shipped -> ship, planned -> plan
        return base
    return word


def tokenize(text: str) -> list[str]:
    """The BM25 terms of a text: lower-case words, stopwords dropped, stemmed.

    When every word is a stopword they are kept, so a query of stopwords still has terms.
    """
    words = _WORD.findall(text.lower())
    kept = [w for w in words if w not in _STOPWORDS] or words
    return [stem(w) for w in kept]


class BM25Index:
    """BM25 ranking of a fixed list of documents.

    Example:
        >>> index = BM25Index(["API rate limit is 1000 requests", "Refunds take 5 days"])
        >>> [doc for doc, score in index.top("how long do refunds take", 2)]
        [1]
    """

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        """Index `documents` (their order gives the ids `top` returns)."""
        self.k1 = k1
        self.b = b
        self.terms = [Counter(tokenize(doc)) for doc in documents]
        self.lengths = [sum(counts.values()) for counts in self.terms]
        self.average = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        frequency: Counter[str] = Counter()
        for counts in self.terms:
            frequency.update(counts.keys())
        total = len(self.terms)
        self.idf = {
            term: math.log(1.0 + (total - df + 0.5) / (df + 0.5)) for term, df in frequency.items()
        }

    def __len__(self) -> int:
        return len(self.terms)

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every document for `query` (0 when no term is shared)."""
        query_terms = [t for t in dict.fromkeys(tokenize(query)) if t in self.idf]
        scores = [0.0] * len(self.terms)
        average = self.average or 1.0
        for doc, counts in enumerate(self.terms):
            norm = self.k1 * (1.0 - self.b + self.b * self.lengths[doc] / average)
            for term in query_terms:
                tf = counts.get(term, 0)
                if tf:
                    scores[doc] += self.idf[term] * tf * (self.k1 + 1.0) / (tf + norm)
        return scores

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best documents as (index, score), best first; only positive scores."""
        ranked = sorted(
            ((doc, score) for doc, score in enumerate(self.scores(query)) if score > 0.0),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[: max(k, 0)]
