"""Chunking (sizes, overlap, headings, titles) and loading .txt, .md, .html and .pdf files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memory.knowledge import document_title, html_to_text, load_document, split_into_chunks
from memory.knowledge.loaders import discover_documents, pdf_supported

WORDS = "refund kettle order parcel invoice courier warranty voucher".split()


def _paragraph(seed: int, words: int) -> str:
    return " ".join(f"{WORDS[(seed * 7 + i) % len(WORDS)]}{seed}x{i}" for i in range(words)) + "."


def test_chunks_stay_within_size_and_overlap_inside_a_section() -> None:
    text = "# Handbook\n\n" + "\n\n".join(_paragraph(n, 15 + 9 * n) for n in range(8))
    chunks = split_into_chunks(text, chunk_chars=300, overlap_chars=60)
    assert len(chunks) > 3
    assert all(len(chunk) <= 300 for chunk in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        tails = [before[-size:] for size in range(20, 61)]
        assert any(after.startswith(tail) for tail in tails), "starts with the previous tail"
    words = set(re.findall(r"\w+", text))
    assert words == set(re.findall(r"\w+", " ".join(chunks))), "no word lost"


def test_without_overlap_chunks_do_not_repeat() -> None:
    text = "\n\n".join(_paragraph(n, 30) for n in range(6))
    chunks = split_into_chunks(text, chunk_chars=400, overlap_chars=0)
    joined = [w for chunk in chunks for w in chunk.split()]
    assert joined == text.split()


def test_a_heading_starts_a_new_chunk_without_overlap() -> None:
    text = (
        "# Guide\n\n## Limits\n\nThe limit is 1000 per minute.\n\n## Keys\n\nKeys rotate monthly."
    )
    chunks = split_into_chunks(text, chunk_chars=500, overlap_chars=100)
    assert chunks == [
        "# Guide\n\n## Limits\n\nThe limit is 1000 per minute.",
        "## Keys\n\nKeys rotate monthly.",
    ]


def test_long_paragraphs_and_words_are_cut() -> None:
    sentence = "Refunds are paid within five business days after the parcel arrives. "
    chunks = split_into_chunks(sentence * 20 + "x" * 250, chunk_chars=120, overlap_chars=20)
    assert all(len(chunk) <= 120 for chunk in chunks)
    assert "x" * 50 in chunks[-1]
    assert split_into_chunks("  \n\n ", chunk_chars=100, overlap_chars=10) == []


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="chunk_chars"):
        split_into_chunks("text", chunk_chars=10)
    with pytest.raises(ValueError, match="overlap_chars"):
        split_into_chunks("text", chunk_chars=100, overlap_chars=50)


def test_document_title_is_the_first_heading() -> None:
    assert document_title("intro\n\n### Rate limits ###\n\n# Later", "x.md") == "Rate limits"
    assert document_title("no heading here", "notes.txt") == "notes.txt"


def test_html_text_drops_scripts_styles_and_head() -> None:
    page = (
        "<html><head><title> Refund\n policy </title><style>p {color: red}</style>"
        "<meta name='x' content='hidden'></head><body><nav>Home</nav><h1>Refunds</h1>"
        "<p>Paid within <b>5</b> days.</p><script>var secret = 1;</script>"
        "<ul><li>Keep the receipt</li><li>Use the form</li></ul><noscript>js</noscript>"
        "<p>&amp; that&#39;s it</p></body></html>"
    )
    text, title = html_to_text(page)
    assert title == "Refund policy"
    assert text == (
        "Home\n\n# Refunds\n\nPaid within 5 days.\n\nKeep the receipt\n\nUse the form\n\n"
        "& that's it"
    )
    assert html_to_text("<h2>Only a heading</h2>") == ("## Only a heading", "Only a heading")


def test_files_load_with_their_titles(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("# not a title in text\nplain", encoding="utf-8")
    (tmp_path / "guide.md").write_text("\ufeffIntro\n\n# Guide\n\nBody", encoding="utf-8")
    (tmp_path / "page.htm").write_text("<h1>Page</h1><p>Body</p>", encoding="utf-8")
    assert load_document(tmp_path / "notes.txt").title == "notes.txt"
    guide = load_document(tmp_path / "guide.md")
    assert (guide.title, guide.text.startswith("Intro")) == ("Guide", True)
    page = load_document(tmp_path / "page.htm")
    assert (page.title, page.text) == ("Page", "# Page\n\nBody")
    (tmp_path / "data.csv").write_text("a,b", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot ingest"):
        load_document(tmp_path / "data.csv")


def test_directories_are_walked_in_order_skipping_hidden_and_unsupported(tmp_path: Path) -> None:
    for name in ("b.md", "a.txt", "sub/c.html", ".hidden/d.md", "sub/.e.md", "f.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_documents(tmp_path)]
    assert found == ["a.txt", "b.md", "sub/c.html"]
    with pytest.raises(FileNotFoundError):
        discover_documents(tmp_path / "missing")


def tiny_pdf(text: str, title: str) -> bytes:
    """A one-page PDF with `text` in Helvetica and `title` in its metadata, written by hand."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (" + title.encode() + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


@pytest.mark.skipif(not pdf_supported(), reason="pypdf is not installed")
def test_pdf_text_and_title(tmp_path: Path) -> None:
    path = tmp_path / "warranty.pdf"
    path.write_bytes(tiny_pdf("Warranty claims need the order number.", "Warranty terms"))
    document = load_document(path)
    assert document.text == "Warranty claims need the order number."
    assert document.title == "Warranty terms"
