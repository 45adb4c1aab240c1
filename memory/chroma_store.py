"""A LangGraph `BaseStore` on Chroma: namespaced items, filters and semantic search.

Graphs get it the standard way (``builder.compile(store=store)``; nodes read
``runtime.store``), so it swaps with LangGraph's `InMemoryStore` or `PostgresStore`.

How namespaces map onto Chroma (one store = two collections, ``<name>`` defaults to
``langgraph-store``):

- ``<name>-items``: one record per item. Its id is ``"<ns joined by '.'>..<key>"`` (labels
  are non-empty and contain no ``.``, so the first ``..`` ends the namespace); its document is
  the value as JSON; its metadata holds the namespace's prefixes (``lg.ns.<k>`` = the first k
  labels joined by ``.``, so any namespace prefix is one equality filter), the timestamps,
  the item's index setting, and the value's scalar fields flattened as ``v.<path>`` so that
  filters run inside Chroma. Chroma wants a vector per record; items carry a 2-d placeholder
  derived from the id, never searched.
- ``<name>-vectors-<embedding identity>``: one record per embedded text (an item indexed on
  several fields, or on ``field[*]``, has several), cosine space, with the same namespace and
  value metadata plus ``lg.item``, the item's id. A query search asks this collection for
  nearest neighbours within the namespace prefix and filter, keeps each item's best match
  (max pooling) and reads the items. Each embedding gets its own collection, so switching
  embeddings never mixes vector spaces: the first open with a new embedding re-embeds every
  item.

Semantics follow LangGraph's stores (Postgres where they differ): reads in a batch see the
state before the batch's writes; the last write to a key in a batch wins; ``put`` keeps
``created_at`` and moves ``updated_at``; a search without a query returns the most recently
updated first (score None); a query search returns only items that have vectors, best first,
with ``score`` = cosine similarity; an item put with ``index=False`` is listed and filtered
but never found by a query. Filters compare JSON values: ``$eq``, ``$ne``, ``$gt``, ``$gte``,
``$lt``, ``$lte`` (numbers numerically, strings lexicographically, booleans only equal to
booleans), nested dicts match as subsets, lists match exactly. Whatever part of a filter
Chroma can evaluate is pushed down; every result is checked again in Python.

Not supported: TTLs (``supports_ttl`` is False). Writes are not transactional: an item and
its vectors are separate Chroma writes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict
from urllib.parse import parse_qsl, urlsplit

from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from memory.embeddings import create_embeddings, embedding_identity

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_HNSW",
    "BROAD_RECHECK_S",
    "EXACT_SEARCH_MAX_VECTORS",
    "EXACT_SEARCH_MIN_VECTORS",
    "DEFAULT_STORE_PATH",
    "STORE_URL_ENV",
    "ChromaIndexConfig",
    "ChromaStore",
    "chroma_client",
    "matches_filter",
    "open_store",
]

DEFAULT_COLLECTION = "langgraph-store"
MAX_FLATTEN_DEPTH = 4
"""Nested value fields deeper than this are not copied into Chroma metadata."""
MAX_METADATA_STRING = 1024
"""Longer strings are not copied into metadata (filters on them run in Python)."""

EXACT_SEARCH_MAX_VECTORS = 2000
"""A query within a namespace prefix holding at most this many vectors (and under half of
all vectors, or at most `EXACT_SEARCH_MIN_VECTORS`) is ranked exactly."""
EXACT_SEARCH_MIN_VECTORS = 256
"""A query within a namespace prefix holding at most this many vectors is ranked exactly,
from one read of their embeddings."""
BROAD_RECHECK_S = 60.0
"""How long a store remembers that a prefix or filter matched too many vectors to rank."""
DEFAULT_HNSW: dict[str, Any] = {"ef_construction": 200, "ef_search": 200}
"""HNSW settings of new vector collections (Chroma's are 100 and 100; see the benchmark)."""

_NS = "lg.ns"
_CREATED = "lg.created_at"
_UPDATED = "lg.updated_at"
_INDEX = "lg.index"
_ITEM = "lg.item"
_VALUE = "v."
_SYNCED = "lg.synced"
_RANGE_OPERATORS = ("$gt", "$gte", "$lt", "$lte")
_COLLECTION_NAME = re.compile(r"[^a-zA-Z0-9._-]+")
_INT64 = 2**63


class ChromaIndexConfig(TypedDict, total=False):
    """Semantic-search settings of a `ChromaStore` (LangGraph's ``IndexConfig`` shape).

    Attributes:
        embed: an embeddings spec (``"chroma-default"``, ``"hash"``, ``"openai:<model>"``,
            see `memory.embeddings`), a LangChain `Embeddings`, or an embedding function.
        fields: JSON paths of the value to embed by default (``["$"]``, the whole value, if
            unset); a put's ``index=[...]`` overrides them for that item.
    """

    embed: Embeddings | str | Callable[[Sequence[str]], list[list[float]]]
    fields: list[str]


@dataclass(frozen=True)
class _Record:
    """One item as read from the items collection."""

    item_id: str
    namespace: tuple[str, ...]
    key: str
    metadata: dict[str, Any]
    document: str | None

    def item(self, score: float | None = None, *, search: bool = False) -> Item:
        value = json.loads(self.document) if self.document is not None else {}
        created = datetime.fromisoformat(str(self.metadata[_CREATED]))
        updated = datetime.fromisoformat(str(self.metadata[_UPDATED]))
        if search:
            return SearchItem(self.namespace, self.key, value, created, updated, score)
        return Item(
            value=value,
            key=self.key,
            namespace=self.namespace,
            created_at=created,
            updated_at=updated,
        )


class ChromaStore(BaseStore):
    """LangGraph's long-term memory interface on a Chroma client (local or server).

    See the module docs for the layout and semantics. Use `memory.open_store` to build one
    from a path or URL.

    Example:
        >>> import tempfile, chromadb
        >>> client = chromadb.PersistentClient(tempfile.mkdtemp())
        >>> store = ChromaStore(client, index={"embed": "hash", "fields": ["text"]})
        >>> store.put(("memories", "ana"), "tea", {"text": "Ana drinks green tea"})
        >>> store.put(("memories", "ana"), "mail", {"text": "Ana wants email, not calls"})
        >>> [hit.key for hit in store.search(("memories", "ana"), query="tea", limit=1)]
        ['tea']
    """

    supports_ttl: bool = False

    def __init__(
        self,
        client: Any,
        *,
        index: ChromaIndexConfig | Literal[False] | None = None,
        collection: str = DEFAULT_COLLECTION,
        hnsw: Mapping[str, Any] | None = None,
    ) -> None:
        """Open (creating if needed) the store's collections on `client`.

        Args:
            client: a ``chromadb`` client: ``PersistentClient``, ``HttpClient`` or
                ``EphemeralClient``.
            index: semantic-search settings; None uses the default embeddings spec
                (``MEMORY_EMBEDDINGS`` or ``chroma-default``, falling back to ``hash``) on the
                whole value; False stores no vectors (a query search then lists and filters).
            collection: prefix of the collection names; stores with different prefixes on one
                client are independent.
            hnsw: HNSW settings for a new vector collection (``ef_search``,
                ``ef_construction``, ``max_neighbors``), over `DEFAULT_HNSW`; cosine space
                always. Settings of an existing collection are kept.
        """
        self.client = client
        self.name = collection
        self._lock = threading.RLock()
        self._broad: dict[str, float] = {}  # where (as JSON) -> when it matched too many
        self.embeddings: Embeddings | None = None
        self.fields: list[str] = ["$"]
        if index is not False:
            config: ChromaIndexConfig = index or {}
            embed = config.get("embed")
            self.embeddings = (
                create_embeddings(embed if isinstance(embed, str) else None)
                if embed is None or isinstance(embed, str)
                else ensure_embeddings(embed)
            )
            self.fields = list(config.get("fields") or ["$"])
        self._default_paths = [(p, tokenize_path(p) if p != "$" else "$") for p in self.fields]
        self.items = client.get_or_create_collection(
            _collection_name(collection, "items"), embedding_function=None
        )
        self.vectors: Any = None
        if self.embeddings is not None:
            self.embedding_identity = embedding_identity(self.embeddings)
            self.vectors = client.get_or_create_collection(
                _collection_name(collection, "vectors", self.embedding_identity),
                embedding_function=None,
                configuration={"hnsw": {**DEFAULT_HNSW, **dict(hnsw or {}), "space": "cosine"}},
                metadata={"lg.embedding": self.embedding_identity},
            )
            if not (self.vectors.metadata or {}).get(_SYNCED):
                if self.items.count():
                    self.reindex()
                self.vectors.modify(metadata={**(self.vectors.metadata or {}), _SYNCED: True})

    def __repr__(self) -> str:
        embedding = getattr(self, "embedding_identity", "none")
        return f"ChromaStore(collection={self.name!r}, embedding={embedding!r})"

    # -- LangGraph's interface ------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations; reads see the state before this batch's writes.

        Args:
            ops: `GetOp`, `SearchOp`, `ListNamespacesOp` and `PutOp` (value None deletes).

        Returns:
            One result per operation, in order.
        """
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        gets: list[tuple[int, GetOp]] = []
        for position, op in enumerate(ops):
            validate_op_namespace(op)
            if isinstance(op, PutOp) and not op.namespace:
                raise InvalidNamespaceError("Namespace cannot be empty.")
            if isinstance(op, GetOp):
                gets.append((position, op))
            elif isinstance(op, SearchOp):
                results[position] = self._search(op)
            elif isinstance(op, ListNamespacesOp):
                results[position] = self._list_namespaces(op)
            elif isinstance(op, PutOp):
                puts[(op.namespace, op.key)] = op
            else:
                raise ValueError(f"Unknown operation type: {type(op).__name__}")
        if gets:
            records = self._read([_item_id(op.namespace, op.key) for _, op in gets])
            for position, op in gets:
                record = records.get(_item_id(op.namespace, op.key))
                results[position] = record.item() if record else None
        if puts:
            with self._lock:
                self._write(list(puts.values()))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """`batch` in a worker thread, so the event loop never blocks on Chroma."""
        return await asyncio.to_thread(self.batch, list(ops))

    # -- maintenance ----------------------------------------------------------------------------

    def reindex(self, page_size: int = 1000) -> int:
        """Re-embed every indexed item into this store's vector collection.

        Runs automatically the first time a store is opened with a new embedding.

        Returns:
            How many items were embedded.
        """
        if self.vectors is None:
            return 0
        done, offset = 0, 0
        while True:
            page = self.items.get(
                limit=page_size, offset=offset, include=["documents", "metadatas"]
            )
            ids = list(page["ids"])
            if not ids:
                return done
            records = [
                _record(i, m, d)
                for i, m, d in zip(ids, page["metadatas"], page["documents"], strict=True)
            ]
            with self._lock:
                self._replace_vectors(
                    [
                        (r, json.loads(r.document or "{}"), _stored_index(r.metadata))
                        for r in records
                    ],
                    existed=set(ids),
                )
            done += len(records)
            offset += len(ids)

    # -- reads ----------------------------------------------------------------------------------

    def _read(self, ids: Sequence[str], documents: bool = True) -> dict[str, _Record]:
        found: dict[str, _Record] = {}
        unique = list(dict.fromkeys(ids))
        include = ["documents", "metadatas"] if documents else ["metadatas"]
        for chunk in _chunks(unique, self._max_batch()):
            page = self.items.get(ids=chunk, include=include)
            docs = page["documents"] if documents else [None] * len(page["ids"])
            for item_id, metadata, document in zip(
                page["ids"], page["metadatas"], docs, strict=True
            ):
                found[item_id] = _record(item_id, metadata, document)
        return found

    def _search(self, op: SearchOp) -> list[SearchItem]:
        if op.limit <= 0:
            return []
        where = _where([*_prefix_clauses(op.namespace_prefix), *_filter_clauses(op.filter)])
        if op.query and self.vectors is not None and self.embeddings is not None:
            return self._vector_search(op, where, self.embeddings.embed_query(op.query))
        page = self.items.get(where=where, include=["metadatas"])
        records = [_record(i, m, None) for i, m in zip(page["ids"], page["metadatas"], strict=True)]
        records.sort(key=lambda r: (r.namespace, r.key))
        records.sort(key=lambda r: str(r.metadata[_UPDATED]), reverse=True)
        if op.filter:
            loaded = self._read([r.item_id for r in records])
            records = [loaded[r.item_id] for r in records if r.item_id in loaded]
            records = [
                r for r in records if matches_filter(json.loads(r.document or "{}"), op.filter)
            ]
            page_records = records[op.offset : op.offset + op.limit]
        else:
            wanted = records[op.offset : op.offset + op.limit]
            loaded = self._read([r.item_id for r in wanted])
            page_records = [loaded[r.item_id] for r in wanted if r.item_id in loaded]
        return [_as_search_item(r, None) for r in page_records]

    def _vector_search(
        self, op: SearchOp, where: dict[str, Any] | None, query: list[float]
    ) -> list[SearchItem]:
        """Nearest items: exact over a selective namespace, else HNSW (plain or filtered).

        A namespace prefix or filter is read with the filter itself, never by an unfiltered
        probe: the embeddings of up to `EXACT_SEARCH_MIN_VECTORS` matching vectors come in one
        read (one user's memories), and are ranked exactly with numpy: no neighbour is ever
        missed, and it is faster than Chroma's filtered HNSW query. More matches are counted
        (ids only, capped): at most `EXACT_SEARCH_MAX_VECTORS` and under half of the
        collection is still ranked exactly. Anything broader is remembered for
        `BROAD_RECHECK_S` seconds (not counted again) and served by Chroma's plain HNSW query
        checked in Python when most vectors match, else by its filtered HNSW query.
        """
        wanted = op.offset + op.limit
        if where is None or self._known_broad(where):
            return self._hnsw_search(op, where, query)
        small = min(EXACT_SEARCH_MIN_VECTORS, EXACT_SEARCH_MAX_VECTORS)
        page = self.vectors.get(where=where, include=["embeddings"], limit=small + 1)
        if len(page["ids"]) > small:
            count = self.vectors.get(where=where, include=[], limit=EXACT_SEARCH_MAX_VECTORS + 1)
            matching = list(count["ids"])
            if len(matching) > EXACT_SEARCH_MAX_VECTORS or 2 * len(matching) > (
                self.vectors.count()
            ):
                self._broad[_where_key(where)] = time.monotonic()
                return self._hnsw_search(op, where, query)
            page = self.vectors.get(ids=matching, include=["embeddings"])
        ranked = self._exact_search(page, query, op.filter, wanted)
        return [_as_search_item(r, s) for r, s in ranked[op.offset : wanted]]

    def _known_broad(self, where: dict[str, Any]) -> bool:
        """Whether `where` matched too many vectors for exact ranking, lately."""
        seen = self._broad.get(_where_key(where))
        return seen is not None and time.monotonic() - seen < BROAD_RECHECK_S

    def _exact_search(
        self,
        page: Mapping[str, Any],
        query: list[float],
        filter: Mapping[str, Any] | None,
        wanted: int,
    ) -> list[tuple[_Record, float]]:
        """Rank a page of vectors (ids, embeddings) exactly: best item first, filter applied.

        Reads the vectors' metadata (their item ids) best first, a chunk at a time, until
        `wanted` items pass the filter: an item's first vector seen is its best (max pooling),
        and every unseen vector scores lower, so the result is the exact top.
        """
        ids = list(page["ids"])
        scores = _cosine(page["embeddings"], query)
        order = sorted(range(len(ids)), key=lambda i: scores[i], reverse=True)
        scored: list[tuple[str, float]] = []
        ranked: list[tuple[_Record, float]] = []
        chunk = max(4 * wanted, 20)
        for start in range(0, len(order), chunk):
            best = [ids[i] for i in order[start : start + chunk]]
            metadata = self.vectors.get(ids=best, include=["metadatas"])
            item_of = {
                vector_id: str((m or {})[_ITEM])
                for vector_id, m in zip(metadata["ids"], metadata["metadatas"], strict=True)
            }
            scored.extend(
                (item_of[ids[i]], scores[i])
                for i in order[start : start + chunk]
                if ids[i] in item_of
            )
            ranked = self._rank(scored, filter, wanted)
            if len(ranked) >= wanted:
                break
        return ranked

    def _hnsw_search(
        self, op: SearchOp, where: dict[str, Any] | None, query: list[float]
    ) -> list[SearchItem]:
        """Chroma's plain HNSW query checked in Python, widened to its filtered query."""
        wanted = op.offset + op.limit
        total = self.vectors.count()
        if total == 0:
            return []
        prefix = op.namespace_prefix
        probe = min(max(4 * wanted, 40), total)
        hits = self.vectors.query(
            query_embeddings=[query], n_results=probe, include=["metadatas", "distances"]
        )
        scored = [
            (str(metadata[_ITEM]), 1.0 - float(distance))
            for metadata, distance in zip(hits["metadatas"][0], hits["distances"][0], strict=True)
            if not prefix or metadata.get(f"{_NS}.{len(prefix)}") == ".".join(prefix)
        ]
        ranked = self._rank(scored, op.filter, wanted)
        if len(ranked) >= wanted or probe >= total:  # enough, or every vector was seen
            return [_as_search_item(r, s) for r, s in ranked[op.offset : wanted]]
        n_results = min(max(2 * wanted, 10), total)
        while True:
            hits = self.vectors.query(
                query_embeddings=[query],
                n_results=n_results,
                where=where,
                include=["metadatas", "distances"],
            )
            scored = [
                (str(metadata[_ITEM]), 1.0 - float(distance))
                for metadata, distance in zip(
                    hits["metadatas"][0], hits["distances"][0], strict=True
                )
            ]
            ranked = self._rank(scored, op.filter, wanted)
            exhausted = len(hits["ids"][0]) < n_results or n_results >= total
            if len(ranked) >= wanted or exhausted:
                return [_as_search_item(r, s) for r, s in ranked[op.offset : wanted]]
            n_results = min(n_results * 4, total)

    def _rank(
        self, scored: Iterable[tuple[str, float]], filter: Mapping[str, Any] | None, wanted: int
    ) -> list[tuple[_Record, float]]:
        """Best score per item (max pooling), best first, with the filter applied.

        Reads only as many items as it takes to find `wanted` (all, when fewer match).
        """
        best: dict[str, float] = {}
        for item_id, score in sorted(scored, key=lambda pair: pair[1], reverse=True):
            best.setdefault(item_id, score)
        order = list(best)
        ranked: list[tuple[_Record, float]] = []
        chunk = max(wanted if not filter else 4 * wanted, 10)
        for start in range(0, len(order), chunk):
            records = self._read(order[start : start + chunk])
            ranked.extend(
                (records[item_id], best[item_id])
                for item_id in order[start : start + chunk]
                if item_id in records
                and (
                    not filter
                    or matches_filter(json.loads(records[item_id].document or "{}"), filter)
                )
            )
            if len(ranked) >= wanted:
                break
        return ranked

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions = list(op.match_conditions or ())
        exact_prefix: tuple[str, ...] = ()
        for condition in conditions:
            if condition.match_type == "prefix" and "*" not in condition.path:
                exact_prefix = max(exact_prefix, tuple(condition.path), key=len)
        page = self.items.get(where=_where(_prefix_clauses(exact_prefix)), include=[])
        namespaces = {_split_item_id(item_id)[0] for item_id in page["ids"]}
        matching = [ns for ns in namespaces if all(_matches(c, ns) for c in conditions)]
        if op.max_depth is not None:
            matching = list({ns[: op.max_depth] for ns in matching})
        return sorted(matching)[op.offset : op.offset + op.limit]

    # -- writes ---------------------------------------------------------------------------------

    def _write(self, puts: list[PutOp]) -> None:
        deletes = [_item_id(op.namespace, op.key) for op in puts if op.value is None]
        upserts = [op for op in puts if op.value is not None]
        existing = self._read([_item_id(op.namespace, op.key) for op in upserts], documents=False)
        now = _timestamp(datetime.now(UTC))
        ids, placeholders, documents, metadatas = [], [], [], []
        to_embed: list[tuple[_Record, dict[str, Any], Literal[False] | list[str] | None]] = []
        for op in upserts:
            item_id = _item_id(op.namespace, op.key)
            value = dict(op.value or {})
            before = existing.get(item_id)
            metadata: dict[str, Any] = {
                **_namespace_metadata(op.namespace),
                _CREATED: before.metadata[_CREATED] if before else now,
                _UPDATED: now,
                _INDEX: json.dumps(op.index),
                **_flatten(value),
            }
            if before:  # Chroma merges metadata on upsert: unset the fields that went away
                metadata.update({k: None for k in before.metadata if k not in metadata})
            ids.append(item_id)
            placeholders.append(_placeholder(item_id))
            documents.append(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
            metadatas.append(metadata)
            to_embed.append((_record(item_id, metadata, None), value, op.index))
        size = self._max_batch()
        if deletes:
            self._broad.clear()  # a broad namespace may now be small enough to rank exactly
            for chunk in _chunks(deletes, size):
                self.items.delete(ids=chunk)
        for start in range(0, len(ids), size):
            end = start + size
            self.items.upsert(
                ids=ids[start:end],
                embeddings=placeholders[start:end],
                documents=documents[start:end],
                metadatas=metadatas[start:end],
            )
        if self.vectors is not None:
            if deletes:
                self._delete_vectors(deletes)
            self._replace_vectors(to_embed, existed=set(existing))

    def _delete_vectors(self, item_ids: Sequence[str]) -> None:
        for chunk in _chunks(list(item_ids), 500):
            where = {_ITEM: chunk[0]} if len(chunk) == 1 else {_ITEM: {"$in": list(chunk)}}
            self.vectors.delete(where=where)

    def _replace_vectors(
        self,
        items: list[tuple[_Record, dict[str, Any], Literal[False] | list[str] | None]],
        existed: set[str],
    ) -> None:
        stale = [record.item_id for record, _, _ in items if record.item_id in existed]
        if stale:
            self._delete_vectors(stale)
        ids, texts, metadatas = [], [], []
        for record, value, index in items:
            if index is False:
                continue
            paths = self._default_paths if index is None else [(p, tokenize_path(p)) for p in index]
            shared = {
                k: v
                for k, v in record.metadata.items()
                if v is not None and (k.startswith(_VALUE) or k.startswith(_NS))
            }
            for path, tokens in paths:
                found = get_text_at_path(value, tokens)
                for position, text in enumerate(found):
                    name = f"{path}.{position}" if len(found) > 1 else path
                    ids.append(_digest(f"{record.item_id}\x00{name}"))
                    texts.append(text)
                    metadatas.append({**shared, _ITEM: record.item_id})
        if not ids:
            return
        assert self.embeddings is not None
        vectors = self.embeddings.embed_documents(texts)
        size = self._max_batch()
        for start in range(0, len(ids), size):
            end = start + size
            self.vectors.add(  # fresh ids: this item's old vectors were deleted above
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metadatas[start:end],
            )

    def _max_batch(self) -> int:
        try:
            return max(int(self.client.get_max_batch_size()), 1)
        except Exception:  # noqa: BLE001 - older or remote clients without the call
            return 1000


# -- ids, metadata and filters ---------------------------------------------------------------


def _collection_name(*parts: str) -> str:
    name = _COLLECTION_NAME.sub("-", "-".join(parts)).strip("._-")
    if len(name) > 500:
        name = f"{name[:400]}-{_digest(name)}"
    return name if len(name) >= 3 else f"{name}-store"


def _item_id(namespace: tuple[str, ...], key: str) -> str:
    return f"{'.'.join(namespace)}..{key}"


def _split_item_id(item_id: str) -> tuple[tuple[str, ...], str]:
    namespace, _, key = item_id.partition("..")
    return tuple(namespace.split(".")), key


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _placeholder(item_id: str) -> list[float]:
    angle = int(_digest(item_id)[:8], 16) / 0xFFFFFFFF * 2 * math.pi
    return [math.cos(angle), math.sin(angle)]


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _record(item_id: str, metadata: Mapping[str, Any] | None, document: str | None) -> _Record:
    namespace, key = _split_item_id(item_id)
    return _Record(item_id, namespace, key, dict(metadata or {}), document)


def _stored_index(metadata: Mapping[str, Any]) -> Literal[False] | list[str] | None:
    raw = metadata.get(_INDEX)
    index = json.loads(str(raw)) if raw is not None else None
    return index if index is False or isinstance(index, list) else None


def _cosine(embeddings: Any, query: list[float]) -> list[float]:
    """Cosine similarity of `query` with each of `embeddings` (numpy, exact)."""
    if embeddings is None or len(embeddings) == 0:
        return []
    import numpy as np

    matrix = np.asarray(embeddings, dtype=np.float64)
    vector = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(vector) or 1.0)
    scores = (matrix @ vector) / np.where(norms == 0, 1.0, norms)
    return [float(score) for score in scores]


def _where_key(where: Mapping[str, Any]) -> str:
    return json.dumps(where, sort_keys=True, default=str)


def _as_search_item(record: _Record, score: float | None) -> SearchItem:
    item = record.item(score, search=True)
    assert isinstance(item, SearchItem)
    return item


def _namespace_metadata(namespace: tuple[str, ...]) -> dict[str, Any]:
    """``lg.ns.<k>`` = the first k labels joined by ``.``, for k = 1 .. depth."""
    return {f"{_NS}.{k}": ".".join(namespace[:k]) for k in range(1, len(namespace) + 1)}


def _prefix_clauses(prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    """A namespace prefix is one equality: ``lg.ns.<len(prefix)>`` names it."""
    return [{f"{_NS}.{len(prefix)}": ".".join(prefix)}] if prefix else []


def _where(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _scalar(value: Any) -> bool:
    """Whether Chroma stores `value` as metadata exactly as JSON compares it."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= MAX_METADATA_STRING


def _flatten(value: Mapping[str, Any], path: str = "", depth: int = 1) -> dict[str, Any]:
    """Scalar leaves of a value as ``v.<a>.<b>`` metadata (keys without dots only)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or "." in key:
            continue
        name = f"{path}{key}"
        if isinstance(item, Mapping):
            if depth < MAX_FLATTEN_DEPTH:
                flat.update(_flatten(item, f"{name}.", depth + 1))
        elif item is not None and _scalar(item):
            flat[f"{_VALUE}{name}"] = item
    return flat


def _filter_clauses(
    filter: Mapping[str, Any] | None, path: str = "", depth: int = 1
) -> list[dict[str, Any]]:
    """The part of a filter Chroma can evaluate exactly as `matches_filter` does.

    Every clause returned is implied by the filter, so pushing them down never drops a
    match; `matches_filter` then checks the rest.
    """
    clauses: list[dict[str, Any]] = []
    for key, expected in (filter or {}).items():
        if "." in key:
            continue
        name = f"{path}{key}"
        field = f"{_VALUE}{name}"
        if isinstance(expected, Mapping) and any(str(k).startswith("$") for k in expected):
            for operator, operand in expected.items():
                if operator in ("$eq", "$ne") and operand is not None and _scalar(operand):
                    clauses.append({field: {operator: operand}})
                elif (
                    operator in _RANGE_OPERATORS
                    and isinstance(operand, int | float)
                    and not isinstance(operand, bool)
                    and _scalar(operand)
                ):
                    clauses.append({field: {operator: operand}})
        elif isinstance(expected, Mapping):
            if depth < MAX_FLATTEN_DEPTH:
                clauses.extend(_filter_clauses(expected, f"{name}.", depth + 1))
        elif expected is not None and _scalar(expected):
            clauses.append({field: expected})
    return clauses


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return bool(left == right)


def _compare(actual: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return _json_equal(actual, operand)
    if operator == "$ne":
        return not _json_equal(actual, operand)
    if operator not in _RANGE_OPERATORS:
        raise ValueError(
            f"Unsupported filter operator {operator!r}: use $eq, $ne, $gt, $gte, $lt, $lte"
        )

    def number(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool)

    if not (number(actual) and number(operand)) and not (
        isinstance(actual, str) and isinstance(operand, str)
    ):
        return False
    if operator == "$gt":
        return bool(actual > operand)
    if operator == "$gte":
        return bool(actual >= operand)
    if operator == "$lt":
        return bool(actual < operand)
    return bool(actual <= operand)


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    """Whether an item's value satisfies a LangGraph store filter (JSON comparison rules).

    Example:
        >>> matches_filter({"kind": "fact", "score": 3}, {"kind": "fact", "score": {"$gte": 2}})
        True
        >>> matches_filter({"flag": True}, {"flag": 1})
        False
    """
    for key, expected in filter.items():
        actual = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(expected, Mapping) and any(str(k).startswith("$") for k in expected):
            if not all(_compare(actual, op, operand) for op, operand in expected.items()):
                return False
        elif isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches_filter(actual, expected):
                return False
        elif not _json_equal(actual, expected):
            return False
    return True


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if not path:
        return True
    if len(namespace) < len(path):
        return False
    labels = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p == "*" or p == label for p, label in zip(path, labels, strict=True))


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- opening a store from a path or URL ------------------------------------------------------

STORE_URL_ENV = "MEMORY_STORE_URL"
DEFAULT_STORE_PATH = ".agent-patterns/chroma"


def chroma_client(url_or_path: str | None = None) -> Any:
    """A Chroma client for a data directory or a server URL.

    Args:
        url_or_path: a directory (``PersistentClient``; ``file:`` URLs too), or a server as
            ``chroma+http://host:port``, ``chroma+https://...``, ``http://host:port`` or
            ``https://...`` (``HttpClient``; ``?tenant=...&database=...`` optional). Empty:
            ``MEMORY_STORE_URL``, else ``.agent-patterns/chroma``.

    Returns:
        The client, with Chroma's anonymous telemetry off.
    """
    import chromadb
    from chromadb.config import DEFAULT_DATABASE, DEFAULT_TENANT, Settings

    target = (url_or_path or os.environ.get(STORE_URL_ENV) or DEFAULT_STORE_PATH).strip()
    settings = Settings(anonymized_telemetry=False)
    parts = urlsplit(target)
    scheme = parts.scheme.removeprefix("chroma+")
    if scheme in ("http", "https"):
        options = dict(parse_qsl(parts.query))
        secure = scheme == "https"
        return chromadb.HttpClient(
            host=parts.hostname or "localhost",
            port=parts.port or (443 if secure else 8000),
            ssl=secure,
            settings=settings,
            tenant=options.get("tenant", DEFAULT_TENANT),
            database=options.get("database", DEFAULT_DATABASE),
        )
    if parts.scheme == "file":
        target = parts.path
    elif parts.scheme and len(parts.scheme) > 1:  # a one-letter scheme is a Windows drive
        raise ValueError(
            f"Unsupported memory store URL {target!r}: use a directory, "
            "chroma+http://host:port or http(s)://host:port"
        )
    # Absolute: Chroma caches one client per path string, so a relative path opened again
    # after a change of directory would silently reach the first directory's data.
    path = Path(target).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def open_store(
    url_or_path: str | None = None,
    *,
    index: ChromaIndexConfig | Literal[False] | None = None,
    collection: str = DEFAULT_COLLECTION,
    hnsw: Mapping[str, Any] | None = None,
) -> ChromaStore:
    """Open a `ChromaStore` on a data directory or a Chroma server.

    Args:
        url_or_path: where the data lives; see `chroma_client`.
        index: semantic-search settings (embeddings spec and fields); see `ChromaStore`.
        collection: collection-name prefix.
        hnsw: HNSW settings for a new vector collection.

    Returns:
        The store. Chroma clients need no closing; the data is on disk (or on the server)
        after every write.
    """
    return ChromaStore(chroma_client(url_or_path), index=index, collection=collection, hnsw=hnsw)
