"""Memory search in one user's namespace: the store vs a raw Chroma query vs numpy.

10,000 synthetic memories (``scripts/bench_memory.py``'s generator: Zipf-like pseudo-word
sentences, offline ``hash`` embedding, 512 dims) are put through `memory.ChromaStore`, 100 per
user namespace ``("memories", "u<j>")``. Each round takes the next query (a stored memory
with about half its words replaced) and times, in shuffled order:

- ``store``: ``store.search(("memories", "u<j>"), query=..., limit=5)``, what
  `recall_memories` does (query embedding is a dict lookup, so this is the store's own cost);
- ``chroma``: the store's vector collection queried directly with the same namespace filter
  (``where={"lg.ns.2": "memories.u<j>"}``, 5 results with metadatas and distances);
- ``numpy``: brute-force cosine over that user's 100 vectors held in memory, the floor;
- ``store_all`` and ``chroma_all``: the same for the whole store (prefix ``("memories",)``
  against Chroma's unfiltered query), a guard that broad searches stay cheap.

Recall@5 of the store's one-user search is measured against exact brute force over the
user's items (ties at the 5th score count as hits), outside the timed calls.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langgraph.store.base import PutOp

from memory import ChromaStore, HashEmbeddings, chroma_client
from scripts.bench.measure import Finding, interleaved, ratio
from scripts.bench_memory import PrecomputedEmbeddings, perturb, sentences, vocabulary

SIZE = 10_000
PER_USER = 100
K = 5
DIMS = 512
TARGET_RATIO = 1.2


class _Corpus:
    """Synthetic memories, their vectors and queries (one source memory per query)."""

    def __init__(self, queries: int, seed: int = SIZE) -> None:
        rng = random.Random(seed)
        words = vocabulary(rng, 20_000)
        self.texts = sentences(rng, words, SIZE)
        self.sources = [rng.randrange(SIZE) for _ in range(queries)]
        self.queries = [perturb(rng, self.texts[i], words) for i in self.sources]
        embed = HashEmbeddings(DIMS)
        vectors = embed.embed_documents(self.texts)
        query_vectors = embed.embed_documents(self.queries)
        self.lookup = dict(zip(self.texts, vectors, strict=True))
        self.lookup.update(zip(self.queries, query_vectors, strict=True))
        self.embed = PrecomputedEmbeddings(self.lookup, embed)
        matrix = np.asarray(vectors, dtype=np.float32)
        self.matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        self.query_vectors = query_vectors

    def user(self, query: int) -> int:
        return self.sources[query] // PER_USER


def _fill(directory: Path, corpus: _Corpus) -> ChromaStore:
    store = ChromaStore(
        chroma_client(str(directory)),
        index={"embed": corpus.embed, "fields": ["text"]},
        collection="bench-memory-search",
    )
    for start in range(0, SIZE, 1000):
        store.batch(
            [
                PutOp(("memories", f"u{i // PER_USER}"), f"m{i}", {"text": corpus.texts[i], "n": i})
                for i in range(start, min(start + 1000, SIZE))
            ]
        )
    return store


def _cycler(corpus: _Corpus, call: Callable[[int], object]) -> Callable[[], object]:
    """A candidate that runs `call` on query 0, 1, 2, ... (one query per round)."""
    position = iter(range(len(corpus.queries)))
    return lambda: call(next(position))


def _candidates(store: ChromaStore, corpus: _Corpus) -> dict[str, Callable[[], object]]:
    def store_one(q: int) -> object:
        return store.search(("memories", f"u{corpus.user(q)}"), query=corpus.queries[q], limit=K)

    def chroma_one(q: int) -> object:
        return store.vectors.query(
            query_embeddings=[corpus.query_vectors[q]],
            n_results=K,
            where={"lg.ns.2": f"memories.u{corpus.user(q)}"},
            include=["metadatas", "distances"],
        )

    def numpy_one(q: int) -> object:
        first = corpus.user(q) * PER_USER
        rows = corpus.matrix[first : first + PER_USER]
        vector = np.asarray(corpus.query_vectors[q], dtype=np.float32)
        scores = rows @ (vector / np.linalg.norm(vector))
        top = np.argpartition(scores, -K)[-K:]
        return top[np.argsort(-scores[top])]

    def store_all(q: int) -> object:
        return store.search(("memories",), query=corpus.queries[q], limit=K)

    def chroma_all(q: int) -> object:
        return store.vectors.query(
            query_embeddings=[corpus.query_vectors[q]],
            n_results=K,
            include=["metadatas", "distances"],
        )

    calls = {
        "store": store_one,
        "chroma": chroma_one,
        "numpy": numpy_one,
        "store_all": store_all,
        "chroma_all": chroma_all,
    }
    return {name: _cycler(corpus, call) for name, call in calls.items()}


def _recall(store: ChromaStore, corpus: _Corpus) -> float:
    """Mean recall@K of the store's one-user search against exact brute force."""
    total = 0.0
    for q, text in enumerate(corpus.queries):
        first = corpus.user(q) * PER_USER
        vector = np.asarray(corpus.query_vectors[q], dtype=np.float32)
        scores = corpus.matrix[first : first + PER_USER] @ (vector / np.linalg.norm(vector))
        kth = np.partition(scores, -K)[-K]
        found = store.search(("memories", f"u{corpus.user(q)}"), query=text, limit=K)
        rows = [int(item.key[1:]) - first for item in found]
        total += sum(1 for row in rows if scores[row] >= kth - 1e-5) / K
    return total / len(corpus.queries)


def _ms(samples: list[float]) -> str:
    return f"{1000 * float(np.median(samples)):.2f} ms"


def run(quick: bool) -> list[Finding]:
    """Time one user's memory search three ways; report ratios, recall and targets."""
    rounds = 60 if quick else 300
    corpus = _Corpus(queries=rounds + 5)
    with tempfile.TemporaryDirectory(prefix="bench-memory-search-") as tmp:
        store = _fill(Path(tmp), corpus)
        for candidate in _candidates(store, corpus).values():  # warm caches and the index
            for _ in range(5):
                candidate()
        samples = interleaved(_candidates(store, corpus), rounds=rounds)
        recall = _recall(store, corpus)
    medians: dict[str, Any] = {name: _ms(values) for name, values in samples.items()}
    detail = ", ".join(f"{name} p50 {value}" for name, value in medians.items())
    vs_chroma = ratio(samples["store"], samples["chroma"])
    where = f"one user of {SIZE // PER_USER} ({SIZE:,} items)"
    return [
        Finding(
            f"memory search p50, {where}: store / raw Chroma query, same filter",
            vs_chroma,
            target=f"<= {TARGET_RATIO}",
            met=vs_chroma.median <= TARGET_RATIO,
            detail=detail,
        ),
        Finding(
            f"memory search recall@{K}, {where}: store vs exact",
            recall,
            unit="",
            target="= 1.0",
            met=recall >= 1.0 - 1e-9,
            detail=f"{len(corpus.queries)} queries",
        ),
        Finding(
            f"memory search p50, {where}: store / numpy brute force",
            ratio(samples["store"], samples["numpy"]),
        ),
        Finding(
            "memory search p50, all users: store / raw unfiltered Chroma query",
            ratio(samples["store_all"], samples["chroma_all"]),
        ),
    ]
