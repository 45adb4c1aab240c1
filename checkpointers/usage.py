"""The usage table: one row per model call, beside the checkpoints, read back as totals.

`nodes.ask.invoke_model` writes a `UsageRecord` for every model call (see `nodes.usage`). The
table lives where the checkpoints live, chosen from the checkpointer like the effect ledger
(`checkpointers.ledger.default_ledger`): a Postgres table beside Postgres checkpoints
(`checkpointers.usage_postgres`), a table in the SQLite checkpoint file
(`checkpointers.usage_sqlite`), this process's memory for the in-memory saver; a graph
compiled without a checkpointer (the server gives it one) uses the run's saver's table.

**Once per call.** A row's ``call_id`` is its key. Inside a graph it is derived from the
thread, the task's checkpoint namespace (which holds the task id, the same when a step is
re-run from its checkpoint) and the call's index in that task, so a node re-run after a crash
or on resuming an interrupt writes the same keys: the first row is kept and its ``attempts``
go up, and the totals count the call once. Outside a graph each call gets a random key.

Example:
    >>> log = InMemoryUsageLog()
    >>> row = UsageRecord(call_id="t|agent:1|0", thread_id="t", user_id="alice", role="agent",
    ...                   model="gpt-4o-mini", input_tokens=10, output_tokens=5,
    ...                   total_tokens=15, cost_usd=0.0000045)
    >>> log.record(row), log.record(row)
    (True, False)
    >>> log.totals(user_id="alice")["total_tokens"], log.rows()[0].attempts
    (15, 2)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config

from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from checkpointers.saver_storage import database_url, saver_storage

__all__ = [
    "InMemoryUsageLog",
    "RunUsageLog",
    "UsageLog",
    "UsageRecord",
    "default_usage_log",
    "sum_records",
]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UsageRecord:
    """One model call: who made it, where, with which model, and what it used.

    Attributes:
        call_id: the row's key (see the module docs).
        thread_id: the thread ("" outside a thread).
        run_id: the run, when LangGraph knows it (the server's runs; a config's ``run_id``).
        user_id: the authenticated user (`nodes.identity`), else None.
        role: who was asked (``"agent"``, ``"judge"``).
        model: the model's name (the provider's, when it reports one).
        input_tokens: prompt tokens.
        output_tokens: completion tokens.
        total_tokens: total tokens.
        cost_usd: the call's cost in US dollars; None when the model has no price.
        estimated: True when the tokens are the offline estimate, not a provider's count.
        checkpoint_ns: the task's checkpoint namespace ("" outside a graph).
        call_index: the call's index within its task.
        attempts: how often the call was recorded (a re-run after a crash adds one).
        recorded_at: when the row was first written (UTC).
    """

    call_id: str
    thread_id: str
    user_id: str | None
    role: str
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float | None
    run_id: str | None = None
    estimated: bool = False
    checkpoint_ns: str = ""
    call_index: int = 0
    attempts: int = 1
    recorded_at: datetime = field(default_factory=_now)


def sum_records(records: Iterable[UsageRecord]) -> dict[str, Any]:
    """Totals of some rows, shaped like `state.usage.UsageTotals` (cost None when unpriced)."""
    totals: dict[str, Any] = {
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "cost_usd": None,
        "unpriced_calls": 0,
    }
    for row in records:
        totals["calls"] += 1
        totals["input_tokens"] += row.input_tokens
        totals["output_tokens"] += row.output_tokens
        totals["total_tokens"] += row.total_tokens
        if row.cost_usd is None:
            totals["unpriced_calls"] += 1
        else:
            totals["cost_usd"] = round((totals["cost_usd"] or 0.0) + row.cost_usd, 9)
    return totals


class UsageLog(Protocol):
    """Where usage rows are written and read back (see the module docs)."""

    def record(self, row: UsageRecord) -> bool:
        """Write a row; False when its ``call_id`` was already there (attempts counted)."""

    def rows(
        self,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[UsageRecord]:
        """Rows matching every filter given (``since`` inclusive, ``until`` exclusive)."""

    def totals(
        self,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """`sum_records` of the matching rows (same filters as `rows`)."""


def matches(
    row: UsageRecord,
    thread_id: str | None,
    run_id: str | None,
    user_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    """Whether `row` passes every filter given."""
    return (
        thread_id in (None, row.thread_id)
        and run_id in (None, row.run_id)
        and user_id in (None, row.user_id)
        and (since is None or row.recorded_at >= since)
        and (until is None or row.recorded_at < until)
    )


class InMemoryUsageLog:
    """Usage rows in this process's memory (the in-memory saver's table).

    Rows are also indexed by user and by run, so the checks made before every model call (a
    user's cap, a run's spend) read only their own rows, like the Postgres table's indexes.
    """

    def __init__(self) -> None:
        self._rows: dict[str, UsageRecord] = {}
        self._by_user: dict[str | None, list[str]] = {}
        self._by_run: dict[str | None, list[str]] = {}
        self._lock = threading.Lock()

    def record(self, row: UsageRecord) -> bool:
        """Write a row (see `UsageLog.record`)."""
        with self._lock:
            known = self._rows.get(row.call_id)
            if known is not None:
                self._rows[row.call_id] = replace(known, attempts=known.attempts + 1)
                return False
            self._rows[row.call_id] = row
            self._by_user.setdefault(row.user_id, []).append(row.call_id)
            self._by_run.setdefault(row.run_id, []).append(row.call_id)
            return True

    def _candidates(self, user_id: str | None, run_id: str | None) -> Iterable[UsageRecord]:
        if run_id is not None:
            return (self._rows[key] for key in self._by_run.get(run_id, ()))
        if user_id is not None:
            return (self._rows[key] for key in self._by_user.get(user_id, ()))
        return self._rows.values()

    def rows(
        self,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[UsageRecord]:
        """Matching rows, oldest first (see `UsageLog.rows`)."""
        with self._lock:
            found = [
                r
                for r in self._candidates(user_id, run_id)
                if matches(r, thread_id, run_id, user_id, since, until)
            ]
        return sorted(found, key=lambda r: r.recorded_at)

    def totals(self, **filters: Any) -> dict[str, Any]:
        """Totals of the matching rows (see `UsageLog.totals`)."""
        return sum_records(self.rows(**filters))


_saver_logs: weakref.WeakKeyDictionary[BaseCheckpointSaver, InMemoryUsageLog] = (
    weakref.WeakKeyDictionary()
)
_shared_logs: dict[str, UsageLog] = {}
_shared_lock = threading.Lock()


def _shared(key: str, make: Callable[[], UsageLog]) -> UsageLog:
    """One usage log per database (URL or file), shared by every graph of the process."""
    with _shared_lock:
        if key not in _shared_logs:
            _shared_logs[key] = make()
        return _shared_logs[key]


def _database_url_log() -> UsageLog | None:
    env_url = database_url()
    if env_url is None:
        return None
    from checkpointers.usage_postgres import PostgresUsageLog

    return _shared(env_url, lambda: PostgresUsageLog(env_url))


def default_usage_log(checkpointer: BaseCheckpointSaver | None) -> UsageLog:
    """The usage table that goes with a checkpointer (the effect ledger's rules).

    Postgres savers: a table in the same database; a SQLite saver: a table in its file; no
    checkpointer: a `RunUsageLog` (the run's saver's table on each call); a saver of unknown
    storage: ``DATABASE_URL``'s Postgres if set; the in-memory saver: memory (graphs on the
    same saver share it). See `checkpointers.saver_storage`.
    """
    if checkpointer is None:
        return RunUsageLog()
    storage = saver_storage(checkpointer)
    if storage.kind == "postgres":
        from checkpointers.usage_postgres import PostgresUsageLog

        return _shared(storage.target, lambda: PostgresUsageLog(storage.target))
    if storage.kind == "sqlite":
        from checkpointers.usage_sqlite import SqliteUsageLog

        return _shared(f"sqlite:{storage.target}", lambda: SqliteUsageLog(storage.target))
    return _memory_log(storage.saver)


def _memory_log(saver: BaseCheckpointSaver) -> InMemoryUsageLog:
    """The in-memory table of a saver, shared with its clones.

    A run may use a shallow clone of the graph's saver (LangGraph clones it to add a msgpack
    allowlist); the clone shares the saver's storage, and so its table.
    """
    with _shared_lock:
        found = _saver_logs.get(saver)
        if found is None:
            storage = getattr(saver, "storage", None)
            twins = [log for s, log in _saver_logs.items() if getattr(s, "storage", 0) is storage]
            found = twins[0] if twins and storage is not None else InMemoryUsageLog()
            _saver_logs[saver] = found
        return found


class RunUsageLog:
    """The usage table of whichever checkpointer the current run uses, chosen per call.

    Outside a run, or in a run without a checkpointer: ``DATABASE_URL``'s Postgres if set,
    else this object's own memory.
    """

    def __init__(self) -> None:
        self._memory = InMemoryUsageLog()

    def current(self) -> UsageLog:
        """The table this call should use (see the class docs)."""
        try:
            saver = get_config().get("configurable", {}).get(RUN_CHECKPOINTER_KEY)
        except RuntimeError:  # outside a run
            saver = None
        if isinstance(saver, BaseCheckpointSaver):
            return default_usage_log(saver)
        return _database_url_log() or self._memory

    def record(self, row: UsageRecord) -> bool:
        """Write a row (see `UsageLog.record`)."""
        return self.current().record(row)

    def rows(self, **filters: Any) -> list[UsageRecord]:
        """Matching rows (see `UsageLog.rows`)."""
        return self.current().rows(**filters)

    def totals(self, **filters: Any) -> dict[str, Any]:
        """Totals of the matching rows (see `UsageLog.totals`)."""
        return self.current().totals(**filters)
