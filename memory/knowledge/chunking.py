"""Splitting a document into overlapping chunks along its paragraphs and headings.

A document is read as blocks: Markdown headings (``#`` to ``######``, one line each) and
paragraphs (separated by blank lines). Blocks are packed in order into chunks of at most
``chunk_chars`` characters. A heading starts a new chunk (a section is not glued to the end of
the previous one) unless the chunk so far holds only headings. When a chunk is full within a
section, the next one starts with the last ``overlap_chars`` characters of it (cut at a word
boundary), so a sentence split across two chunks is whole in at least one of them. A paragraph
longer than a chunk is split at sentence ends, a sentence longer than a chunk at spaces, a
word longer than a chunk anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["document_title", "split_into_chunks"]

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_SEPARATOR = "\n\n"
MIN_CHUNK_CHARS = 40


def document_title(text: str, fallback: str) -> str:
    r"""The text of the first Markdown heading in `text`, else `fallback`.

    Example:
        >>> document_title("intro\n\n## Rate limits\n\n1000 per minute", "api.md")
        'Rate limits'
    """
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            return match.group(2).strip()
    return fallback


def _blocks(text: str) -> Iterator[tuple[str, bool]]:
    """The document's blocks in order: (text, is a heading)."""
    paragraph: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _HEADING.match(line)
        if heading or not line.strip():
            if paragraph:
                yield "\n".join(paragraph), False
                paragraph = []
            if heading:
                yield line.strip(), True
            continue
        paragraph.append(line.rstrip())
    if paragraph:
        yield "\n".join(paragraph), False


def _pack(parts: list[str], limit: int, joiner: str) -> list[str]:
    """Greedily join consecutive parts while the result stays within `limit`."""
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + len(joiner) + len(part) <= limit:
            packed[-1] += joiner + part
        else:
            packed.append(part)
    return packed


def _pieces(block: str, limit: int) -> list[str]:
    """`block` cut into pieces of at most `limit` characters (sentences, words, letters)."""
    if len(block) <= limit:
        return [block]
    units: list[str] = []
    for sentence in _SENTENCE_END.split(block):
        if len(sentence) <= limit:
            units.append(sentence)
            continue
        for word in sentence.split():
            units.extend(word[i : i + limit] for i in range(0, len(word), limit))
    return _pack(units, limit, " ")


def _tail(text: str, size: int) -> str:
    """At most the last `size` characters of `text`, starting at a word."""
    if size <= 0 or not text:
        return ""
    if len(text) <= size:
        return text
    tail = text[-size:]
    if not text[-size - 1].isspace():
        _, _, tail = tail.partition(" ")
    return tail.strip()


class _Packer:
    """Accumulates blocks into chunks (see the module docs for the rules)."""

    def __init__(self, chunk_chars: int, overlap_chars: int) -> None:
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        self.chunks: list[str] = []
        self.parts: list[str] = []
        self.new = False  # parts hold more than the previous chunk's tail
        self.body = False  # parts hold more than headings

    def size_with(self, piece: str) -> int:
        return len(_SEPARATOR.join([*self.parts, piece]))

    def flush(self, *, overlap: bool) -> None:
        text = _SEPARATOR.join(self.parts).strip()
        if self.new and text:
            self.chunks.append(text)
        tail = _tail(text, self.overlap_chars) if overlap and self.new else ""
        self.parts = [tail] if tail else []
        self.new = self.body = False

    def add(self, block: str, heading: bool) -> None:
        if heading and self.body:
            self.flush(overlap=False)
        limit = self.chunk_chars - self.overlap_chars - len(_SEPARATOR)
        for piece in _pieces(block, limit):
            if self.parts and self.size_with(piece) > self.chunk_chars:
                self.flush(overlap=not heading)
                if self.parts and self.size_with(piece) > self.chunk_chars:
                    self.parts = []
            self.parts.append(piece)
            self.new = True
            self.body = self.body or not heading


def split_into_chunks(text: str, *, chunk_chars: int = 800, overlap_chars: int = 120) -> list[str]:
    r"""Cut a document into chunks of at most `chunk_chars` characters (see the module docs).

    Args:
        text: the document's text (Markdown headings are recognised).
        chunk_chars: the largest chunk, at least `MIN_CHUNK_CHARS`.
        overlap_chars: how much of a chunk the next one repeats when a section continues;
            under half of `chunk_chars`.

    Returns:
        The chunks in document order; none for a blank document.

    Raises:
        ValueError: sizes out of range.

    Example:
        >>> text = "# Limits\n\nOne.\n\n## Keys\n\nTwo."
        >>> split_into_chunks(text, chunk_chars=60, overlap_chars=10)
        ['# Limits\n\nOne.', '## Keys\n\nTwo.']
    """
    if chunk_chars < MIN_CHUNK_CHARS:
        raise ValueError(f"chunk_chars must be at least {MIN_CHUNK_CHARS}, got {chunk_chars}")
    if not 0 <= overlap_chars < chunk_chars // 2:
        raise ValueError(
            f"overlap_chars must be at least 0 and under half of chunk_chars, got {overlap_chars}"
        )
    packer = _Packer(chunk_chars, overlap_chars)
    for block, heading in _blocks(text):
        packer.add(block, heading)
    packer.flush(overlap=False)
    return packer.chunks
