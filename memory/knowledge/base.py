"""`KnowledgeBase`: documents chunked into a LangGraph store, searched by scope.

Layout in the store (any `BaseStore`: `memory.ChromaStore` in production, LangGraph's
``InMemoryStore`` in tests):

- ``("knowledge", <scope label>)``: one item per chunk, key ``"<source digest>:<position>"``,
  value ``text, title, source, position, content_hash, chunk_hash, scope, ingested_at,
  ingested_by``; only ``text`` is embedded.
- ``("knowledge_sources", <scope label>)``: one item per document, key its source digest,
  value ``source, title, content_hash, chunks, chunking, ingested_at, ingested_by``. It is
  written last, so a crash mid-ingestion leaves the old hash and the next ingestion redoes it.

The scope label is the scope escaped by `memory.namespaces.namespace_label` (``user:ana.b``
becomes ``user:ana%2Eb``). Re-ingesting a source whose content (or chunking) changed writes
the new chunks and deletes the old ones; the same content is skipped.

Search (`KnowledgeBase.search`) has three modes: ``lexical`` (BM25 over the chunks of the
scopes, `memory.knowledge.bm25`), ``vector`` (the store's semantic search in each scope, or,
when the knowledge base was given ``embeddings_spec``, its own embedding ranked exactly over
the same chunks) and ``hybrid`` (both fused by weighted reciprocal rank,
`memory.knowledge.fusion`: the stronger ranking leads, BM25 over hash vectors, a semantic
embedding over BM25).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, Item, PutOp, SearchItem

from memory.embeddings import create_embeddings, embedding_identity
from memory.knowledge.bm25 import BM25Index
from memory.knowledge.chunking import document_title, split_into_chunks
from memory.knowledge.fusion import RRF_K, hybrid_weights, reciprocal_rank_fusion
from memory.knowledge.loaders import discover_documents, load_document
from memory.knowledge.passages import IngestReport, Passage, source_digest
from memory.knowledge.scopes import Scope, parse_scope, scope_label
from memory.knowledge.vectors import VectorCache
from memory.namespaces import user_from_label

__all__ = ["CANDIDATES", "CHUNKS_NAMESPACE", "SOURCES_NAMESPACE", "KnowledgeBase", "SearchMode"]

CHUNKS_NAMESPACE = "knowledge"
SOURCES_NAMESPACE = "knowledge_sources"
CANDIDATES = 50
"""How deep each ranking goes before fusion (at least ``k``)."""
PAGE = 500
SearchMode = Literal["hybrid", "lexical", "vector"]
_Corpus = tuple[list[SearchItem], BM25Index]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _batches_of_distinct_texts(puts: list[PutOp]) -> list[list[PutOp]]:
    """`puts` in order, cut into batches in which no two chunks have the same text.

    LangGraph's ``InMemoryStore`` embeds a batch's texts keyed by text and fails when two
    items of one batch share a text (a document repeating a paragraph).
    """
    batches: list[list[PutOp]] = [[]]
    seen: set[str] = set()
    for op in puts:
        text = str((op.value or {}).get("text"))
        if text in seen:
            batches.append([])
            seen = set()
        batches[-1].append(op)
        seen.add(text)
    return [batch for batch in batches if batch]


class KnowledgeBase:
    r"""Ingest documents by scope and search them (see the module docs for the layout).

    Example:
        >>> from langgraph.store.memory import InMemoryStore
        >>> from memory.embeddings import HashEmbeddings
        >>> index = {"dims": 512, "embed": HashEmbeddings(), "fields": ["text"]}
        >>> store = InMemoryStore(index=index)
        >>> kb = KnowledgeBase(store)
        >>> kb.ingest_text("# API\n\nThe rate limit is 1000 requests per minute.",
        ...                source="api.md", title=None, scope="project").status
        'added'
        >>> [p.citation() for p in kb.search("rate limit", scopes=["project"])]
        ['[api.md#0]']
    """

    def __init__(
        self,
        store: BaseStore,
        *,
        embeddings_spec: str | None = None,
        chunk_chars: int = 800,
        overlap_chars: int = 120,
        min_similarity: float | None = None,
        fusion_weights: tuple[float, float] | None = None,
    ) -> None:
        """Use `store` for chunks and the source registry.

        Args:
            store: any LangGraph store; for ``vector`` and ``hybrid`` search without
                `embeddings_spec` it needs a vector index (``fields`` including ``text``
                or the whole value).
            embeddings_spec: rank vectors with this embedding (``"hash"``,
                ``"chroma-default"``, ``"openai:<model>"``...) computed here over the chunks
                of the searched scopes, instead of the store's own semantic search. Chunk
                vectors are cached in this process by chunk hash.
            chunk_chars: largest chunk in characters.
            overlap_chars: characters a chunk repeats from the previous one in a section.
            min_similarity: drop vector hits scoring below this (cosine similarity), so a
                query with no related chunk gets no vector hits; None keeps every nearest
                neighbour (the hash embedding scores unrelated text around 0.02, up to 0.2).
            fusion_weights: (lexical, vector) weights of the hybrid fusion; None derives
                them from the vector embedding (`hybrid_weights`: BM25 leads hash vectors,
                a semantic embedding leads BM25; equal when the store has no known
                embedding); ``(1.0, 1.0)`` is plain reciprocal-rank fusion.
        """
        split_into_chunks("", chunk_chars=chunk_chars, overlap_chars=overlap_chars)  # checks
        self.store = store
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        self.min_similarity = min_similarity
        self.vectors = VectorCache(create_embeddings(embeddings_spec)) if embeddings_spec else None
        self.fusion_weights = fusion_weights or self._default_fusion_weights()
        self._lock = threading.Lock()
        self._corpora: dict[tuple[Any, ...], _Corpus] = {}

    # -- writing --------------------------------------------------------------------------------

    def ingest_text(
        self, text: str, *, source: str, title: str | None, scope: Scope, actor: str = ""
    ) -> IngestReport:
        """Store a document's chunks under `scope`, replacing a changed earlier version.

        Args:
            text: the document (Markdown headings guide the chunking).
            source: its name, which citations show; one document per source and scope.
            title: its title; None takes the first Markdown heading, else the source's name.
            scope: ``project``, ``team:<id>`` or ``user:<id>``.
            actor: who ingests it (recorded as ``ingested_by``).

        Raises:
            ValueError: an empty source or an invalid scope.
        """
        label = scope_label(scope)
        if not source.strip():
            raise ValueError("a document needs a source (a path or a name)")
        title = title or document_title(text, Path(source).name or source)
        digest = source_digest(source)
        chunking = f"{self.chunk_chars}/{self.overlap_chars}"
        content_hash = _sha256(text)
        old = self.store.get((SOURCES_NAMESPACE, label), digest)
        if old and (old.value.get("content_hash"), old.value.get("chunking")) == (
            content_hash,
            chunking,
        ):
            return IngestReport(source, scope, "skipped", int(old.value.get("chunks", 0)))
        chunks = split_into_chunks(
            text, chunk_chars=self.chunk_chars, overlap_chars=self.overlap_chars
        )
        now = datetime.now(UTC).isoformat()
        common = {"title": title, "source": source, "content_hash": content_hash, "scope": scope}
        stamp = {"ingested_at": now, "ingested_by": actor}
        puts = [
            PutOp(
                (CHUNKS_NAMESPACE, label),
                f"{digest}:{position}",
                {**common, "text": chunk, "position": position, "chunk_hash": _sha256(chunk)}
                | stamp,
                index=["text"],
            )
            for position, chunk in enumerate(chunks)
        ]
        fresh = {op.key for op in puts}
        stale = [k for k in self._chunk_keys(label, source) if k not in fresh]
        deletes = [PutOp((CHUNKS_NAMESPACE, label), key, None) for key in stale]
        for batch in _batches_of_distinct_texts(puts):
            self.store.batch(batch)
        if deletes:
            self.store.batch(deletes)
        entry = {**common, "chunks": len(chunks), "chunking": chunking, **stamp}
        del entry["scope"]
        self.store.put((SOURCES_NAMESPACE, label), digest, entry, index=False)
        self._forget_corpora()
        return IngestReport(source, scope, "replaced" if old else "added", len(chunks))

    def ingest_path(self, path: Path, *, scope: Scope, actor: str = "") -> list[IngestReport]:
        """Ingest a file, or every supported file under a directory (recursively).

        The source of each document is its path as given (``docs`` gives ``docs/api.md``).
        Types: see `memory.knowledge.loaders`.

        Raises:
            FileNotFoundError: `path` does not exist.
            ValueError: a file of an unsupported type named directly; an invalid scope.
        """
        parse_scope(scope)
        reports = []
        for file in discover_documents(Path(path)):
            document = load_document(file)
            reports.append(
                self.ingest_text(
                    document.text,
                    source=file.as_posix(),
                    title=document.title,
                    scope=scope,
                    actor=actor,
                )
            )
        return reports

    def forget(self, source: str, *, scope: Scope | None = None) -> int:
        """Delete a source's chunks and registry entry, in one scope or in every scope.

        Returns:
            How many chunks were deleted (0 when the source is unknown).
        """
        labels = (
            [scope_label(scope)] if scope is not None else [scope_label(s) for s in self.scopes()]
        )
        deleted = 0
        for label in labels:
            keys = self._chunk_keys(label, source)
            ops = [PutOp((CHUNKS_NAMESPACE, label), key, None) for key in keys]
            ops.append(PutOp((SOURCES_NAMESPACE, label), source_digest(source), None))
            self.store.batch(ops)
            deleted += len(keys)
        self._forget_corpora()
        return deleted

    # -- reading --------------------------------------------------------------------------------

    def scopes(self) -> list[Scope]:
        """Every scope holding chunks or registered sources in the store, sorted."""
        labels = set()
        for root in (CHUNKS_NAMESPACE, SOURCES_NAMESPACE):
            for namespace in self.store.list_namespaces(prefix=(root,), max_depth=2, limit=10_000):
                if len(namespace) == 2:
                    labels.add(namespace[1])
        return sorted(user_from_label(label) for label in labels)

    def sources(self, scopes: Sequence[Scope]) -> list[dict[str, Any]]:
        """The documents stored in `scopes`: registry values plus ``scope``, by scope and source."""
        found = []
        for scope in dict.fromkeys(scopes):
            for item in self._list((SOURCES_NAMESPACE, scope_label(scope))):
                found.append({**item.value, "scope": scope})
        return sorted(found, key=lambda s: (list(scopes).index(s["scope"]), s["source"]))

    def search(
        self, query: str, *, scopes: Sequence[Scope], k: int = 5, mode: SearchMode = "hybrid"
    ) -> list[Passage]:
        """The `k` passages of `scopes` that best answer `query`, best first.

        Args:
            query: the question or keywords.
            scopes: the scopes to search (a caller's `readable_scopes`); nothing else is read.
            k: how many passages at most.
            mode: ``lexical`` (BM25), ``vector`` (embeddings) or ``hybrid`` (reciprocal-rank
                fusion, k=60, of both, each `CANDIDATES` deep, weighted by
                ``fusion_weights``).

        Raises:
            ValueError: an invalid scope or mode; ``vector`` mode on a store without vectors
                and no `embeddings_spec`.
        """
        if mode not in ("hybrid", "lexical", "vector"):
            raise ValueError(f"mode must be 'hybrid', 'lexical' or 'vector', got {mode!r}")
        labels = [scope_label(s) for s in dict.fromkeys(scopes)]
        if not query.strip() or k <= 0 or not labels:
            return []
        depth = max(k, CANDIDATES)
        lexical = self._lexical(query, labels, depth) if mode != "vector" else []
        vector = (
            self._vector(query, labels, depth, required=mode == "vector")
            if mode != "lexical"
            else []
        )
        if mode != "hybrid":
            ranked = lexical if mode == "lexical" else vector
            return [Passage.from_value(i.key, i.value, s) for i, s in ranked[:k]]
        items = {i.key + "@" + i.namespace[1]: i for i, _ in [*lexical, *vector]}
        fused = reciprocal_rank_fusion(
            [[i.key + "@" + i.namespace[1] for i, _ in ranking] for ranking in (lexical, vector)],
            k=RRF_K,
            weights=self.fusion_weights,
        )
        return [Passage.from_value(items[key].key, items[key].value, s) for key, s in fused[:k]]

    # -- internals ------------------------------------------------------------------------------

    def _list(
        self, namespace: tuple[str, ...], filter: dict[str, Any] | None = None
    ) -> Iterator[SearchItem]:
        offset = 0
        while True:
            page = self.store.search(namespace, filter=filter, limit=PAGE, offset=offset)
            yield from (item for item in page if item.namespace == namespace)
            if len(page) < PAGE:
                return
            offset += PAGE

    def _chunk_keys(self, label: str, source: str) -> list[str]:
        return [i.key for i in self._list((CHUNKS_NAMESPACE, label), {"source": source})]

    def _forget_corpora(self) -> None:
        with self._lock:
            self._corpora.clear()

    def _fingerprint(self, label: str) -> tuple[tuple[str, str, str], ...]:
        """What the source registry of a scope says is stored: changes with every write."""
        entries = self._list((SOURCES_NAMESPACE, label))
        return tuple(
            sorted(
                (i.key, str(i.value.get("content_hash")), str(i.value.get("ingested_at")))
                for i in entries
            )
        )

    def _corpus(self, labels: Sequence[str]) -> _Corpus:
        """The chunks of the scopes and their BM25 index, rebuilt when a registry changes."""
        fingerprint = tuple((label, self._fingerprint(label)) for label in labels)
        with self._lock:
            cached = self._corpora.get(fingerprint)
        if cached is not None:
            return cached
        chunks = [item for label in labels for item in self._list((CHUNKS_NAMESPACE, label))]
        chunks.sort(key=lambda i: (i.namespace, i.key))
        index = BM25Index(
            [f"{i.value.get('title', '')}\n{i.value.get('text', '')}" for i in chunks]
        )
        with self._lock:
            if len(self._corpora) >= 16:
                self._corpora.clear()
            self._corpora[fingerprint] = (chunks, index)
        return chunks, index

    def _lexical(self, query: str, labels: Sequence[str], depth: int) -> list[tuple[Item, float]]:
        chunks, index = self._corpus(labels)
        return [(chunks[doc], score) for doc, score in index.top(query, depth)]

    def _default_fusion_weights(self) -> tuple[float, float]:
        """`hybrid_weights` of the embedding vectors are ranked with; equal if unknown."""
        if self.vectors is not None:
            return hybrid_weights(embedding_identity(self.vectors.embeddings))
        identity = getattr(self.store, "embedding_identity", None)  # ChromaStore
        embeddings = getattr(self.store, "embeddings", None)  # InMemoryStore, ChromaStore
        if not isinstance(identity, str) and isinstance(embeddings, Embeddings):
            identity = embedding_identity(embeddings)
        return hybrid_weights(identity) if isinstance(identity, str) else (1.0, 1.0)

    def _similar_enough(self, score: float) -> bool:
        return self.min_similarity is None or score >= self.min_similarity

    def _vector(
        self, query: str, labels: Sequence[str], depth: int, *, required: bool
    ) -> list[tuple[Item, float]]:
        if self.vectors is not None:
            chunks, _ = self._corpus(labels)
            ranked = self.vectors.rank(query, chunks, depth)
            return [(i, s) for i, s in ranked if self._similar_enough(s)]
        hits: list[tuple[Item, float]] = []
        unscored = False
        for label in labels:
            for item in self.store.search((CHUNKS_NAMESPACE, label), query=query, limit=depth):
                if item.namespace != (CHUNKS_NAMESPACE, label):
                    continue
                if item.score is None:
                    unscored = True
                elif self._similar_enough(item.score):
                    hits.append((item, float(item.score)))
        if unscored and not hits and required:
            raise ValueError(
                "vector search needs a store with a vector index (or KnowledgeBase(..., "
                "embeddings_spec=...))"
            )
        hits.sort(key=lambda pair: (-pair[1], pair[0].namespace, pair[0].key))
        return hits[:depth]
