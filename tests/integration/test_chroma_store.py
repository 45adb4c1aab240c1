"""`ChromaStore` against real Chroma: a persistent client in a temp dir and a `chroma run` server.

Every test runs twice: on a ``PersistentClient`` in its own directory, and on an ``HttpClient``
talking to one Chroma server this module starts on a free port (each test gets its own
collections there). Embeddings are the offline ``hash`` ones, so rankings are lexical and
deterministic.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp

from memory import ChromaStore, HashEmbeddings, chroma_store, open_store, record_lesson
from memory.episodic import EpisodicMemory
from tests.integration.chroma_server import running_chroma_server
from tests.integration.services import Service

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HASH = {"embed": "hash", "fields": ["text"]}

StoreFactory = Callable[..., ChromaStore]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_chroma_server(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture(params=["persistent", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: a data directory, or the module's Chroma server URL."""
    if request.param == "persistent":
        return str(tmp_path / "chroma")
    server: Service = request.getfixturevalue("chroma_server")
    return server.url.replace("http://", "chroma+http://")


@pytest.fixture
def make_store(backend: str) -> StoreFactory:
    """Open stores on this test's backend; all share one collection prefix unless told."""
    prefix = f"t{uuid.uuid4().hex[:12]}"

    def make(**kwargs: Any) -> ChromaStore:
        kwargs.setdefault("index", HASH)
        kwargs.setdefault("collection", prefix)
        return open_store(backend, **kwargs)

    return make


@pytest.fixture
def store(make_store: StoreFactory) -> ChromaStore:
    return make_store()


def keys(items: list[Any]) -> list[str]:
    return [item.key for item in items]


def run_python(code: str, *args: str) -> str:
    """Run `code` in a fresh interpreter (project importable) and return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


# -- every method ----------------------------------------------------------------------------


def test_put_get_update_keeps_created_at_and_replaces_the_value(store: ChromaStore) -> None:
    ns = ("memories", "ana")
    store.put(ns, "tea", {"text": "Ana drinks green tea", "cups": 2, "meta": {"lang": "en"}})
    first = store.get(ns, "tea")
    assert first is not None
    assert first.value == {"text": "Ana drinks green tea", "cups": 2, "meta": {"lang": "en"}}
    assert first.namespace == ns and first.key == "tea"
    assert first.created_at == first.updated_at and first.created_at.tzinfo is not None

    time.sleep(0.01)
    store.put(ns, "tea", {"text": "Ana drinks oolong tea"})
    second = store.get(ns, "tea")
    assert second is not None
    assert second.value == {"text": "Ana drinks oolong tea"}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    # fields the new value dropped are not filterable any more (Chroma merges metadata)
    assert store.search(ns, filter={"cups": 2}) == []
    assert store.search(ns, filter={"meta": {"lang": "en"}}) == []
    assert keys(store.search(ns, query="oolong")) == ["tea"]
    assert store.get(ns, "nothing") is None
    assert store.get(("memories", "bob"), "tea") is None


def test_delete_removes_item_vectors_and_empty_namespace(store: ChromaStore) -> None:
    store.put(("memories", "ana"), "tea", {"text": "green tea"})
    store.put(("memories", "bob"), "tea", {"text": "green tea"})
    store.delete(("memories", "ana"), "tea")
    store.delete(("memories", "ana"), "never-there")  # deleting nothing is fine

    assert store.get(("memories", "ana"), "tea") is None
    assert store.search(("memories", "ana")) == []
    assert store.search(("memories", "ana"), query="green tea") == []
    assert [h.namespace for h in store.search(("memories",), query="tea")] == [("memories", "bob")]
    assert store.list_namespaces() == [("memories", "bob")]


def test_batch_reads_see_the_state_before_its_writes_and_last_write_wins(
    store: ChromaStore,
) -> None:
    ns = ("docs",)
    store.put(ns, "a", {"text": "old"})
    results = store.batch(
        [
            PutOp(ns, "a", {"text": "new"}),
            GetOp(ns, "a"),
            PutOp(ns, "b", {"text": "first"}),
            PutOp(ns, "b", {"text": "second"}),
            SearchOp(ns, query="second"),
            PutOp(ns, "a", None),
        ]
    )
    got = results[1]
    assert got is not None and got.value == {"text": "old"}  # type: ignore[union-attr]
    assert keys(results[4]) == ["a"]  # type: ignore[arg-type]  # "b" did not exist yet
    assert store.get(ns, "a") is None
    item = store.get(ns, "b")
    assert item is not None and item.value == {"text": "second"}


def test_invalid_namespaces_are_rejected(store: ChromaStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("bad.label",), "k", {"text": "x"})
    with pytest.raises(InvalidNamespaceError):
        store.put((), "k", {"text": "x"})
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp((), "k", {"text": "x"})])
    with pytest.raises(InvalidNamespaceError):
        store.search(("a.b",))


def test_list_namespaces_prefix_suffix_wildcards_depth_and_pages(store: ChromaStore) -> None:
    for ns in [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
        ("a", "c", "f"),
        ("x", "y"),
    ]:
        store.put(ns, "k", {"text": "."})

    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert store.list_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a",), suffix=("*", "e")) == [("a", "b", "d", "e")]
    assert store.list_namespaces(max_depth=1) == [("a",), ("x",)]
    every = store.list_namespaces()
    assert len(every) == 6 and every == sorted(every)
    assert store.list_namespaces(limit=2, offset=1) == every[1:3]
    assert store.list_namespaces(prefix=("nope",)) == []


# -- isolation, filters, pages ---------------------------------------------------------------


def test_namespaces_isolate_users(store: ChromaStore) -> None:
    store.put(("memories", "ana"), "m1", {"text": "Ana is allergic to peanuts"})
    store.put(("memories", "ana"), "m2", {"text": "Ana prefers email"})
    store.put(("memories", "bob"), "m1", {"text": "Bob prefers phone calls"})
    store.put(("memories", "anabel"), "m1", {"text": "Anabel is allergic to peanuts too"})

    for query in ("peanuts allergy", "prefers email", None):
        for hit in store.search(("memories", "bob"), query=query):
            assert hit.namespace == ("memories", "bob")
    bob_peanuts = store.search(("memories", "bob"), query="allergic to peanuts")
    assert all("peanut" not in h.value["text"] for h in bob_peanuts)
    ana = store.search(("memories", "ana"), query="allergic to peanuts", limit=10)
    assert {h.namespace for h in ana} == {("memories", "ana")}
    assert keys(ana)[0] == "m1"
    everyone = store.search(("memories",), query="allergic to peanuts", limit=10)
    assert {h.namespace for h in everyone} == {
        ("memories", "ana"),
        ("memories", "bob"),
        ("memories", "anabel"),
    }
    assert store.get(("memories", "bob"), "m2") is None


FILTER_DOCS: dict[str, dict[str, Any]] = {
    "a": {
        "text": "alpha",
        "kind": "fact",
        "n": 1,
        "price": 9.5,
        "flag": True,
        "tags": ["x", "y"],
        "meta": {"lang": "en", "level": 2},
    },
    "b": {
        "text": "beta",
        "kind": "fact",
        "n": 2,
        "price": 20.0,
        "flag": False,
        "tags": ["y"],
        "meta": {"lang": "de", "level": 3},
    },
    "c": {"text": "gamma", "kind": "lesson", "n": 3, "price": 0, "flag": 1, "meta": {"lang": "en"}},
    "d": {"text": "delta", "kind": "lesson", "long": "z" * 2000},
}

FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"kind": "fact"}, {"a", "b"}),
    ({"kind": {"$eq": "lesson"}}, {"c", "d"}),
    ({"kind": {"$ne": "fact"}}, {"c", "d"}),
    ({"n": {"$gt": 1}}, {"b", "c"}),
    ({"n": {"$gte": 2, "$lt": 3}}, {"b"}),
    ({"n": {"$lte": 1}}, {"a"}),
    ({"price": {"$lt": 10}}, {"a", "c"}),
    ({"price": {"$gte": 9.5}}, {"a", "b"}),
    ({"n": {"$ne": 2}}, {"a", "c", "d"}),  # a missing field is "not equal"
    ({"flag": True}, {"a"}),  # booleans equal only booleans, as in JSON
    ({"flag": 1}, {"c"}),
    ({"meta": {"lang": "en"}}, {"a", "c"}),
    ({"meta": {"level": {"$gte": 3}}}, {"b"}),
    ({"tags": ["y"]}, {"b"}),  # lists match exactly
    ({"text": {"$gt": "beta"}}, {"c", "d"}),  # strings compare lexicographically
    ({"long": "z" * 2000}, {"d"}),  # too long for Chroma metadata: checked in Python
    ({"kind": "fact", "n": {"$gt": 1}}, {"b"}),
    ({"missing": {"$gt": 0}}, set()),
    ({"n": {"$gt": "1"}}, set()),  # a string never compares with a number
]


@pytest.mark.parametrize(
    ("condition", "expected"), FILTER_CASES, ids=[json.dumps(c) for c, _ in FILTER_CASES]
)
def test_filters(store: ChromaStore, condition: dict[str, Any], expected: set[str]) -> None:
    for key, value in FILTER_DOCS.items():
        store.put(("docs",), key, value)
    store.put(("other",), "a", FILTER_DOCS["a"])  # outside the searched namespace

    assert set(keys(store.search(("docs",), filter=condition))) == expected
    with_query = store.search(("docs",), query="alpha beta gamma delta", filter=condition)
    assert set(keys(with_query)) == expected


def test_unknown_operator_is_an_error(store: ChromaStore) -> None:
    store.put(("docs",), "a", {"text": "x", "n": 1})
    with pytest.raises(ValueError, match="Unsupported filter operator"):
        store.search(("docs",), filter={"n": {"$regex": "1"}})


def test_limit_and_offset_page_through_recency_and_ranking(store: ChromaStore) -> None:
    ns = ("pages",)
    for i in range(25):
        store.put(ns, f"k{i:02d}", {"text": " ".join(["tea"] * (i + 1) + ["filler"] * (25 - i))})

    recent = [keys(store.search(ns, limit=10, offset=o)) for o in (0, 10, 20)]
    assert recent[0][:3] == ["k24", "k23", "k22"]  # most recently updated first
    flat = [k for page in recent for k in page]
    assert flat == [f"k{i:02d}" for i in range(24, -1, -1)]
    assert keys(store.search(ns, limit=5, offset=30)) == []

    ranked = store.search(ns, query="tea", limit=25)
    assert len(ranked) == 25
    scores = [hit.score for hit in ranked]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    pages = [keys(store.search(ns, query="tea", limit=7, offset=o)) for o in (0, 7, 14, 21)]
    assert [k for page in pages for k in page] == keys(ranked)
    assert store.search(ns, query="tea", limit=0) == []


# -- semantic search -------------------------------------------------------------------------

LABELLED = {
    "tea": "Ana drinks green tea every morning",
    "coffee": "Ben drinks strong black coffee",
    "email": "Prefers email over phone calls",
    "phone": "Call the customer on the phone after five",
    "kettle": "The electric kettle arrived broken",
    "refund": "Refund issued for the broken kettle order",
    "shipping": "Orders ship with DHL within two days",
    "address": "Delivery address changed to Berlin",
    "vegetarian": "Vegetarian, no meat in meal suggestions",
    "language": "Speaks German and English",
    "birthday": "Birthday is on the fourth of May",
    "dog": "Has a dog named Biscuit",
}

QUERIES: list[tuple[str, set[str]]] = [
    # (query, the labelled answer set; the first element of the ranking must be in it)
    ("green tea", {"tea"}),
    ("black coffee please", {"coffee"}),
    ("my kettle is broken", {"kettle", "refund"}),
    ("new delivery address in Berlin", {"address"}),
    ("what is the name of my dog", {"dog"}),
    ("which language do I speak, German?", {"language"}),
    ("DHL shipping time", {"shipping"}),
    ("meal suggestions for a vegetarian", {"vegetarian"}),
    ("when is my birthday", {"birthday"}),
    ("refund for my order", {"refund"}),
    ("call me on the phone", {"phone", "email"}),
]


def test_search_ranking_on_a_labelled_set(store: ChromaStore) -> None:
    ns = ("facts", "ana")
    for key, text in LABELLED.items():
        store.put(ns, key, {"text": text})
    embed = HashEmbeddings()
    vectors = {key: embed.embed_query(text) for key, text in LABELLED.items()}

    for query, relevant in QUERIES:
        hits = store.search(ns, query=query, limit=len(relevant))
        assert set(keys(hits)) == relevant, (query, [(h.key, h.score) for h in hits])
        # the store's scores are the exact cosine similarities, best first
        q = embed.embed_query(query)
        exact = sorted(
            ((sum(a * b for a, b in zip(q, v, strict=True)), k) for k, v in vectors.items()),
            reverse=True,
        )
        everything = store.search(ns, query=query, limit=len(LABELLED))
        assert keys(everything)[: len(relevant)] == [k for _, k in exact[: len(relevant)]]
        for hit in everything:
            assert hit.score is not None
            assert math.isclose(
                hit.score,
                sum(a * b for a, b in zip(q, vectors[hit.key], strict=True)),
                abs_tol=1e-4,
            )


@pytest.mark.parametrize("exact_limit", [2000, 5], ids=["exact", "filtered-hnsw"])
def test_every_search_path_ranks_like_brute_force(
    store: ChromaStore, monkeypatch: pytest.MonkeyPatch, exact_limit: int
) -> None:
    """More vectors than the unfiltered probe sees: a selective namespace is ranked exactly,
    or (above the exact limit) by Chroma's filtered HNSW query; both rank like brute force.
    """
    monkeypatch.setattr(chroma_store, "EXACT_SEARCH_MAX_VECTORS", exact_limit)
    embed = HashEmbeddings()
    texts = {f"a{i}": f"ana note {i} about tea number {i % 7}" for i in range(60)}
    texts |= {f"b{i}": f"bob note {i} about coffee and tea {i % 3}" for i in range(12)}
    for key, text in texts.items():
        store.put(
            ("memories", "ana" if key[0] == "a" else "bob"), key, {"text": text, "i": int(key[1:])}
        )
    query = "tea number 3"
    q = embed.embed_query(query)

    def exact(prefix: str) -> list[tuple[float, str]]:
        return sorted(
            (
                (sum(x * y for x, y in zip(q, embed.embed_query(t), strict=True)), k)
                for k, t in texts.items()
                if k.startswith(prefix)
            ),
            reverse=True,
        )

    def same_ranking(hits: list[Any], prefix: str) -> None:
        """The hits' scores are the exact top scores (ties make key order arbitrary)."""
        best = exact(prefix)[: len(hits)]
        assert len(hits) == len(best)
        for hit, (score, _) in zip(hits, best, strict=True):
            assert hit.score is not None and math.isclose(hit.score, score, abs_tol=1e-4)
        assert all(hit.key.startswith(prefix) for hit in hits)

    bob = store.search(("memories", "bob"), query=query, limit=10)
    same_ranking(bob, "b")
    page = store.search(("memories", "bob"), query=query, limit=4, offset=4)
    assert [hit.score for hit in page] == [hit.score for hit in bob[4:8]]
    filtered = store.search(("memories", "bob"), query=query, filter={"i": {"$gte": 6}}, limit=3)
    assert len(filtered) == 3 and all(hit.value["i"] >= 6 for hit in filtered)
    same_ranking(store.search(("memories", "ana"), query=query, limit=5), "a")
    same_ranking(store.search(("memories",), query=query, limit=5), "")


def test_index_false_is_listed_and_filtered_but_never_found_by_query(store: ChromaStore) -> None:
    ns = ("docs",)
    store.put(ns, "visible", {"text": "green tea", "kind": "note"})
    store.put(ns, "hidden", {"text": "green tea", "kind": "note"}, index=False)

    assert keys(store.search(ns, query="green tea")) == ["visible"]
    assert set(keys(store.search(ns))) == {"visible", "hidden"}
    assert set(keys(store.search(ns, filter={"kind": "note"}))) == {"visible", "hidden"}
    hidden = store.get(ns, "hidden")
    assert hidden is not None and hidden.value["text"] == "green tea"

    store.put(ns, "visible", {"text": "green tea", "kind": "note"}, index=False)  # un-index
    assert store.search(ns, query="green tea") == []
    store.put(ns, "hidden", {"text": "green tea", "kind": "note"})  # and index again
    assert keys(store.search(ns, query="green tea")) == ["hidden"]


def test_index_fields_and_arrays_give_one_result_per_item(store: ChromaStore) -> None:
    ns = ("docs",)
    store.put(
        ns,
        "trip",
        {"title": "Holiday plans", "notes": ["book the ferry", "pack the tent"]},
        index=["title", "notes[*]"],
    )
    store.put(ns, "work", {"title": "Quarterly report", "notes": ["tent"]}, index=["title"])

    tent = store.search(ns, query="tent")  # only indexed paths count: "work" has no tent
    scores = [hit.score or 0.0 for hit in tent]
    assert keys(tent) == ["trip", "work"] and scores[0] > 0.5 > abs(scores[1])
    assert keys(store.search(ns, query="holiday plans", limit=1)) == ["trip"]
    assert keys(store.search(ns, query="quarterly report", limit=1)) == ["work"]
    assert sorted(keys(store.search(ns, query="ferry tent holiday", limit=10))) == ["trip", "work"]


def test_store_without_embeddings_lists_on_query(make_store: StoreFactory) -> None:
    plain = make_store(index=False, collection=f"plain{uuid.uuid4().hex[:8]}")
    plain.put(("docs",), "a", {"text": "green tea"})
    [hit] = plain.search(("docs",), query="green tea")
    assert hit.key == "a" and hit.score is None


def test_whole_value_is_embedded_by_default(make_store: StoreFactory) -> None:
    store = make_store(index={"embed": HashEmbeddings()}, collection=f"whole{uuid.uuid4().hex[:8]}")
    store.put(("docs",), "a", {"title": "Kettle", "body": {"note": "arrived broken"}})
    store.put(("docs",), "b", {"title": "Tea", "body": {"note": "green"}})
    assert keys(store.search(("docs",), query="broken kettle", limit=1)) == ["a"]


def test_reopening_with_another_embedding_reindexes(make_store: StoreFactory) -> None:
    first = make_store(index={"embed": "hash", "fields": ["text"]})
    first.put(("docs",), "tea", {"text": "green tea"})
    first.put(("docs",), "mail", {"text": "prefers email"})
    first.put(("docs",), "quiet", {"text": "green tea"}, index=False)

    second = make_store(index={"embed": "hash:128", "fields": ["text"]})
    assert second.vectors.name != first.vectors.name
    assert second.vectors.count() == 2  # both indexed items, not the unindexed one
    assert keys(second.search(("docs",), query="green tea")) == ["tea", "mail"]
    second.put(("docs",), "new", {"text": "black coffee"})
    assert keys(second.search(("docs",), query="coffee", limit=1)) == ["new"]
    third = make_store(index={"embed": "hash:128", "fields": ["text"]})
    assert third.vectors.count() == 3  # already in sync: nothing re-embedded twice


# -- across processes, async, episodic -------------------------------------------------------

WRITER = """
import sys
from memory import open_store, record_lesson
store = open_store(sys.argv[1], index={"embed": "hash", "fields": ["text"]}, collection=sys.argv[2])
store.put(("memories", "ana"), "tea", {"text": "Ana drinks green tea", "n": 1})
store.put(("memories", "ana"), "mail", {"text": "Ana prefers email", "n": 2})
store.put(("memories", "bob"), "tea", {"text": "Bob drinks black tea", "n": 3})
record_lesson(store, "coder", "parse ISO dates", "use datetime.fromisoformat", False, trial=1)
print("written")
"""

READER = """
import json, sys
from memory import open_store, recall_lessons
store = open_store(sys.argv[1], index={"embed": "hash", "fields": ["text"]}, collection=sys.argv[2])
item = store.get(("memories", "ana"), "tea")
hits = store.search(("memories", "ana"), query="email", limit=1)
lessons = recall_lessons(store, "coder", "parse ISO dates", same_task=True)
print(json.dumps({
    "value": item.value,
    "created_at": item.created_at.isoformat(),
    "top": hits[0].key,
    "filtered": [h.key for h in store.search(("memories",), filter={"n": {"$gte": 2}})],
    "namespaces": store.list_namespaces(),
    "lessons": [lesson.lesson for lesson in lessons],
}))
"""


def test_data_survives_into_a_new_process(backend: str) -> None:
    collection = f"p{uuid.uuid4().hex[:12]}"
    assert run_python(WRITER, backend, collection).strip() == "written"
    result = json.loads(run_python(READER, backend, collection))

    assert result["value"] == {"text": "Ana drinks green tea", "n": 1}
    assert result["top"] == "mail"
    assert set(result["filtered"]) == {"mail", "tea"}
    assert result["namespaces"] == [["lessons", "coder"], ["memories", "ana"], ["memories", "bob"]]
    assert result["lessons"] == ["use datetime.fromisoformat"]


async def test_async_variants(store: ChromaStore) -> None:
    ns = ("memories", "ana")
    await asyncio.gather(
        *(store.aput(ns, f"k{i}", {"text": f"fact number {i} about tea", "i": i}) for i in range(8))
    )
    item = await store.aget(ns, "k3")
    assert item is not None and item.value["i"] == 3

    hits = await store.asearch(ns, query="fact number 5", limit=3)
    assert len(hits) == 3 and hits[0].key == "k5"
    assert set(keys(await store.asearch(ns, filter={"i": {"$lt": 2}}))) == {"k0", "k1"}
    assert await store.alist_namespaces(prefix=("memories",)) == [ns]

    await store.adelete(ns, "k3")
    assert await store.aget(ns, "k3") is None
    results = await store.abatch([GetOp(ns, "k1"), SearchOp(ns, query="tea", limit=20)])
    assert results[0] is not None and len(results[1]) == 7  # type: ignore[arg-type]


async def test_episodic_lessons_on_chroma(store: ChromaStore) -> None:
    memory = EpisodicMemory(store, "coder")
    await memory.arecord(
        "parse ISO 8601 dates", "fromisoformat rejects 'Z' before 3.11", success=False, trial=1
    )
    await memory.arecord(
        "parse ISO 8601 dates", "normalise 'Z' to '+00:00' first", success=True, trial=2
    )
    record_lesson(store, "coder", "resize images", "keep the aspect ratio", True)
    record_lesson(store, "reviewer", "parse ISO 8601 dates", "not coder's lesson", False)

    similar = await memory.arecall("parse dates in ISO format", limit=2)
    assert [lesson.task for lesson in similar] == ["parse ISO 8601 dates"] * 2
    assert all(lesson.owner == "coder" for lesson in similar)
    failures = memory.recall("parse ISO 8601 dates", only_failures=True)
    assert [lesson.lesson for lesson in failures] == ["fromisoformat rejects 'Z' before 3.11"]
    assert failures[0].trial == 1 and failures[0].success is False
    assert failures[0].score is not None and failures[0].score > 0.99
