"""Memory search in a selective namespace goes straight to exact ranking (issue 20, item 3).

A spy on the store's vector collection records every Chroma call: a search in one user's
namespace reads only that namespace's vectors (every read carries the filter or names ids),
never runs an unfiltered nearest-neighbour probe, and finds the exact top 5 of that user's
items (recall@5 = 1.0) on a synthetic set where an unfiltered probe would rarely hold them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from langgraph.store.base import PutOp

from memory import ChromaStore, HashEmbeddings

USERS = 30
PER_USER = 20
K = 5
WORDS = [f"w{i}" for i in range(300)]


class CollectionSpy:
    """Delegates to a Chroma collection and records each query/get call's arguments."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def query(self, **kwargs: Any) -> Any:
        self.calls.append(("query", kwargs))
        return self.collection.query(**kwargs)

    def get(self, **kwargs: Any) -> Any:
        self.calls.append(("get", kwargs))
        return self.collection.get(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))


@pytest.fixture
def filled(tmp_path: Path) -> tuple[ChromaStore, dict[str, str]]:
    client = chromadb.PersistentClient(str(tmp_path), settings=Settings(anonymized_telemetry=False))
    store = ChromaStore(client, index={"embed": "hash", "fields": ["text"]}, collection="exact")
    rng = random.Random(20)
    texts = {f"u{i // PER_USER}/m{i}": _text(rng) for i in range(USERS * PER_USER)}
    store.batch(
        [
            PutOp(("memories", key.split("/")[0]), key.split("/")[1], {"text": text})
            for key, text in texts.items()
        ]
    )
    return store, texts


def test_selective_namespace_search_makes_no_unfiltered_probe(
    filled: tuple[ChromaStore, dict[str, str]],
) -> None:
    store, _ = filled
    spy = CollectionSpy(store.vectors)
    store.vectors = spy

    hits = store.search(("memories", "u7"), query="w1 w2 w3", limit=K)

    assert len(hits) == K and all(hit.namespace == ("memories", "u7") for hit in hits)
    assert not [name for name, _ in spy.calls if name == "query"], spy.calls
    for name, kwargs in spy.calls:
        assert kwargs.get("where") == {"lg.ns.2": "memories.u7"} or kwargs.get("ids"), (
            name,
            kwargs,
        )


def test_recall_at_5_on_each_users_items_is_exact(
    filled: tuple[ChromaStore, dict[str, str]],
) -> None:
    store, texts = filled
    embed = HashEmbeddings()
    rng = random.Random(5)
    for user in range(USERS):
        mine = {
            key.split("/")[1]: text for key, text in texts.items() if key.startswith(f"u{user}/")
        }
        query = _text(rng)
        q = np.asarray(embed.embed_query(query))
        scores = {key: float(np.asarray(embed.embed_query(t)) @ q) for key, t in mine.items()}
        kth = sorted(scores.values(), reverse=True)[K - 1]

        hits = store.search(("memories", f"u{user}"), query=query, limit=K)

        assert len(hits) == K
        assert all(scores[hit.key] >= kth - 1e-6 for hit in hits), (user, query)  # recall 1.0
        for hit in hits:
            assert hit.score == pytest.approx(scores[hit.key], abs=1e-4)
