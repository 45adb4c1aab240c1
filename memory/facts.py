"""Semantic facts and procedural preferences with supersession, versions and forget.

A user's memories live in three namespaces of any LangGraph `BaseStore` (``root`` is
``"memories"`` unless a graph chooses another), each ``(<root...>, namespace_label(user))``:

- ``(root, user)``: the **current** facts, one item per fact, ``text`` embedded; this is all
  that recall searches, so a superseded version is never recalled;
- ``(root + "_procedures", user)``: the current **procedural preferences** (how the user
  wants to be served: "answer in bullet points"), listed whole, not searched;
- ``(root + "_history", user)``: every **superseded version**, kept for audit under
  ``"<key>:v<version>"`` with ``status: "superseded"``, ``superseded_by`` and
  ``superseded_at`` (never embedded, never recalled).

A fact (or preference) with an **attribute** (``location``, ``name``, ``contact_preference``,
``answer_format`` ...) is stored under a key derived from the user and the attribute, so a
new fact about the same attribute **supersedes** the stored one: the old value moves to the
history, the new one gets ``version + 1`` and ``supersedes: "<key>:v<old version>"``. A fact
without an attribute is keyed by its normalised text (`fact_key`): restating it updates its
provenance, a different one sits beside it. Every version keeps its provenance (user,
thread, source message id, time).

`forget` deletes what a user asked to forget: everything, or the memories matching an
attribute and/or words, with all their versions.

Writes are not transactional (a store has no transactions), but they are ordered so that a
replay converges: the old version is copied to the history before the current item is
replaced, and a replay that finds the new text already current only restates it.

Example:
    >>> from langgraph.store.memory import InMemoryStore
    >>> store = InMemoryStore()
    >>> origin = Provenance(user_id="ana", thread_id="t1", recorded_at="2026-01-01T00:00:00")
    >>> first = remember(store, "ana", "I live in Berlin.", attribute="location", provenance=origin)
    >>> first["change"], first["version"], first["thread_id"]
    ('added', 1, 't1')
    >>> moved = remember(store, "ana", "I moved to Lisbon.", attribute="location")
    >>> moved["change"], moved["version"], moved["previous_text"]
    ('superseded', 2, 'I live in Berlin.')
    >>> [(v["version"], v["status"], v["text"]) for v in history(store, "ana")]
    [(1, 'superseded', 'I live in Berlin.'), (2, 'current', 'I moved to Lisbon.')]
    >>> [r["text"] for r in forget(store, "ana", attribute="location")]
    ['I moved to Lisbon.', 'I live in Berlin.']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.store.base import BaseStore, Item

from memory.fact_rules import distinctive_words
from memory.namespaces import namespace_label

__all__ = [
    "MEMORIES_ROOT",
    "MemoryKind",
    "MemorySpaces",
    "Provenance",
    "current_procedures",
    "fact_key",
    "forget",
    "forget_matches",
    "history",
    "normalise_attribute",
    "remember",
    "slot_key",
]

MEMORIES_ROOT = "memories"
"""First label of the users' fact namespaces: ``("memories", user)``."""

MemoryKind = Literal["fact", "procedure"]

_LIST_LIMIT = 1000
"""At most this many items are read per namespace when listing (one user's memories)."""


@dataclass(frozen=True)
class MemorySpaces:
    """The three namespaces of one user's memories (current facts, procedures, history)."""

    facts: tuple[str, str]
    procedures: tuple[str, str]
    history: tuple[str, str]

    @classmethod
    def of(cls, user_id: str, root: str = MEMORIES_ROOT) -> MemorySpaces:
        """The namespaces of `user_id` under `root` (the id escaped by `namespace_label`).

        Example:
            >>> MemorySpaces.of("ana@example.com").history
            ('memories_history', 'ana@example%2Ecom')
        """
        label = namespace_label(user_id)
        return cls((root, label), (f"{root}_procedures", label), (f"{root}_history", label))

    def of_kind(self, kind: str) -> tuple[str, str]:
        """Where the current memories of `kind` live."""
        return self.procedures if kind == "procedure" else self.facts


@dataclass(frozen=True)
class Provenance:
    """Where a version came from: who said it, in which thread and message, and when."""

    user_id: str
    thread_id: str | None = None
    source_message_id: str | None = None
    recorded_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict, ``recorded_at`` filled with the current time if empty."""
        values = asdict(self)
        values["recorded_at"] = self.recorded_at or datetime.now(UTC).isoformat(timespec="seconds")
        return values


def _normalised(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!")


def fact_key(user_id: str, text: str) -> str:
    """The key of a fact without an attribute: the same text always gets the same key.

    Example:
        >>> fact_key("ana", "Prefers email.") == fact_key("ana", "  prefers EMAIL ")
        True
    """
    return hashlib.sha256(f"{user_id}\x00{_normalised(text)}".encode()).hexdigest()[:24]


def slot_key(user_id: str, kind: str, attribute: str) -> str:
    """The key of the memory holding `attribute` for the user: what supersession replaces."""
    digest = hashlib.sha256(f"{user_id}\x00{kind}\x00{attribute}".encode()).hexdigest()[:24]
    return f"{kind}-{digest}"


def normalise_attribute(attribute: str | None) -> str | None:
    """An attribute as a stable key: lower case, ``_`` between words; None when empty.

    Example:
        >>> normalise_attribute(" Contact preference "), normalise_attribute("  ")
        ('contact_preference', None)
    """
    if attribute is None:
        return None
    cleaned = re.sub(r"[^a-z0-9:]+", "_", attribute.lower()).strip("_:")
    return cleaned[:80] or None


def remember(
    store: BaseStore,
    user_id: str,
    text: str,
    *,
    kind: MemoryKind = "fact",
    attribute: str | None = None,
    category: str = "other",
    provenance: Provenance | None = None,
    root: str = MEMORIES_ROOT,
    source: str = "remember_facts",
) -> dict[str, Any]:
    """Store a fact or procedural preference; supersede the stored one with the same attribute.

    Args:
        store: the long-term store.
        user_id: whose memory it is.
        text: the fact or preference as a short statement.
        kind: ``"fact"`` (recalled by similarity) or ``"procedure"`` (applied to every call).
        attribute: what the memory is about (``"location"``); None: keyed by its text.
        category: the fact's category (preference, profile, situation, other).
        provenance: who said it, where and when; None: the user, now.
        root: first label of the fact namespace.
        source: what wrote it (recorded in the value).

    Returns:
        A record: ``status: "stored"``, ``change`` (``added`` new, ``restated`` same text
        again, ``superseded`` a new version), ``key``, ``namespace``, ``version``,
        ``supersedes`` and ``previous_text`` when superseded, and the stored value's fields.
    """
    spaces = MemorySpaces.of(user_id, root)
    namespace = spaces.of_kind(kind)
    attribute = normalise_attribute(attribute)
    key = slot_key(user_id, kind, attribute) if attribute else fact_key(user_id, text)
    origin = (provenance or Provenance(user_id=user_id)).as_dict()
    value: dict[str, Any] = {
        "kind": kind,
        "text": text,
        "category": category,
        "attribute": attribute,
        **origin,
        "source": source,
    }
    existing = store.get(namespace, key)
    old = dict(existing.value) if existing is not None else None
    record: dict[str, Any] = {"status": "stored", "change": "added", "version": 1}
    record["supersedes"] = None
    if old is not None and _normalised(str(old.get("text", ""))) == _normalised(text):
        record.update(change="restated", version=old.get("version", 1))
        record["supersedes"] = old.get("supersedes")
    elif old is not None:
        old_version = int(old.get("version", 1))
        archived = f"{key}:v{old_version}"
        store.put(
            spaces.history,
            archived,
            {
                **old,
                "version": old_version,
                "slot": key,
                "status": "superseded",
                "superseded_by": f"{key}:v{old_version + 1}",
                "superseded_at": origin["recorded_at"],
            },
            index=False,
        )
        record.update(change="superseded", version=old_version + 1, supersedes=archived)
        record["previous_text"] = old.get("text")
    value.update(version=record["version"], supersedes=record["supersedes"])
    store.put(namespace, key, value, index=["text"] if kind == "fact" else False)
    return {**record, "key": key, "namespace": list(namespace), **value}


def _listed(store: BaseStore, namespace: tuple[str, ...]) -> list[Item]:
    return list(store.search(namespace, limit=_LIST_LIMIT))


def current_procedures(
    store: BaseStore, user_id: str, *, root: str = MEMORIES_ROOT
) -> list[dict[str, Any]]:
    """The user's current procedural preferences, oldest first (key, text, attribute, ...)."""
    items = _listed(store, MemorySpaces.of(user_id, root).procedures)
    items.sort(key=lambda item: (item.created_at, item.key))
    return [{"key": item.key, **item.value} for item in items]


def history(
    store: BaseStore, user_id: str, *, key: str | None = None, root: str = MEMORIES_ROOT
) -> list[dict[str, Any]]:
    """Every version of the user's memories (current and superseded), for audit.

    Args:
        store: the long-term store.
        user_id: whose memories.
        key: only the versions of this memory (its current key); None: all.
        root: first label of the fact namespace.

    Returns:
        ``{key, slot, version, status ("current" or "superseded"), text, ...provenance}``,
        grouped by memory and oldest version first.
    """
    spaces = MemorySpaces.of(user_id, root)
    versions: list[dict[str, Any]] = []
    for namespace in (spaces.facts, spaces.procedures):
        for item in _listed(store, namespace):
            value = {"version": 1, **item.value}
            versions.append({**value, "key": item.key, "slot": item.key, "status": "current"})
    for item in _listed(store, spaces.history):
        versions.append({**item.value, "key": item.key})
    if key is not None:
        versions = [v for v in versions if v["slot"] == key]
    versions.sort(key=lambda v: (str(v["slot"]), int(v.get("version", 1))))
    return versions


def _matches(value: dict[str, Any], attribute: str | None, words: frozenset[str]) -> bool:
    """Whether a memory is what a forget request names (attribute and/or all its words)."""
    if attribute is not None and value.get("attribute") != attribute:
        return False
    if attribute is None and not words:
        return False
    return words <= distinctive_words(str(value.get("text", "")))


def _target_words(attribute: str | None, text: str) -> frozenset[str]:
    return distinctive_words(text) - distinctive_words(attribute or "")


def forget_matches(
    value: dict[str, Any], *, everything: bool = False, attribute: str | None = None, text: str = ""
) -> bool:
    """Whether a memory's value is what a forget request (`forget`'s arguments) names.

    Example:
        >>> value = {"text": "I live in Berlin.", "attribute": "location"}
        >>> forget_matches(value, text="Berlin"), forget_matches(value, attribute="name")
        (True, False)
    """
    attribute = normalise_attribute(attribute)
    return everything or _matches(value, attribute, _target_words(attribute, text))


def forget(
    store: BaseStore,
    user_id: str,
    *,
    everything: bool = False,
    attribute: str | None = None,
    text: str = "",
    root: str = MEMORIES_ROOT,
) -> list[dict[str, Any]]:
    """Delete what the user asked to forget, with every version of it.

    A memory matches when it has the `attribute` (if given) and its text contains every
    distinctive word of `text` (if any). A current memory that matches is deleted with all
    its versions; a superseded version that matches while the current one does not (the
    user forgets where they *used* to live, not where they live now) is deleted alone.

    Args:
        store: the long-term store.
        user_id: whose memories.
        everything: delete all of the user's facts, preferences and history.
        attribute: only memories about this attribute.
        text: words the memory must contain ("I live in Berlin" → ``berlin``).
        root: first label of the fact namespace.

    Returns:
        One record per deleted version: ``{key, namespace, kind, text, version, status}``.
    """
    spaces = MemorySpaces.of(user_id, root)
    attribute = normalise_attribute(attribute)
    words = _target_words(attribute, text)
    archived = _listed(store, spaces.history)
    doomed: list[tuple[tuple[str, ...], Item]] = []
    for namespace in (spaces.facts, spaces.procedures):
        for item in _listed(store, namespace):
            if everything or _matches(dict(item.value), attribute, words):
                doomed.append((namespace, item))
                versions = [a for a in archived if a.value.get("slot") == item.key]
                doomed.extend((spaces.history, version) for version in versions)
    gone = {item.key for _, item in doomed}
    for item in archived:
        if item.key not in gone and (everything or _matches(dict(item.value), attribute, words)):
            doomed.append((spaces.history, item))
    records = []
    for where, item in doomed:
        store.delete(where, item.key)
        status = "superseded" if where == spaces.history else "current"
        records.append(
            {
                "key": item.key,
                "namespace": list(where),
                "kind": item.value.get("kind", "fact"),
                "text": item.value.get("text"),
                "version": item.value.get("version", 1),
                "status": status,
            }
        )
    return records
