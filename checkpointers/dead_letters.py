"""The dead-letter table: runs that exhausted their retries, and poison events, for an operator.

A **dead letter** is one failure nobody will retry on their own any more:

- ``in_process``: a graph run in this process raised after its retries and fallbacks
  (`ops.dead_letters.invoke_or_dead_letter`);
- ``worker``: a Celery run failed for good (`workers.tasks.advance_thread`);
- ``event``: an event the fraud consumer dead-lettered (malformed, or failing every attempt),
  with its raw body in ``payload``.

Each letter keeps the thread, its graph and owner, the error class
(`nodes.error_classes.classify`: ``retriable``, ``fallback``, ``terminal``, ``fixable``), the
error, the thread's last checkpoint id and the attempts made. It is ``open`` until an operator
**retries** it (``retried``) or **discards** it (``discarded``, a reason required); both record
who and when. Resolving is one conditional update (only an ``open`` letter changes), so two
operators never retry the same letter twice.

Letters live where the checkpoints live, like the other side tables: a Postgres table beside
Postgres checkpoints (`checkpointers.dead_letters_postgres`), a table in the SQLite checkpoint
file (`checkpointers.dead_letters_sqlite`), this process's memory for the in-memory saver.

Example:
    >>> letters = InMemoryDeadLetters()
    >>> letter = letters.add(DeadLetter(thread_id="t1", source="worker", error="boom"))
    >>> letters.resolve(letter.id, "discarded", by="ana", reason="duplicate order").status
    'discarded'
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.saver_storage import saver_storage

__all__ = [
    "DEAD_LETTER_SOURCES",
    "DEAD_LETTER_STATUSES",
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterStore",
    "InMemoryDeadLetters",
    "check_filters",
    "check_resolution",
    "default_dead_letters",
    "new_letter_id",
]

Source = Literal["in_process", "worker", "event"]
Status = Literal["open", "retried", "discarded"]
DEAD_LETTER_SOURCES: tuple[str, ...] = ("in_process", "worker", "event")
DEAD_LETTER_STATUSES: tuple[str, ...] = ("open", "retried", "discarded")
ERROR_CHARS = 4000
"""Longest error message kept (the rest is cut)."""


class DeadLetterError(ValueError):
    """A letter that does not exist, is resolved already, or a resolution without a reason."""


@dataclass(frozen=True)
class DeadLetter:
    """One row of the dead-letter table (see the module docs).

    A new letter is built with the failure's fields; the store fills ``id`` and
    ``created_at``.
    """

    source: str
    thread_id: str | None = None
    graph_id: str | None = None
    owner: str | None = None
    error_class: str = "unknown"
    error: str = ""
    checkpoint_id: str | None = None
    attempts: int = 1
    payload: str | None = None
    id: str = ""
    created_at: datetime | None = None
    status: str = "open"
    resolved_by: str | None = None
    resolved_reason: str | None = None
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.source not in DEAD_LETTER_SOURCES:
            raise DeadLetterError(
                f"a dead letter's source is one of {', '.join(DEAD_LETTER_SOURCES)}, "
                f"not {self.source!r}"
            )
        object.__setattr__(self, "error", self.error[:ERROR_CHARS])


def new_letter_id() -> str:
    """A fresh letter id (``dl-`` and 12 hex digits)."""
    return "dl-" + uuid.uuid4().hex[:12]


def check_filters(status: str | None, source: str | None) -> None:
    """Refuse an unknown status or source filter (a typo must not list nothing silently).

    Raises:
        DeadLetterError: an unknown value.
    """
    if status is not None and status not in DEAD_LETTER_STATUSES:
        raise DeadLetterError(f"status is one of {', '.join(DEAD_LETTER_STATUSES)}, not {status!r}")
    if source is not None and source not in DEAD_LETTER_SOURCES:
        raise DeadLetterError(f"source is one of {', '.join(DEAD_LETTER_SOURCES)}, not {source!r}")


def check_resolution(status: str, by: str, reason: str | None) -> str:
    """Check a resolution; returns the reason stripped ("" when none is needed).

    Raises:
        DeadLetterError: not ``retried``/``discarded``, no actor, or a discard without reason.
    """
    if status not in ("retried", "discarded"):
        raise DeadLetterError(f"a letter is resolved retried or discarded, not {status!r}")
    if not by or not by.strip():
        raise DeadLetterError("resolving a dead letter records who did it: name the actor")
    text = (reason or "").strip()
    if status == "discarded" and not text:
        raise DeadLetterError("discarding a dead letter needs a reason")
    return text


class DeadLetterStore(Protocol):
    """Where dead letters are kept (see the module docs)."""

    def add(self, letter: DeadLetter) -> DeadLetter:
        """Store a new letter; returns it with its id and creation time."""

    def get(self, letter_id: str) -> DeadLetter | None:
        """One letter, or None."""

    def list(
        self,
        *,
        status: str | None = None,
        graph_id: str | None = None,
        source: str | None = None,
        thread_id: str | None = None,
        owner: str | None = None,
        limit: int = 100,
    ) -> list[DeadLetter]:
        """Letters matching the filters (None: any), newest first.

        ``owner`` keeps one user's letters: what an HTTP route shows a user who is not an
        operator (letters of threads without an owner are then not shown).
        """

    def resolve(
        self, letter_id: str, status: str, *, by: str, reason: str | None = None
    ) -> DeadLetter:
        """Mark an open letter retried or discarded (see `check_resolution`).

        Raises:
            DeadLetterError: no such letter, or it is not open any more.
        """

    def close(self) -> None:
        """Release connections."""


def not_open(letter_id: str, found: DeadLetter | None) -> DeadLetterError:
    """The error for a resolution that changed nothing."""
    if found is None:
        return DeadLetterError(f"no dead letter {letter_id!r}")
    return DeadLetterError(
        f"dead letter {letter_id} is {found.status} already "
        f"(by {found.resolved_by} at {found.resolved_at})"
    )


class InMemoryDeadLetters:
    """Dead letters in this process's memory (the in-memory saver's)."""

    def __init__(self) -> None:
        self._letters: dict[str, DeadLetter] = {}
        self._lock = threading.Lock()

    def add(self, letter: DeadLetter) -> DeadLetter:
        """Store a letter (see `DeadLetterStore.add`)."""
        stored = replace(letter, id=new_letter_id(), created_at=datetime.now(UTC), status="open")
        with self._lock:
            self._letters[stored.id] = stored
        return stored

    def get(self, letter_id: str) -> DeadLetter | None:
        """One letter (see `DeadLetterStore.get`)."""
        with self._lock:
            return self._letters.get(letter_id)

    def list(
        self,
        *,
        status: str | None = None,
        graph_id: str | None = None,
        source: str | None = None,
        thread_id: str | None = None,
        owner: str | None = None,
        limit: int = 100,
    ) -> list[DeadLetter]:
        """Letters, newest first (see `DeadLetterStore.list`)."""
        check_filters(status, source)
        wanted = {
            "status": status,
            "graph_id": graph_id,
            "source": source,
            "thread_id": thread_id,
            "owner": owner,
        }
        with self._lock:
            found = [
                letter
                for letter in self._letters.values()
                if all(v is None or getattr(letter, k) == v for k, v in wanted.items())
            ]
        found.sort(key=lambda letter: letter.created_at or datetime.min, reverse=True)
        return found[:limit]

    def resolve(
        self, letter_id: str, status: str, *, by: str, reason: str | None = None
    ) -> DeadLetter:
        """Resolve an open letter (see `DeadLetterStore.resolve`)."""
        text = check_resolution(status, by, reason)
        with self._lock:
            found = self._letters.get(letter_id)
            if found is None or found.status != "open":
                raise not_open(letter_id, found)
            resolved = replace(
                found,
                status=status,
                resolved_by=by.strip(),
                resolved_reason=text or None,
                resolved_at=datetime.now(UTC),
            )
            self._letters[letter_id] = resolved
            return resolved

    def close(self) -> None:
        """Nothing to release."""


_saver_stores: weakref.WeakKeyDictionary[BaseCheckpointSaver, InMemoryDeadLetters] = (
    weakref.WeakKeyDictionary()
)
_shared_stores: dict[str, DeadLetterStore] = {}
_shared_lock = threading.Lock()


def _shared(key: str, make: Callable[[], DeadLetterStore]) -> DeadLetterStore:
    with _shared_lock:
        if key not in _shared_stores:
            _shared_stores[key] = make()
        return _shared_stores[key]


def postgres_dead_letters(url: str) -> DeadLetterStore:
    """The dead-letter table in the Postgres database at `url` (one per URL and process)."""
    from checkpointers.dead_letters_postgres import PostgresDeadLetters

    return _shared(url, lambda: PostgresDeadLetters(url))


def default_dead_letters(checkpointer: BaseCheckpointSaver) -> DeadLetterStore:
    """The dead-letter store that goes with a checkpointer (where its checkpoints are)."""
    storage = saver_storage(checkpointer)
    if storage.kind == "postgres":
        return postgres_dead_letters(storage.target)
    if storage.kind == "sqlite":
        from checkpointers.dead_letters_sqlite import SqliteDeadLetters

        return _shared(f"sqlite:{storage.target}", lambda: SqliteDeadLetters(storage.target))
    return _memory_store(storage.saver)


def _memory_store(saver: BaseCheckpointSaver) -> InMemoryDeadLetters:
    """The in-memory letters of a saver, shared with its clones (same storage)."""
    with _shared_lock:
        found = _saver_stores.get(saver)
        if found is None:
            storage = getattr(saver, "storage", None)
            twins = [s for k, s in _saver_stores.items() if getattr(k, "storage", 0) is storage]
            found = twins[0] if twins and storage is not None else InMemoryDeadLetters()
            _saver_stores[saver] = found
        return found
