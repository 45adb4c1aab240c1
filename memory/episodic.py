"""Episodic memory: lessons from past attempts, keyed by task, with success or failure.

A pattern that learns from experience (reflexion: attempt, evaluate, reflect, retry) records
what it learned after each attempt and reads the lessons of the same or similar tasks before
the next one. Lessons live in any LangGraph `BaseStore` under ``("lessons", <owner>)``, where
the owner is a user or an agent, so one user's or agent's experience never leaks into
another's. Each lesson is one item:

``{"kind": "lesson", "task": ..., "task_id": ..., "lesson": ..., "success": bool,
"outcome": "success" | "failure", "trial": int | None, "thread_id": ..., "source": ...,
"recorded_at": ISO time, "details": {...}}``

Only the task text is embedded, so a search ranks lessons by how similar their task is to the
new one; the exact task is matched by ``task_id`` (a digest of the normalised task text).
Recording the same lesson for the same task and outcome again updates it instead of adding a
duplicate (the key is a digest of the three), which keeps replays after a resume idempotent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore, Item, SearchItem

__all__ = [
    "LESSONS_NAMESPACE",
    "EpisodicMemory",
    "Lesson",
    "recall_lessons",
    "record_lesson",
    "task_id",
]

LESSONS_NAMESPACE = "lessons"
_SPACES = re.compile(r"\s+")


def task_id(task: str) -> str:
    """A stable id for a task: the digest of its lower-cased, whitespace-normalised text.

    Example:
        >>> task_id("Fix the  flaky test") == task_id("fix the flaky test ")
        True
    """
    normalised = _SPACES.sub(" ", task).strip().lower()
    return hashlib.sha256(normalised.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Lesson:
    """One recorded lesson, as read back from the store.

    Attributes:
        task: the task it was learned on.
        lesson: what to do (or avoid) next time.
        success: whether the attempt it comes from succeeded.
        key: its key in the store.
        owner: the user or agent it belongs to.
        recorded_at: when it was (last) recorded.
        trial: which attempt it came from, when known.
        thread_id: the thread of that attempt, when known.
        source: who or what recorded it (a node name, "reviewer", ...).
        details: anything else the caller attached (error text, scores ...).
        score: similarity of its task to the query task (None when not from a search).
    """

    task: str
    lesson: str
    success: bool
    key: str
    owner: str
    recorded_at: str
    trial: int | None = None
    thread_id: str | None = None
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    score: float | None = None

    @classmethod
    def from_item(cls, item: Item) -> Lesson:
        """Read a lesson from a store item."""
        value = item.value
        return cls(
            task=str(value.get("task", "")),
            lesson=str(value.get("lesson", "")),
            success=bool(value.get("success")),
            key=item.key,
            owner=item.namespace[-1],
            recorded_at=str(value.get("recorded_at") or item.updated_at.isoformat()),
            trial=value.get("trial"),
            thread_id=value.get("thread_id"),
            source=value.get("source"),
            details=dict(value.get("details") or {}),
            score=item.score if isinstance(item, SearchItem) else None,
        )


class EpisodicMemory:
    """Lessons of one owner (a user or an agent) in a LangGraph store.

    Example:
        >>> from langgraph.store.memory import InMemoryStore
        >>> memory = EpisodicMemory(InMemoryStore(), "coder")
        >>> _ = memory.record("parse dates", "use fromisoformat", success=False, trial=1)
        >>> [lesson.lesson for lesson in memory.recall("parse dates", same_task=True)]
        ['use fromisoformat']
    """

    def __init__(self, store: BaseStore, owner: str, *, root: str = LESSONS_NAMESPACE) -> None:
        """Bind the memory to a store and an owner.

        Args:
            store: any LangGraph store (`memory.ChromaStore`, `InMemoryStore`,
                `PostgresStore` ...). Similar-task recall needs one with semantic search.
            owner: the user or agent whose lessons these are; a namespace label, so no ``.``.
            root: first label of the namespace.
        """
        if not owner or "." in owner:
            raise ValueError(f"owner must be a non-empty label without '.', got {owner!r}")
        self.store = store
        self.owner = owner
        self.namespace = (root, owner)

    def _put_args(
        self,
        task: str,
        lesson: str,
        success: bool,
        trial: int | None,
        thread_id: str | None,
        source: str | None,
        details: dict[str, Any] | None,
    ) -> tuple[str, dict[str, Any]]:
        if not task.strip() or not lesson.strip():
            raise ValueError("a lesson needs a non-empty task and lesson text")
        tid = task_id(task)
        outcome = "success" if success else "failure"
        key = hashlib.sha256(f"{tid}\x00{outcome}\x00{lesson.strip()}".encode()).hexdigest()[:24]
        value = {
            "kind": "lesson",
            "task": task,
            "task_id": tid,
            "lesson": lesson,
            "success": success,
            "outcome": outcome,
            "trial": trial,
            "thread_id": thread_id,
            "source": source,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "details": dict(details or {}),
        }
        return key, value

    def record(
        self,
        task: str,
        lesson: str,
        *,
        success: bool,
        trial: int | None = None,
        thread_id: str | None = None,
        source: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Lesson:
        """Store a lesson learned on `task`.

        Args:
            task: the task attempted (its text is what later tasks are compared with).
            lesson: what to do or avoid next time.
            success: whether the attempt succeeded.
            trial: the attempt number, if any.
            thread_id: the thread of the attempt (provenance).
            source: who recorded it (provenance).
            details: JSON-safe extras (error text, evaluation scores ...).

        Returns:
            The lesson as stored.
        """
        key, value = self._put_args(task, lesson, success, trial, thread_id, source, details)
        self.store.put(self.namespace, key, value, index=["task"])
        return self._stored(key, value)

    async def arecord(
        self,
        task: str,
        lesson: str,
        *,
        success: bool,
        trial: int | None = None,
        thread_id: str | None = None,
        source: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Lesson:
        """Async `record`."""
        key, value = self._put_args(task, lesson, success, trial, thread_id, source, details)
        await self.store.aput(self.namespace, key, value, index=["task"])
        return self._stored(key, value)

    def _stored(self, key: str, value: dict[str, Any]) -> Lesson:
        return Lesson(
            task=value["task"],
            lesson=value["lesson"],
            success=value["success"],
            key=key,
            owner=self.owner,
            recorded_at=value["recorded_at"],
            trial=value["trial"],
            thread_id=value["thread_id"],
            source=value["source"],
            details=value["details"],
        )

    def _search_args(
        self,
        task: str,
        only_failures: bool,
        only_successes: bool,
        same_task: bool,
    ) -> tuple[str | None, dict[str, Any]]:
        if only_failures and only_successes:
            raise ValueError("only_failures and only_successes exclude each other")
        conditions: dict[str, Any] = {"kind": "lesson"}
        if only_failures:
            conditions["success"] = False
        if only_successes:
            conditions["success"] = True
        if same_task:
            conditions["task_id"] = task_id(task)
            return None, conditions
        return task, conditions

    def recall(
        self,
        task: str,
        *,
        limit: int = 5,
        only_failures: bool = False,
        only_successes: bool = False,
        same_task: bool = False,
        min_score: float | None = None,
    ) -> list[Lesson]:
        """Lessons for a task: of similar tasks, best match first, or of this exact task.

        Args:
            task: the task about to be attempted.
            limit: at most this many lessons.
            only_failures: only lessons from failed attempts.
            only_successes: only lessons from successful attempts.
            same_task: only lessons recorded for this exact task (normalised text), most
                recent first; otherwise a semantic search over the tasks of all lessons.
            min_score: drop search results scoring below this (ignored with `same_task`).

        Returns:
            The lessons.
        """
        query, conditions = self._search_args(task, only_failures, only_successes, same_task)
        items = self.store.search(self.namespace, query=query, filter=conditions, limit=limit)
        return _lessons(items, min_score if query else None)

    async def arecall(
        self,
        task: str,
        *,
        limit: int = 5,
        only_failures: bool = False,
        only_successes: bool = False,
        same_task: bool = False,
        min_score: float | None = None,
    ) -> list[Lesson]:
        """Async `recall`."""
        query, conditions = self._search_args(task, only_failures, only_successes, same_task)
        items = await self.store.asearch(
            self.namespace, query=query, filter=conditions, limit=limit
        )
        return _lessons(items, min_score if query else None)


def _lessons(items: list[SearchItem], min_score: float | None) -> list[Lesson]:
    lessons = [Lesson.from_item(item) for item in items]
    if min_score is None:
        return lessons
    return [lesson for lesson in lessons if lesson.score is not None and lesson.score >= min_score]


def record_lesson(
    store: BaseStore,
    owner: str,
    task: str,
    lesson: str,
    success: bool,
    **provenance: Any,
) -> Lesson:
    """Store a lesson; shorthand for ``EpisodicMemory(store, owner).record(...)``.

    Args:
        store: the LangGraph store.
        owner: the user or agent the lesson belongs to.
        task: the task attempted.
        lesson: what to do or avoid next time.
        success: whether the attempt succeeded.
        **provenance: ``trial``, ``thread_id``, ``source``, ``details``.

    Returns:
        The lesson as stored.
    """
    return EpisodicMemory(store, owner).record(task, lesson, success=success, **provenance)


def recall_lessons(
    store: BaseStore,
    owner: str,
    task: str,
    *,
    limit: int = 5,
    only_failures: bool = False,
    same_task: bool = False,
    min_score: float | None = None,
) -> list[Lesson]:
    """Lessons for a task; shorthand for ``EpisodicMemory(store, owner).recall(...)``.

    Args:
        store: the LangGraph store.
        owner: the user or agent whose lessons to read.
        task: the task about to be attempted.
        limit: at most this many lessons.
        only_failures: only lessons from failed attempts.
        same_task: only this exact task's lessons, most recent first.
        min_score: drop search results scoring below this.

    Returns:
        The lessons, best match (or most recent) first.
    """
    return EpisodicMemory(store, owner).recall(
        task, limit=limit, only_failures=only_failures, same_task=same_task, min_score=min_score
    )
