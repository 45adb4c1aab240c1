"""Where circuit breakers keep their state: `BreakerStore`, in memory or beside the checkpoints.

A breaker is one row per key (``"model:openai:gpt-4o-mini"``, ``"tool:refund"``): its state
(``closed``, ``open``, ``half_open``), the times of its recent failures, when it opened, when
its half-open probe was claimed, and the last error. `nodes.breakers.BreakerBoard` decides
*when* to call the store; the store makes each transition atomic, so callers in several
threads (in memory) or several processes (Postgres, `checkpointers.breakers_postgres`) agree:

- `BreakerStore.admit`: a closed breaker lets the call through; an open one whose cool-down
  has passed hands the half-open probe to exactly one caller (and again to one caller when a
  claimed probe was never reported within the probe timeout); anyone else is refused, with
  the seconds until the next probe may be claimed;
- `BreakerStore.record_failure`: adds a failure to the sliding window (only the latest
  ``threshold`` failures younger than ``window_s`` are kept) and opens the breaker at the
  threshold; a failure while half-open opens it again for another cool-down;
- `BreakerStore.record_success`: closes a half-open breaker and forgets the failures of a
  closed one (an open breaker ignores late successes of calls made before it opened).

Which store goes with a checkpointer (`default_breaker_store`): Postgres savers share a table in
their database across processes; the in-memory saver, no checkpointer, and SQLite savers use
one process-wide in-memory store (a SQLite file's processes do not share breakers); a saver of
unknown storage uses ``DATABASE_URL``'s Postgres when it is set.

Example:
    >>> store = InMemoryBreakerStore()
    >>> store.record_failure("tool:refund", "boom", threshold=2, window_s=60).state
    'closed'
    >>> store.record_failure("tool:refund", "boom", threshold=2, window_s=60).state
    'open'
    >>> store.admit("tool:refund", cooldown_s=30, probe_timeout_s=30).allowed
    False
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.saver_storage import saver_storage

__all__ = [
    "Admission",
    "BreakerState",
    "BreakerStore",
    "CircuitState",
    "InMemoryBreakerStore",
    "default_breaker_store",
    "process_breaker_store",
]

CircuitState = Literal["closed", "open", "half_open"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BreakerState:
    """One breaker as stored.

    Attributes:
        key: the breaker (``"model:<provider>:<model>"`` or ``"tool:<name>"``).
        state: ``closed`` (calls go through), ``open`` (calls fail fast), ``half_open`` (one
            probe call is under way).
        failures: failures within the window when the row was last written.
        opened_at: when the breaker last opened (None: never, or closed since).
        probe_started_at: when the half-open probe was claimed (None outside half-open).
        last_error: the last failure's description.
        updated_at: when the row was last written.
        failure_times: the times of the failures counted (oldest first).
    """

    key: str
    state: CircuitState = "closed"
    failures: int = 0
    opened_at: datetime | None = None
    probe_started_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime | None = None
    failure_times: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Admission:
    """What `BreakerStore.admit` decided about one call.

    Attributes:
        allowed: the call may go ahead.
        probe: this caller holds the half-open probe (its outcome closes or re-opens).
        retry_in_s: when refused, seconds until a probe may be claimed.
        state: the breaker after the decision (None: no row, i.e. closed).
    """

    allowed: bool
    probe: bool = False
    retry_in_s: float = 0.0
    state: BreakerState | None = None


class BreakerStore(Protocol):
    """Breaker rows with atomic transitions (see the module docs)."""

    def admit(self, key: str, *, cooldown_s: float, probe_timeout_s: float) -> Admission:
        """Let a call through, hand it the probe, or refuse it (one atomic step)."""

    def record_failure(
        self, key: str, error: str, *, threshold: int, window_s: float
    ) -> BreakerState:
        """Count a failure; open at `threshold` failures within `window_s` (atomic)."""

    def record_success(self, key: str) -> BreakerState | None:
        """Close a half-open breaker, forget a closed one's failures.

        Returns:
            the breaker after the change; None when nothing changed (no row, an open
            breaker, or a closed one without failures).
        """

    def states(self) -> list[BreakerState]:
        """Every breaker, by key."""

    def reset(self, key: str) -> bool:
        """Forget a breaker (it is closed again); False when there was none."""


def _seconds(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0)


class InMemoryBreakerStore:
    """Breakers in this process's memory, one lock around every transition.

    Args:
        clock: the current time (UTC); tests pass a fake one instead of sleeping.
    """

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._rows: dict[str, BreakerState] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, *, cooldown_s: float, probe_timeout_s: float) -> Admission:
        """See `BreakerStore.admit`."""
        with self._lock:
            now = self._clock()
            row = self._rows.get(key)
            if row is None or row.state == "closed":
                return Admission(allowed=True, state=row)
            if row.state == "open" and row.opened_at is not None:
                ready_at = row.opened_at + timedelta(seconds=cooldown_s)
            else:
                started = row.probe_started_at or row.updated_at or now
                ready_at = started + timedelta(seconds=probe_timeout_s)
            if now < ready_at:
                return Admission(allowed=False, retry_in_s=_seconds(ready_at - now), state=row)
            row = replace(row, state="half_open", probe_started_at=now, updated_at=now)
            self._rows[key] = row
            return Admission(allowed=True, probe=True, state=row)

    def record_failure(
        self, key: str, error: str, *, threshold: int, window_s: float
    ) -> BreakerState:
        """See `BreakerStore.record_failure`."""
        with self._lock:
            now = self._clock()
            row = self._rows.get(key) or BreakerState(key=key)
            since = now - timedelta(seconds=window_s)
            times = tuple(t for t in (*row.failure_times, now) if t > since)[-threshold:]
            state, opened_at, probe = row.state, row.opened_at, row.probe_started_at
            if row.state == "half_open" or (row.state == "closed" and len(times) >= threshold):
                state, opened_at, probe = "open", now, None
            row = BreakerState(
                key=key,
                state=state,
                failures=len(times),
                opened_at=opened_at,
                probe_started_at=probe,
                last_error=error,
                updated_at=now,
                failure_times=times,
            )
            self._rows[key] = row
            return row

    def record_success(self, key: str) -> BreakerState | None:
        """See `BreakerStore.record_success`."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or row.state == "open":
                return None
            if row.state == "closed" and not row.failure_times:
                return None
            row = replace(
                row,
                state="closed",
                failures=0,
                failure_times=(),
                opened_at=None,
                probe_started_at=None,
                updated_at=self._clock(),
            )
            self._rows[key] = row
            return row

    def states(self) -> list[BreakerState]:
        """See `BreakerStore.states`."""
        with self._lock:
            return [self._rows[key] for key in sorted(self._rows)]

    def reset(self, key: str) -> bool:
        """See `BreakerStore.reset`."""
        with self._lock:
            return self._rows.pop(key, None) is not None


_process_store = InMemoryBreakerStore()
_shared_stores: dict[str, BreakerStore] = {}
_shared_lock = threading.Lock()


def process_breaker_store() -> InMemoryBreakerStore:
    """The in-memory store every graph of this process shares (no durable store)."""
    return _process_store


def _postgres_store(url: str) -> BreakerStore:
    """One Postgres store per database URL, shared by every graph of the process."""
    from checkpointers.breakers_postgres import PostgresBreakerStore

    with _shared_lock:
        if url not in _shared_stores:
            _shared_stores[url] = PostgresBreakerStore(url)
        return _shared_stores[url]


def default_breaker_store(checkpointer: BaseCheckpointSaver | None) -> BreakerStore:
    """The breaker store that goes with a checkpointer (see the module docs).

    Args:
        checkpointer: the run's saver, or None.
    """
    if checkpointer is None:
        return _process_store
    storage = saver_storage(checkpointer)
    if storage.kind == "postgres":
        return _postgres_store(storage.target)
    return _process_store  # memory, and SQLite (see the module docs)
