"""The ledger: where approvals are bound and side effects happen exactly once.

It holds two records, both keyed by ``(thread_id, tool_call_id)``, in storage a client of the
graph cannot write (a Postgres table next to the checkpoints, or this process's memory):

**Decisions.** The approval gate writes the reviewer's decision here, with the hash of the
exact arguments it was shown, right after a real resume (and the refund policy writes its
automatic approvals). The tool node runs a call that needs approval only when a decision for
that call id *and those arguments* is found here. Nothing written into the graph's state (an
approval record forged through the state API, a ``goto`` straight to the tool node) can
approve anything: the ``approvals`` list in state is the audit trail's mirror for readers, not
the authority.

**Effects.** Checkpoints make a graph resume from its last completed step, but a step that was
cut short is run again, and a tool inside it would act twice. The tool node writes an effect
entry before a side-effecting tool runs and stores the result after it; on replay (resume,
retry, crash recovery, a fork from an old checkpoint):

- a **completed** entry: the tool is not run; its recorded result is returned;
- a **started** entry (the process died inside the tool): a tool that declares it is
  *idempotent* (it passes `tools.idempotency.idempotency_key()` to the system it calls, which
  de-duplicates) runs again with the same key, so the effect still happens once; any other
  tool is **not** run again and the model is told the outcome is unknown, so a person can
  reconcile it: at most once, never twice;
- an entry for the same call id with **different arguments**: `LedgerConflictError`, never a
  silent replay of another call's result (call ids are made unique per thread before the gate,
  see `nodes.call_ids`, so this means a forged or corrupted call).

What is guaranteed: no second effect for the same tool call id in the same thread, given the
tool is idempotent or the ledger shows it started. Not guaranteed: a non-idempotent tool whose
process died mid-call may or may not have acted (the ledger marks it ``unknown``).

Text is stored so that any string survives: arguments as ASCII JSON, results with NUL and
lone surrogates escaped (Postgres text cannot hold them).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_config

if TYPE_CHECKING:
    from checkpointers.ledger_postgres import PostgresLedger

__all__ = [
    "EffectLedger",
    "InMemoryLedger",
    "LedgerConflictError",
    "LedgerEntry",
    "LedgerStatus",
    "PostgresLedger",
    "RunLedger",
    "args_hash",
    "default_ledger",
    "storable_text",
]

LedgerStatus = Literal["started", "completed", "unknown"]


def args_hash(args: Any) -> str:
    """A stable hash of tool-call arguments (key order and non-ASCII text do not matter)."""
    text = json.dumps(args, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates escaped, so any database text column accepts it."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


class LedgerConflictError(RuntimeError):
    """A tool call id already recorded with other arguments: refused, never replayed."""


@dataclass(frozen=True)
class LedgerEntry:
    """One side-effecting tool call and what became of it."""

    thread_id: str
    tool_call_id: str
    tool: str
    args: dict[str, Any]
    status: LedgerStatus
    attempts: int
    started_at: str
    result: str | None = None
    result_status: str | None = None
    completed_at: str | None = None
    args_hash: str = ""


def same_call(entry: LedgerEntry, tool: str, digest: str) -> LedgerEntry:
    """`entry`, when it records this tool with these arguments (or predates hashing).

    Raises:
        LedgerConflictError: the entry records another tool or other arguments.
    """
    if entry.args_hash and (entry.args_hash != digest or entry.tool != tool):
        raise LedgerConflictError(
            f"tool call {entry.tool_call_id} in thread {entry.thread_id} was recorded for "
            f"{entry.tool} with different arguments; refusing to run or replay it"
        )
    return entry


class EffectLedger(Protocol):
    """Where decisions are bound and side-effecting calls are recorded (see the module docs)."""

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt; returns the entry with the attempt counted (1 on first sight).

        Raises:
            LedgerConflictError: the call id is recorded with another tool or arguments.
        """

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome of the attempt."""

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""

    def record_decision(self, thread_id: str, decision: dict[str, Any]) -> None:
        """Bind a decision (an `ApprovalRecord` dump plus ``args_hash``) to its tool call.

        A later decision for the same call replaces it (a thread forked back to before the
        gate and decided again); what already ran stays in the effect entries.
        """

    def decision(self, thread_id: str, tool_call_id: str) -> dict[str, Any] | None:
        """The decision bound to a tool call, or None."""

    def decisions(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions of one thread (or all), oldest first, each with its ``thread_id``."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class InMemoryLedger:
    """A ledger in this process's memory, for in-memory and SQLite checkpointers."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], LedgerEntry] = {}
        self._decisions: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt (see `EffectLedger.begin`)."""
        digest = args_hash(args)
        with self._lock:
            key = (thread_id, tool_call_id)
            entry = self._entries.get(key)
            if entry is None:
                entry = LedgerEntry(
                    thread_id=thread_id,
                    tool_call_id=tool_call_id,
                    tool=tool,
                    args=dict(args),
                    status="started",
                    attempts=1,
                    started_at=_now(),
                    args_hash=digest,
                )
            elif same_call(entry, tool, digest).status == "started":
                entry = replace(entry, attempts=entry.attempts + 1)
            self._entries[key] = entry
            return entry

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome (see `EffectLedger.finish`)."""
        with self._lock:
            key = (thread_id, tool_call_id)
            self._entries[key] = replace(
                self._entries[key],
                status=status,
                result=result,
                result_status=result_status,
                completed_at=_now(),
            )

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""
        with self._lock:
            found = [e for e in self._entries.values() if thread_id in (None, e.thread_id)]
        return sorted(found, key=lambda e: e.started_at)

    def record_decision(self, thread_id: str, decision: dict[str, Any]) -> None:
        """Bind a decision to its call (see `EffectLedger.record_decision`)."""
        with self._lock:
            key = (thread_id, str(decision["tool_call_id"]))
            self._decisions[key] = {**json.loads(json.dumps(decision)), "thread_id": thread_id}

    def decision(self, thread_id: str, tool_call_id: str) -> dict[str, Any] | None:
        """The decision bound to a tool call, or None."""
        with self._lock:
            found = self._decisions.get((thread_id, tool_call_id))
        return dict(found) if found is not None else None

    def decisions(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions of one thread (or all), oldest first."""
        with self._lock:
            found = [
                dict(d) for d in self._decisions.values() if thread_id in (None, d["thread_id"])
            ]
        return sorted(found, key=lambda d: str(d.get("decided_at")))


def __getattr__(name: str) -> Any:
    """`PostgresLedger` lives in its own module; importing it here stays cheap."""
    if name == "PostgresLedger":
        from checkpointers.ledger_postgres import PostgresLedger

        return PostgresLedger
    raise AttributeError(name)


_saver_ledgers: weakref.WeakKeyDictionary[BaseCheckpointSaver, InMemoryLedger] = (
    weakref.WeakKeyDictionary()
)
_shared_ledgers: dict[str, EffectLedger] = {}
_shared_lock = threading.Lock()

RUN_CHECKPOINTER_KEY = "__pregel_checkpointer"
"""Where LangGraph puts the checkpointer a run uses, in the run's configurable."""


def _shared(key: str, make: Callable[[], EffectLedger]) -> EffectLedger:
    """One ledger per database (URL or file), shared by every graph of the process."""
    with _shared_lock:
        if key not in _shared_ledgers:
            _shared_ledgers[key] = make()
        return _shared_ledgers[key]


def _database_url_ledger() -> EffectLedger | None:
    env_url = os.environ.get("DATABASE_URL", "")
    if not env_url.startswith(("postgresql://", "postgres://")):
        return None
    from checkpointers.ledger_postgres import PostgresLedger

    return _shared(env_url, lambda: PostgresLedger(env_url))


class RunLedger:
    """The ledger of whichever checkpointer the current run uses, chosen per call.

    A graph compiled without a checkpointer (the module-level graphs `langgraph dev` serves,
    which the server copies with its own saver) cannot know its ledger when it is built. Each
    call here looks up the run's checkpointer (LangGraph passes it in the run's config) and
    uses `default_ledger` of it: Postgres tables beside Postgres checkpoints, SQLite tables in
    the SQLite file. Outside a run, or in a run without a checkpointer: ``DATABASE_URL``'s
    Postgres if set, else this object's own in-memory ledger.
    """

    def __init__(self) -> None:
        self._memory = InMemoryLedger()

    def current(self) -> EffectLedger:
        """The ledger this call should use (see the class docs)."""
        try:
            saver = get_config().get("configurable", {}).get(RUN_CHECKPOINTER_KEY)
        except RuntimeError:  # outside a run
            saver = None
        if isinstance(saver, BaseCheckpointSaver):
            return default_ledger(saver)
        return _database_url_ledger() or self._memory

    def begin(
        self, thread_id: str, tool_call_id: str, tool: str, args: dict[str, Any]
    ) -> LedgerEntry:
        """Record an attempt (see `EffectLedger.begin`)."""
        return self.current().begin(thread_id, tool_call_id, tool, args)

    def finish(
        self,
        thread_id: str,
        tool_call_id: str,
        result: str,
        result_status: str,
        status: LedgerStatus,
    ) -> None:
        """Store the outcome (see `EffectLedger.finish`)."""
        self.current().finish(thread_id, tool_call_id, result, result_status, status)

    def entries(self, thread_id: str | None = None) -> list[LedgerEntry]:
        """Entries of one thread (or all), oldest first."""
        return self.current().entries(thread_id)

    def record_decision(self, thread_id: str, decision: dict[str, Any]) -> None:
        """Bind a decision to its call (see `EffectLedger.record_decision`)."""
        self.current().record_decision(thread_id, decision)

    def decision(self, thread_id: str, tool_call_id: str) -> dict[str, Any] | None:
        """The decision bound to a tool call, or None."""
        return self.current().decision(thread_id, tool_call_id)

    def decisions(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions of one thread (or all), oldest first."""
        return self.current().decisions(thread_id)


def _unwrapped(saver: BaseCheckpointSaver) -> BaseCheckpointSaver:
    """The saver itself, not a wrapper around it.

    The LangGraph server wraps the checkpointer `langgraph.json` names in an adapter that
    keeps the real saver as ``_inner``; the ledger belongs with the real one.
    """
    seen = 0
    while isinstance(getattr(saver, "_inner", None), BaseCheckpointSaver) and seen < 5:
        saver, seen = saver._inner, seen + 1  # type: ignore[attr-defined]
    return saver


def default_ledger(checkpointer: BaseCheckpointSaver | None) -> EffectLedger:
    """The ledger that goes with a checkpointer.

    - a sync Postgres saver: a ledger on the saver's own pool;
    - an async Postgres saver: a ledger on the same database, with a small sync pool;
    - a SQLite saver opened by `checkpointers.open_checkpointer` (or its async twin): tables
      in the same file (`checkpointers.ledger_sqlite`);
    - no checkpointer (a graph the server will give one): a `RunLedger`, which picks the
      ledger of the run's checkpointer on every call;
    - a wrapper the LangGraph server puts around its saver: the wrapped saver's ledger;
    - another saver of unknown storage: ``DATABASE_URL``'s Postgres if set, else as below;
    - the in-memory saver: an in-memory ledger for that saver (graphs built on the same saver
      share it).
    """
    if checkpointer is None:
        return RunLedger()
    checkpointer = _unwrapped(checkpointer)
    from checkpointers.factory import sqlite_file
    from checkpointers.ledger_postgres import PostgresLedger
    from checkpointers.ledger_sqlite import SqliteLedger

    kind = type(checkpointer).__name__
    conn = getattr(checkpointer, "conn", None)
    if kind == "PostgresSaver" and hasattr(conn, "connection"):
        return PostgresLedger(pool=conn)
    if kind in ("PostgresSaver", "AsyncPostgresSaver") and conn is not None:
        url = getattr(conn, "conninfo", None) or conn.info.dsn
        return _shared(url, lambda: PostgresLedger(url))
    path = sqlite_file(checkpointer)
    if path is not None:
        absolute = os.path.abspath(os.path.expanduser(path))
        return _shared(f"sqlite:{absolute}", lambda: SqliteLedger(absolute))
    if not isinstance(checkpointer, InMemorySaver):  # a saver of unknown storage
        found = _database_url_ledger()
        if found is not None:
            return found
    with _shared_lock:
        if checkpointer not in _saver_ledgers:
            _saver_ledgers[checkpointer] = InMemoryLedger()
        return _saver_ledgers[checkpointer]
