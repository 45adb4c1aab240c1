"""Exact vector ranking with an embedding of the knowledge base's own choosing.

`KnowledgeBase(store, embeddings_spec=...)` ranks chunks with that embedding instead of the
store's semantic search: handy to compare embeddings on one store, or to use one the store
was not built with. Chunk vectors are computed once per process and kept by chunk hash (the
same text is never embedded twice); the ranking is an exact cosine over the searched scopes'
chunks, so it suits knowledge bases of thousands of chunks, not millions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import Item

__all__ = ["VectorCache"]


class VectorCache:
    """Chunk vectors by chunk hash, and exact cosine ranking over them."""

    def __init__(self, embeddings: Embeddings) -> None:
        """Embed with `embeddings`."""
        self.embeddings = embeddings
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors_of(self, chunks: Sequence[Item]) -> np.ndarray:
        keys = [str(c.value.get("chunk_hash") or c.value.get("text", "")) for c in chunks]
        with self._lock:
            missing = {k: c for k, c in zip(keys, chunks, strict=True) if k not in self._vectors}
        if missing:
            texts = [str(c.value.get("text", "")) for c in missing.values()]
            computed = self.embeddings.embed_documents(texts)
            with self._lock:
                for key, vector in zip(missing, computed, strict=True):
                    self._vectors[key] = _unit(np.asarray(vector, dtype=np.float32))
        with self._lock:
            return np.stack([self._vectors[k] for k in keys])

    def rank(self, query: str, chunks: Sequence[Item], depth: int) -> list[tuple[Item, float]]:
        """The `depth` chunks most similar to `query` (cosine), best first."""
        if not chunks or depth <= 0:
            return []
        matrix = self._vectors_of(chunks)
        query_vector = _unit(np.asarray(self.embeddings.embed_query(query), dtype=np.float32))
        scores = matrix @ query_vector
        order = sorted(range(len(chunks)), key=lambda i: (-float(scores[i]), i))[:depth]
        return [(chunks[i], float(scores[i])) for i in order]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0.0 else vector
