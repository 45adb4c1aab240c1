"""What the knowledge base returns: retrieved passages (with their citation) and ingest reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["IngestReport", "Passage", "source_digest"]


def source_digest(source: str) -> str:
    """The stable key of a source (16 hex digits of its SHA-256): chunk ids start with it.

    Example:
        >>> source_digest("docs/api.md")
        '9eddf4dc51bf6a01'
    """
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of a document.

    Attributes:
        text: the chunk's text.
        title: the document's title.
        source: the document's source (a path as given, or the name given to the text).
        position: the chunk's place in the document (0 is the first chunk).
        scope: the scope it was read from (``project``, ``team:<id>``, ``user:<id>``).
        score: its score in the ranking that returned it (BM25 points, cosine similarity or
            the fused reciprocal-rank score); comparable only within one search.
        chunk_id: ``"<source digest>:<position>"``, stable across re-ingestion of the same
            source.
    """

    text: str
    title: str
    source: str
    position: int
    scope: str
    score: float
    chunk_id: str

    def citation(self) -> str:
        """How an answer cites this passage: ``[<source>#<position>]``.

        Example:
            >>> Passage("1000/min", "API", "docs/api.md", 2, "project", 1.0, "x:2").citation()
            '[docs/api.md#2]'
        """
        return f"[{self.source}#{self.position}]"

    @classmethod
    def from_value(cls, key: str, value: dict[str, Any], score: float) -> Passage:
        """A passage from a stored chunk's key and value."""
        return cls(
            text=str(value.get("text", "")),
            title=str(value.get("title", "")),
            source=str(value.get("source", "")),
            position=int(value.get("position", 0)),
            scope=str(value.get("scope", "")),
            score=float(score),
            chunk_id=key,
        )


@dataclass(frozen=True)
class IngestReport:
    """What ingesting one document did.

    Attributes:
        source: the document's source.
        scope: where it was stored.
        status: ``added`` (new source), ``replaced`` (changed: old chunks deleted) or
            ``skipped`` (same content already stored).
        chunks: how many chunks the source has now.
    """

    source: str
    scope: str
    status: Literal["added", "replaced", "skipped"]
    chunks: int
