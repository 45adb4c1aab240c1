"""Knowledge: documents ingested by scope into the store, searched with BM25, vectors or both.

- `KnowledgeBase`: ``ingest_text``, ``ingest_path`` (``.txt``, ``.md``, ``.html``, ``.pdf``
  with pypdf), ``forget``, ``sources`` and ``search`` (``hybrid``, ``lexical``, ``vector``).
- `Passage` (with its ``citation()``) and `IngestReport`: what it returns.
- Scopes: ``project``, ``team:<id>``, ``user:<id>``; `parse_scope`, `readable_scopes` (who
  reads what) and `check_writable` (who writes where).

See docs/knowledge.md.
"""

from memory.knowledge.base import (
    CHUNKS_NAMESPACE,
    SOURCES_NAMESPACE,
    KnowledgeBase,
    SearchMode,
)
from memory.knowledge.bm25 import BM25Index, tokenize
from memory.knowledge.chunking import document_title, split_into_chunks
from memory.knowledge.fusion import RRF_K, reciprocal_rank_fusion
from memory.knowledge.loaders import SUPPORTED_SUFFIXES, html_to_text, load_document
from memory.knowledge.passages import IngestReport, Passage, source_digest
from memory.knowledge.scopes import (
    PROJECT,
    Scope,
    check_writable,
    parse_scope,
    readable_scopes,
    scope_label,
)

__all__ = [
    "CHUNKS_NAMESPACE",
    "PROJECT",
    "RRF_K",
    "SOURCES_NAMESPACE",
    "SUPPORTED_SUFFIXES",
    "BM25Index",
    "IngestReport",
    "KnowledgeBase",
    "Passage",
    "Scope",
    "SearchMode",
    "check_writable",
    "document_title",
    "html_to_text",
    "load_document",
    "parse_scope",
    "readable_scopes",
    "reciprocal_rank_fusion",
    "scope_label",
    "source_digest",
    "split_into_chunks",
    "tokenize",
]
