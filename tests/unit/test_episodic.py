"""Episodic memory: lessons keyed by task, success or failure, provenance, per owner."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore

from memory import EpisodicMemory, HashEmbeddings, Lesson, recall_lessons, record_lesson, task_id


@pytest.fixture
def store() -> InMemoryStore:
    """LangGraph's in-memory store with the offline embedding: any BaseStore works."""
    return InMemoryStore(index={"dims": 512, "embed": HashEmbeddings(), "fields": ["task"]})


def test_task_id_normalises_case_and_spaces() -> None:
    assert task_id("Parse  ISO dates ") == task_id("parse iso dates")
    assert task_id("parse iso dates") != task_id("parse iso times")


def test_record_returns_the_lesson_with_provenance(store: InMemoryStore) -> None:
    lesson = record_lesson(
        store,
        "coder",
        "parse ISO dates",
        "fromisoformat rejects 'Z' before Python 3.11",
        False,
        trial=2,
        thread_id="thread-7",
        source="reflect",
        details={"error": "ValueError"},
    )
    assert isinstance(lesson, Lesson)
    assert (lesson.success, lesson.trial, lesson.thread_id, lesson.source) == (
        False,
        2,
        "thread-7",
        "reflect",
    )
    item = store.get(("lessons", "coder"), lesson.key)
    assert item is not None
    assert item.value["outcome"] == "failure" and item.value["task_id"] == task_id(
        "parse ISO dates"
    )
    assert item.value["details"] == {"error": "ValueError"}
    assert item.value["recorded_at"].endswith("+00:00")


def test_recording_the_same_lesson_again_updates_it(store: InMemoryStore) -> None:
    memory = EpisodicMemory(store, "coder")
    first = memory.record("parse dates", "use fromisoformat", success=True, trial=1)
    second = memory.record("parse dates", "use fromisoformat", success=True, trial=3)
    assert first.key == second.key
    [only] = memory.recall("parse dates", same_task=True)
    assert only.trial == 3
    other = memory.record("parse dates", "use fromisoformat", success=False)
    assert other.key != first.key  # a different outcome is a different lesson


def test_recall_same_task_filters_outcomes_and_owners(store: InMemoryStore) -> None:
    memory = EpisodicMemory(store, "coder")
    memory.record("parse dates", "first try: regex broke on offsets", success=False, trial=1)
    memory.record("parse dates", "fromisoformat works", success=True, trial=2)
    memory.record("resize images", "keep the aspect ratio", success=True)
    record_lesson(store, "reviewer", "parse dates", "someone else's lesson", False)

    same = memory.recall("Parse dates", same_task=True)
    assert {lesson.lesson for lesson in same} == {
        "first try: regex broke on offsets",
        "fromisoformat works",
    }
    assert all(lesson.owner == "coder" and lesson.score is None for lesson in same)
    failures = recall_lessons(store, "coder", "parse dates", same_task=True, only_failures=True)
    assert [lesson.lesson for lesson in failures] == ["first try: regex broke on offsets"]
    successes = memory.recall("parse dates", same_task=True, only_successes=True)
    assert [lesson.lesson for lesson in successes] == ["fromisoformat works"]
    with pytest.raises(ValueError, match="exclude"):
        memory.recall("x", only_failures=True, only_successes=True)


def test_recall_similar_tasks_ranks_by_task_similarity(store: InMemoryStore) -> None:
    memory = EpisodicMemory(store, "coder")
    memory.record("parse ISO dates from the API", "normalise 'Z' first", success=True)
    memory.record("resize uploaded images", "keep the aspect ratio", success=False)
    memory.record("send the weekly report email", "attach the PDF", success=True)

    ranked = memory.recall("parse dates in ISO format", limit=3)
    assert ranked[0].lesson == "normalise 'Z' first"
    assert ranked[0].score is not None and ranked[0].score > ranked[1].score  # type: ignore[operator]
    relevant = memory.recall("parse dates in ISO format", min_score=0.3)
    assert [lesson.lesson for lesson in relevant] == ["normalise 'Z' first"]
    assert [
        lesson.lesson for lesson in memory.recall("resize images", only_failures=True, limit=1)
    ] == ["keep the aspect ratio"]


async def test_async_record_and_recall(store: InMemoryStore) -> None:
    memory = EpisodicMemory(store, "agent-1")
    await memory.arecord("book a flight", "check the passport expiry", success=False, trial=1)
    [lesson] = await memory.arecall("book a flight", same_task=True)
    assert lesson.lesson == "check the passport expiry" and lesson.success is False


def test_bad_arguments_are_rejected(store: InMemoryStore) -> None:
    with pytest.raises(ValueError, match="owner"):
        EpisodicMemory(store, "a.b")
    with pytest.raises(ValueError, match="non-empty"):
        EpisodicMemory(store, "coder").record("  ", "lesson", success=True)
