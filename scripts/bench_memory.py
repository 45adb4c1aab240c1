"""Benchmark the Chroma memory store: put and search throughput, search latency, recall@k.

Not a test: run it by hand, on a quiet machine.

    .venv/bin/python scripts/bench_memory.py                       # 1k, 10k and 100k memories
    .venv/bin/python scripts/bench_memory.py --sizes 1000,10000 --json bench.json

For each size N it opens a fresh `memory.ChromaStore` (persistent client in a temporary
directory, or ``--path``) and puts N synthetic memories in batches, ``--per-user`` memories per
user namespace ``("memories", "u<j>")``, as the memory agent stores them. Then it runs
``--queries`` searches through the store's public API (``store.search``, limit k), one at a
time, three ways:

- all users: ``search(("memories",), query=...)``, the whole store (one namespace prefix that
  matches every memory); recall@k against exact brute-force cosine search (numpy) over all N
  vectors;
- one user: ``search(("memories", "u<j>"), query=...)``, what `recall_memories` does; recall
  against brute force over that user's memories;
- HNSW alone: Chroma's vector query without any namespace filter, the floor under both.

Reported: put items/s through ``store.batch([PutOp, ...])`` (``--batch`` items a call) with the
vectors computed beforehand, so it is the store's own cost (embedding throughput is its own
column); searches per second and latency p50 / p95 (query embedding included, about 0.1 ms);
recall@k (ties at the k-th exact score count as hits).

The memories and queries are synthetic: sentences of 6 to 14 words drawn from a vocabulary of
pseudo-words with a Zipf-like frequency; a query is a stored memory with about half its words
replaced, so it has real neighbours. Vectors come from the offline ``hash`` embedding
(`memory.HashEmbeddings`, 512 dimensions by default): deterministic, no model. A neural
embedding changes the embedding cost and the recall (its vectors are easier for HNSW), not the
store's own costs.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory import ChromaStore, HashEmbeddings, chroma_client  # noqa: E402


class PrecomputedEmbeddings(Embeddings):
    """Returns vectors computed beforehand (by text), so puts measure the store alone."""

    def __init__(self, vectors: dict[str, list[float]], fallback: Embeddings) -> None:
        self.vectors = vectors
        self.fallback = fallback
        self.identity = getattr(fallback, "identity", "precomputed")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vectors.get(t) or self.fallback.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.vectors.get(text) or self.fallback.embed_query(text)


@dataclass
class Latency:
    queries_per_s: float
    p50_ms: float
    p95_ms: float
    recall_at_k: float


@dataclass
class Result:
    size: int
    k: int
    queries: int
    embed_items_per_s: float
    put_items_per_s: float
    put_seconds: float
    all_users: Latency
    one_user: Latency
    hnsw_only: Latency


def vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def sentences(rng: random.Random, words: list[str], count: int) -> list[str]:
    weights = [1.0 / (rank + 1) for rank in range(len(words))]  # Zipf-like
    out = []
    for i in range(count):
        n = rng.randint(6, 14)
        out.append(f"{' '.join(rng.choices(words, weights, k=n))} {i}")  # unique texts
    return out


def perturb(rng: random.Random, text: str, words: list[str]) -> str:
    tokens = text.split()[:-1]
    for i in range(len(tokens)):
        if rng.random() < 0.5:
            tokens[i] = rng.choice(words)
    return " ".join(tokens)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def summarise(latencies: list[float], hits: float) -> Latency:
    return Latency(
        queries_per_s=len(latencies) / sum(latencies),
        p50_ms=1000 * statistics.median(latencies),
        p95_ms=1000 * percentile(latencies, 0.95),
        recall_at_k=hits / len(latencies),
    )


def run_size(size: int, args: argparse.Namespace, workdir: Path, embed: HashEmbeddings) -> Result:
    rng = random.Random(size)
    words = vocabulary(rng, args.vocabulary)
    texts = sentences(rng, words, size)
    sources = [rng.randrange(size) for _ in range(args.queries)]
    query_texts = [perturb(rng, texts[i], words) for i in sources]

    started = time.perf_counter()
    vectors = embed.embed_documents(texts)
    embed_rate = size / (time.perf_counter() - started)
    lookup = dict(zip(texts, vectors, strict=True))
    lookup.update(zip(query_texts, embed.embed_documents(query_texts), strict=True))

    store = ChromaStore(
        chroma_client(str(workdir / f"n{size}")),
        index={"embed": PrecomputedEmbeddings(lookup, embed), "fields": ["text"]},
        collection=f"bench-{size}",
        hnsw={"ef_search": args.ef_search} if args.ef_search else None,
    )
    per_user = args.per_user
    started = time.perf_counter()
    for start in range(0, size, args.batch):
        store.batch(
            [
                PutOp(("memories", f"u{i // per_user}"), f"m{i}", {"text": texts[i], "n": i})
                for i in range(start, min(start + args.batch, size))
            ]
        )
    put_seconds = time.perf_counter() - started

    matrix = np.asarray(vectors, dtype=np.float32)
    k = args.k

    def hits(found: list[int], scores: np.ndarray) -> float:
        kth = np.partition(scores, -k)[-k] if len(scores) > k else scores.min()
        return sum(1 for i in found if scores[i] >= kth - 1e-5) / min(k, len(scores))

    timings: dict[str, list[float]] = {"all": [], "user": [], "hnsw": []}
    recalls = {"all": 0.0, "user": 0.0, "hnsw": 0.0}
    for source, text in zip(sources, query_texts, strict=True):
        scores = matrix @ np.asarray(lookup[text], dtype=np.float32)
        t0 = time.perf_counter()
        found = store.search(("memories",), query=text, limit=k)
        timings["all"].append(time.perf_counter() - t0)
        recalls["all"] += hits([int(item.key[1:]) for item in found], scores)

        user = source // per_user
        first = user * per_user
        t0 = time.perf_counter()
        found = store.search(("memories", f"u{user}"), query=text, limit=k)
        timings["user"].append(time.perf_counter() - t0)
        rows = [int(item.key[1:]) - first for item in found]
        recalls["user"] += hits(rows, scores[first : min(first + per_user, size)])

        t0 = time.perf_counter()
        raw = store.vectors.query(
            query_embeddings=[lookup[text]], n_results=k, include=["metadatas"]
        )
        timings["hnsw"].append(time.perf_counter() - t0)
        keys = [str(m["lg.item"]).split("..", 1)[1] for m in raw["metadatas"][0]]
        recalls["hnsw"] += hits([int(key[1:]) for key in keys], scores)

    return Result(
        size=size,
        k=k,
        queries=len(query_texts),
        embed_items_per_s=embed_rate,
        put_items_per_s=size / put_seconds,
        put_seconds=put_seconds,
        all_users=summarise(timings["all"], recalls["all"]),
        one_user=summarise(timings["user"], recalls["user"]),
        hnsw_only=summarise(timings["hnsw"], recalls["hnsw"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--queries", type=int, default=100, help="search queries per size")
    parser.add_argument("--per-user", type=int, default=100, help="memories per user namespace")
    parser.add_argument("--batch", type=int, default=1000, help="items per put batch")
    parser.add_argument("--k", type=int, default=5, help="results per search (recall@k)")
    parser.add_argument("--dims", type=int, default=512, help="hash embedding dimensions")
    parser.add_argument("--vocabulary", type=int, default=20000, help="pseudo-words")
    parser.add_argument("--ef-search", type=int, default=0, help="HNSW ef (0: DEFAULT_HNSW)")
    parser.add_argument("--path", help="data directory (default: a temporary one)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    embed = HashEmbeddings(args.dims)

    print(
        f"ChromaStore, hash embedding ({args.dims} dims), {args.per_user} memories per user, "
        f"put batches of {args.batch}, {args.queries} queries one at a time, k={args.k}"
    )
    group = "{:>24}"
    print(
        f"{'':>9} {'':>9} {'':>8} {'':>6} "
        + " ".join(group.format(g) for g in ("all users", "one user", "HNSW alone"))
    )
    cell = f"{'q/s':>5} {'p50':>5} {'p95':>5} {'rec':>5}"
    print(f"{'memories':>9} {'embed/s':>9} {'put/s':>8} {'put s':>6}   " + "   ".join([cell] * 3))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = Path(args.path) if args.path else Path(tmp)
        for size in sizes:
            result = run_size(size, args, workdir, embed)
            results.append(result)
            cells = [
                f"{x.queries_per_s:>5.0f} {x.p50_ms:>5.1f} {x.p95_ms:>5.1f} {x.recall_at_k:>5.3f}"
                for x in (result.all_users, result.one_user, result.hnsw_only)
            ]
            print(
                f"{result.size:>9} {result.embed_items_per_s:>9.0f} "
                f"{result.put_items_per_s:>8.0f} {result.put_seconds:>6.1f}   " + "   ".join(cells),
                flush=True,
            )
    print("latencies in ms; rec = recall@k against exact brute-force cosine search")
    if args.json:
        payload: dict[str, Any] = {"args": vars(args), "results": [asdict(r) for r in results]}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
