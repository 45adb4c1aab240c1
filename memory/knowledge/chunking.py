"""Splitting a document into overlapping chunks along its paragraphs and headings.

A document is read as blocks: Markdown headings (``#`` to ``######``, one line each) and
paragraphs (separated by blank lines), packed in order into chunks of at most ``chunk_chars``
characters:

- a heading starts a new chunk (a section is not glued to the end of the previous one),
  unless the chunk so far holds only headings (a title followed by a section heading);
- a paragraph that fits in the current chunk joins it; one that does not, but fits in a chunk
  of its own, starts the next chunk; a longer one fills chunks sentence by sentence (a
  sentence longer than a chunk word by word, a word longer than a chunk is cut);
- when a chunk is full within a section, the next one starts with its last
  ``overlap_chars`` characters (cut at a word), so a passage split across two chunks is whole
  in at least one of them when it is shorter than the overlap.
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


def _units(block: str, limit: int) -> list[str]:
    """A long block's sentences; a sentence longer than `limit` as words (long words cut)."""
    units: list[str] = []
    for sentence in _SENTENCE_END.split(block):
        if len(sentence) <= limit:
            units.append(sentence)
            continue
        for word in sentence.split():
            units.extend(word[i : i + limit] for i in range(0, len(word), limit))
    return units


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
        self.limit = chunk_chars - overlap_chars - len(_SEPARATOR)  # fits after a tail
        self.chunks: list[str] = []
        self.text = ""
        self.new = False  # text holds more than the previous chunk's tail
        self.body = False  # text holds more than headings

    def fits(self, joiner: str, unit: str) -> bool:
        return len(self.text) + (len(joiner) if self.text else 0) + len(unit) <= self.chunk_chars

    def append(self, joiner: str, unit: str, heading: bool) -> None:
        self.text = f"{self.text}{joiner}{unit}" if self.text else unit
        self.new = True
        self.body = self.body or not heading

    def flush(self, *, overlap: bool) -> None:
        text = self.text.strip()
        if self.new and text:
            self.chunks.append(text)
        self.text = _tail(text, self.overlap_chars) if overlap and self.new else ""
        self.new = self.body = False

    def add(self, block: str, heading: bool) -> None:
        """Add a block: whole when it fits, else in a fresh chunk, else sentence by sentence."""
        if heading and self.body:
            self.flush(overlap=False)
        if self.fits(_SEPARATOR, block):
            self.append(_SEPARATOR, block, heading)
            return
        if len(block) <= self.limit:
            self.flush(overlap=True)
            self.append(_SEPARATOR, block, heading)
            return
        joiner = _SEPARATOR
        for unit in _units(block, self.limit):
            if not self.fits(joiner, unit):
                self.flush(overlap=True)
            self.append(joiner, unit, heading)
            joiner = " "


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
