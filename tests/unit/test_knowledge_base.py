"""KnowledgeBase: ingestion, replace or skip, forget, sources, scopes and search modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.store.memory import InMemoryStore

from memory import HashEmbeddings, open_store
from memory.knowledge import (
    CHUNKS_NAMESPACE,
    SOURCES_NAMESPACE,
    KnowledgeBase,
    Passage,
    readable_scopes,
    source_digest,
)
from tests.unit.test_knowledge_chunking import tiny_pdf

API = "# API\n\nThe rate limit is 1000 requests per minute per project."
REFUNDS = "# Refunds\n\nRefunds are paid within five business days of the return."


def hash_store() -> InMemoryStore:
    return InMemoryStore(index={"dims": 512, "embed": HashEmbeddings(), "fields": ["text"]})


@pytest.fixture
def kb() -> KnowledgeBase:
    return KnowledgeBase(hash_store(), chunk_chars=200, overlap_chars=40)


def _long_document(paragraphs: int, word: str) -> str:
    return "\n\n".join(f"{word} paragraph {n} " + "filler " * 12 for n in range(paragraphs))


def test_ingested_chunks_carry_their_metadata(kb: KnowledgeBase) -> None:
    report = kb.ingest_text(API, source="docs/api.md", title=None, scope="team:ops", actor="ana")
    assert (report.status, report.chunks, report.scope) == ("added", 1, "team:ops")
    [item] = kb.store.search((CHUNKS_NAMESPACE, "team:ops"))
    assert item.key == f"{source_digest('docs/api.md')}:0"
    assert item.value["title"] == "API"
    assert item.value["source"] == "docs/api.md"
    assert item.value["position"] == 0
    assert item.value["scope"] == "team:ops"
    assert item.value["ingested_by"] == "ana"
    assert len(item.value["content_hash"]) == len(item.value["chunk_hash"]) == 64
    [entry] = kb.sources(["team:ops"])
    assert entry["chunks"] == 1 and entry["title"] == "API" and entry["scope"] == "team:ops"


def test_changed_document_replaces_its_chunks_and_unchanged_is_skipped(kb: KnowledgeBase) -> None:
    first = kb.ingest_text(_long_document(6, "old"), source="guide", title="G", scope="project")
    assert first.status == "added" and first.chunks > 3
    again = kb.ingest_text(_long_document(6, "old"), source="guide", title="G", scope="project")
    assert (again.status, again.chunks) == ("skipped", first.chunks)
    shorter = kb.ingest_text(_long_document(2, "new"), source="guide", title="G", scope="project")
    assert shorter.status == "replaced" and shorter.chunks < first.chunks
    items = kb.store.search((CHUNKS_NAMESPACE, "project"), limit=100)
    assert len(items) == shorter.chunks, "old chunks beyond the new count are deleted"
    assert all("old" not in item.value["text"] for item in items)
    assert not kb.search("old", scopes=["project"], mode="lexical")
    assert kb.sources(["project"])[0]["chunks"] == shorter.chunks


def test_other_chunking_reingests(kb: KnowledgeBase) -> None:
    kb.ingest_text(_long_document(4, "x"), source="guide", title=None, scope="project")
    wider = KnowledgeBase(kb.store, chunk_chars=2000, overlap_chars=40)
    report = wider.ingest_text(_long_document(4, "x"), source="guide", title=None, scope="project")
    assert (report.status, report.chunks) == ("replaced", 1)


def test_forget_in_one_scope_or_everywhere(kb: KnowledgeBase) -> None:
    for scope in ("project", "team:ops", "user:bob"):
        kb.ingest_text(_long_document(3, "x"), source="faq.md", title=None, scope=scope)
    kb.ingest_text(API, source="api.md", title=None, scope="project")
    per_scope = kb.sources(["project"])[1]["chunks"]
    assert kb.forget("faq.md", scope="user:bob") == per_scope
    assert [s["scope"] for s in kb.sources(["user:bob"])] == []
    assert kb.forget("faq.md") == 2 * per_scope
    assert kb.forget("faq.md") == 0
    assert [s["source"] for s in kb.sources(readable_scopes("bob", ["ops"]))] == ["api.md"]
    assert all(p.source == "api.md" for p in kb.search("paragraph x", scopes=["project"]))
    assert kb.scopes() == ["project", "team:ops", "user:bob"]


def test_search_reads_only_the_scopes_given(kb: KnowledgeBase) -> None:
    kb.ingest_text("Bob's kettle is blue.", source="bob.txt", title=None, scope="user:bob")
    kb.ingest_text("Alice's kettle is red.", source="alice.txt", title=None, scope="user:alice")
    kb.ingest_text("Kettles ship in two days.", source="ship.txt", title=None, scope="project")
    kb.ingest_text("Ops kettle notes.", source="ops.txt", title=None, scope="team:ops")
    alice = readable_scopes("alice", ["ops"])
    for mode in ("hybrid", "lexical", "vector"):
        hits = kb.search("bob kettle blue", scopes=alice, k=10, mode=mode)
        assert {p.source for p in hits} <= {"alice.txt", "ship.txt", "ops.txt"}, mode
        assert {p.scope for p in hits} <= set(alice)
    bob = kb.search("bob kettle blue", scopes=readable_scopes("bob", []), k=1)
    assert [(p.source, p.scope) for p in bob] == [("bob.txt", "user:bob")]


def test_user_ids_with_dots_get_escaped_namespaces(kb: KnowledgeBase) -> None:
    kb.ingest_text("Dotted user note.", source="n.txt", title=None, scope="user:ana.b@x.com")
    assert kb.store.search((CHUNKS_NAMESPACE, "user:ana%2Eb@x%2Ecom"))
    assert kb.scopes() == ["user:ana.b@x.com"]
    [hit] = kb.search("dotted note", scopes=["user:ana.b@x.com"])
    assert hit.scope == "user:ana.b@x.com"


def test_passages_cite_source_and_position(kb: KnowledgeBase) -> None:
    text = "# Limits\n\n" + "\n\n".join(f"Rule {n}: " + "words " * 30 for n in range(4))
    text += "\n\n## Quotas\n\nThe quota of invoices is 42 per day."
    kb.ingest_text(text, source="docs/limits.md", title=None, scope="project")
    [best] = kb.search("invoices quota per day", scopes=["project"], k=1)
    assert isinstance(best, Passage)
    assert best.title == "Limits" and best.source == "docs/limits.md"
    assert best.position > 0 and best.citation() == f"[docs/limits.md#{best.position}]"
    assert best.chunk_id == f"{source_digest('docs/limits.md')}:{best.position}"


def test_modes_and_fusion(kb: KnowledgeBase) -> None:
    kb.ingest_text(API, source="api.md", title=None, scope="project")
    kb.ingest_text(REFUNDS, source="refunds.md", title=None, scope="project")
    kb.ingest_text(
        "Shipping is free above 50 euros.", source="ship.md", title=None, scope="project"
    )
    lexical = kb.search("refunds paid", scopes=["project"], mode="lexical")
    assert [p.source for p in lexical] == ["refunds.md"], "BM25 returns only sharing chunks"
    vector = kb.search("refunds paid", scopes=["project"], mode="vector")
    assert vector[0].source == "refunds.md" and len(vector) == 3
    assert vector[0].score > vector[1].score
    hybrid = kb.search("refunds paid", scopes=["project"], k=2)
    assert [p.source for p in hybrid][0] == "refunds.md" and len(hybrid) == 2
    assert kb.fusion_weights == (0.85, 0.15), "BM25 leads hash vectors"
    assert hybrid[0].score == pytest.approx(1 / 61), "first in both lists: (0.85 + 0.15) / 61"
    equal = KnowledgeBase(kb.store, chunk_chars=200, overlap_chars=40, fusion_weights=(1, 1))
    first = equal.search("refunds paid", scopes=["project"], k=1)[0]
    assert (first.source, first.score) == ("refunds.md", pytest.approx(2 / 61))
    assert kb.search("   ", scopes=["project"]) == []
    assert kb.search("refunds", scopes=[], k=3) == []
    with pytest.raises(ValueError, match="mode"):
        kb.search("refunds", scopes=["project"], mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scope"):
        kb.search("refunds", scopes=["everyone"])


def test_min_similarity_drops_unrelated_vector_hits() -> None:
    kb = KnowledgeBase(hash_store(), min_similarity=0.2)
    kb.ingest_text(API, source="api.md", title=None, scope="project")
    kb.ingest_text(REFUNDS, source="refunds.md", title=None, scope="project")
    assert [p.source for p in kb.search("refunds paid", scopes=["project"], mode="vector")] == [
        "refunds.md"
    ]
    assert kb.search("zebra crossing", scopes=["project"]) == []


def test_own_embedding_ranks_without_a_store_index() -> None:
    store = InMemoryStore()  # no vector index at all
    plain = KnowledgeBase(store)
    plain.ingest_text(API, source="api.md", title=None, scope="project")
    plain.ingest_text(REFUNDS, source="refunds.md", title=None, scope="project")
    with pytest.raises(ValueError, match="vector index"):
        plain.search("refund", scopes=["project"], mode="vector")
    assert plain.search("refunds", scopes=["project"])[0].source == "refunds.md"  # lexical only
    own = KnowledgeBase(store, embeddings_spec="hash")
    hits = own.search("refunded returns", scopes=["project"], mode="vector")
    assert [p.source for p in hits] == ["refunds.md", "api.md"]
    assert hits[0].score > hits[1].score > -1


def test_ingest_path_keeps_relative_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("docs/sub").mkdir(parents=True)
    Path("docs/api.md").write_text(API, encoding="utf-8")
    Path("docs/sub/refunds.html").write_text(
        "<title>Refund policy</title><p>Refunds are paid in five days.</p>", encoding="utf-8"
    )
    Path("docs/warranty.pdf").write_bytes(tiny_pdf("Warranty claims need an order.", "Warranty"))
    reports = kb.ingest_path(Path("docs"), scope="project")
    assert [(r.source, r.status) for r in reports] == [
        ("docs/api.md", "added"),
        ("docs/sub/refunds.html", "added"),
        ("docs/warranty.pdf", "added"),
    ]
    titles = {s["source"]: s["title"] for s in kb.sources(["project"])}
    assert titles == {
        "docs/api.md": "API",
        "docs/sub/refunds.html": "Refund policy",
        "docs/warranty.pdf": "Warranty",
    }
    [hit] = kb.search("warranty claims", scopes=["project"], k=1, mode="lexical")
    assert hit.citation() == "[docs/warranty.pdf#0]"
    assert [r.status for r in kb.ingest_path(Path("docs/api.md"), scope="project")] == ["skipped"]
    with pytest.raises(FileNotFoundError):
        kb.ingest_path(Path("missing"), scope="project")


def test_a_document_repeating_a_paragraph(kb: KnowledgeBase) -> None:
    paragraph = "Keep the receipt. " * 9
    text = "\n\n".join(f"## Part {n}\n\n{paragraph}" for n in range(4))
    report = kb.ingest_text(text, source="r.md", title=None, scope="project")
    texts = [i.value["text"] for i in kb.store.search((CHUNKS_NAMESPACE, "project"), limit=20)]
    assert report.chunks == len(texts) == 4
    assert kb.search("receipt", scopes=["project"], k=4, mode="vector")


def test_a_real_chroma_store(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "chroma"), index={"embed": "hash", "fields": ["text"]})
    kb = KnowledgeBase(store, chunk_chars=200, overlap_chars=40)
    kb.ingest_text(_long_document(5, "old"), source="guide.md", title=None, scope="team:ops")
    kb.ingest_text(REFUNDS, source="refunds.md", title=None, scope="user:bob.b")
    replaced = kb.ingest_text(REFUNDS, source="guide.md", title=None, scope="team:ops")
    assert (replaced.status, replaced.chunks) == ("replaced", 1)
    assert len(store.search((CHUNKS_NAMESPACE, "team:ops"), limit=50)) == 1
    assert kb.scopes() == ["team:ops", "user:bob.b"]
    for mode in ("hybrid", "lexical", "vector"):
        hits = kb.search("refunds paid", scopes=["project", "team:ops"], mode=mode)
        assert [(p.source, p.scope) for p in hits] == [("guide.md", "team:ops")], mode
    assert kb.forget("guide.md") == 1
    assert store.search((SOURCES_NAMESPACE, "team:ops")) == []
    assert kb.search("refunds", scopes=["user:bob.b"])[0].source == "refunds.md"
