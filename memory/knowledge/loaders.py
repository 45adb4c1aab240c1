"""Reading documents from files: text, Markdown, HTML and (with pypdf) PDF.

- ``.txt``: the text as it is; its title is the file name.
- ``.md`` / ``.markdown``: the text as it is; its title is the first heading, else the file
  name.
- ``.html`` / ``.htm``: text extracted with the standard library's `html.parser`: scripts,
  styles, templates and the head (but its ``<title>``) are dropped, block elements become
  paragraphs, ``<h1>``..``<h6>`` become Markdown headings (so chunks follow the sections);
  the title is ``<title>``, else the first heading, else the file name.
- ``.pdf``: the text of each page (pypdf's ``extract_text``), pages separated by blank lines;
  the title is the document's metadata title, else the file name. Scanned pages without a
  text layer give no text (no OCR).

Files are read as UTF-8 (a byte-order mark is dropped, undecodable bytes replaced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from memory.knowledge.chunking import document_title

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadedDocument",
    "discover_documents",
    "html_to_text",
    "load_document",
    "pdf_supported",
]

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


def pdf_supported() -> bool:
    """Whether pypdf is installed (PDF ingestion needs it)."""
    try:
        import pypdf  # noqa: F401
    except ImportError:
        return False
    return True


SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".pdf") if pdf_supported() else TEXT_SUFFIXES


@dataclass(frozen=True)
class LoadedDocument:
    """A document's text and title, ready to chunk."""

    text: str
    title: str


_DROPPED = frozenset({"script", "style", "noscript", "template", "head", "svg", "iframe"})
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form "
    "header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


class _TextExtractor(HTMLParser):
    """Collects an HTML page's visible text, its title and its headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.first_heading = ""
        self._dropped = 0  # depth inside elements whose text is not content
        self._in_title = False
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _DROPPED:
            self._dropped += 1
        elif tag in _HEADINGS and not self._dropped:
            self.parts.append("\n\n")
            self._heading = []
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _DROPPED:
            self._dropped = max(0, self._dropped - 1)
        elif tag in _HEADINGS and self._heading is not None:
            text = " ".join("".join(self._heading).split())
            if text:
                self.parts.append(f"{'#' * _HEADINGS[tag]} {text}\n\n")
                self.first_heading = self.first_heading or text
            self._heading = None
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._dropped:
            return
        elif self._heading is not None:
            self._heading.append(data)
        else:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    r"""The visible text of an HTML page (headings as Markdown) and its title ("" if none).

    Example:
        >>> html_to_text("<title>Limits</title><script>x()</script><h2>API</h2><p>1000/min</p>")
        ('## API\n\n1000/min', 'Limits')
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    paragraphs = []
    for block in re.split(r"\n\s*\n", "".join(parser.parts)):
        lines = [_SPACES.sub(" ", line).strip() for line in block.splitlines()]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    title = " ".join(parser.title.split()) or parser.first_heading
    return "\n\n".join(paragraphs), title


def _load_pdf(path: Path) -> LoadedDocument:
    from pypdf import PdfReader

    reader = PdfReader(path)
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    metadata = reader.metadata
    title = str(metadata.title).strip() if metadata is not None and metadata.title else ""
    return LoadedDocument("\n\n".join(p for p in pages if p), title or path.name)


def load_document(path: Path) -> LoadedDocument:
    """Read one file into text and a title (see the module docs per format).

    Raises:
        ValueError: a file type that is not supported.
        OSError: the file cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        extra = "" if pdf_supported() else " (install pypdf for .pdf)"
        raise ValueError(
            f"cannot ingest {str(path)!r}: supported files are "
            f"{', '.join(SUPPORTED_SUFFIXES)}{extra}"
        )
    if suffix == ".pdf":
        return _load_pdf(path)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if suffix in (".html", ".htm"):
        body, title = html_to_text(text)
        return LoadedDocument(body, title or path.name)
    if suffix == ".txt":
        return LoadedDocument(text, path.name)
    return LoadedDocument(text, document_title(text, path.name))


def discover_documents(path: Path) -> list[Path]:
    """The files to ingest under `path`: itself if a file, else its supported files.

    A directory is walked recursively in name order; hidden files and folders (a name
    starting with ``.``) and unsupported types are skipped. Paths keep the form given
    (a relative path stays relative).

    Raises:
        FileNotFoundError: `path` does not exist.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or directory: {str(path)!r}")
    found = []
    for candidate in sorted(path.rglob("*")):
        relative = candidate.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if candidate.is_file() and candidate.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(candidate)
    return found
