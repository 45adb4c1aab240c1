"""The run-status table in Postgres (``agent_patterns_runs``) and its progress events.

Every write is one autocommit statement that also sends the row's new status on the thread's
channel (`checkpointers.run_status.run_channel`) with ``pg_notify`` in the same statement, so
a client that ``LISTEN``s and then reads the row never misses a change. Times are the
database's (``now()``). `PostgresRunStatusTable.follow` is the client side: it listens, reads
the row, and yields events until the run is done (waiting, finished or failed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from checkpointers.run_status import RunEvent, RunRecord, run_channel
from checkpointers.side_tables import PostgresSideTables

__all__ = ["RUN_TABLE", "PostgresRunStatusTable"]

RUN_TABLE = "agent_patterns_runs"
_LOCK_KEY = 0x7275_6E73_7461  # "runsta"
_SCHEMA = [
    f"""
    CREATE TABLE IF NOT EXISTS {RUN_TABLE} (
        run_id      text        PRIMARY KEY,
        thread_id   text        NOT NULL,
        graph_id    text        NOT NULL,
        status      text        NOT NULL
                                CHECK (status IN ('queued', 'running', 'waiting', 'finished',
                                                  'failed')),
        queue       text        NOT NULL DEFAULT '',
        worker      text,
        worker_pid  integer,
        attempts    integer     NOT NULL DEFAULT 0,
        outcome     text,
        error       text,
        queued_at   timestamptz NOT NULL DEFAULT now(),
        started_at  timestamptz,
        updated_at  timestamptz NOT NULL DEFAULT now()
    )""",
    f"CREATE INDEX IF NOT EXISTS {RUN_TABLE}_thread ON {RUN_TABLE} (thread_id, queued_at)",
]
_COLUMNS = (
    "run_id, thread_id, graph_id, status, queue, worker, worker_pid, attempts, outcome, error, "
    "queued_at, started_at, updated_at"
)
_NOTIFY = (
    "SELECT pg_notify(%(channel)s, json_build_object('kind', 'status', 'run_id', run_id, "
    "'status', status, 'worker', worker, 'attempts', attempts)::text) FROM changed"
)
_QUEUED = f"""
WITH changed AS (
    INSERT INTO {RUN_TABLE} (run_id, thread_id, graph_id, status, queue)
    VALUES (%(run_id)s, %(thread_id)s, %(graph_id)s, 'queued', %(queue)s)
    ON CONFLICT (run_id) DO NOTHING
    RETURNING run_id, status, worker, attempts
) {_NOTIFY}"""
_STARTED = f"""
WITH changed AS (
    INSERT INTO {RUN_TABLE} AS r (run_id, thread_id, graph_id, status, queue, worker,
                                  worker_pid, attempts, started_at)
    VALUES (%(run_id)s, %(thread_id)s, %(graph_id)s, 'running', %(queue)s, %(worker)s,
            %(worker_pid)s, 1, now())
    ON CONFLICT (run_id) DO UPDATE
       SET status = 'running', worker = excluded.worker, worker_pid = excluded.worker_pid,
           attempts = r.attempts + 1, started_at = now(), updated_at = now(), error = NULL
    RETURNING run_id, status, worker, attempts
) {_NOTIFY}"""
_FINISHED = f"""
WITH changed AS (
    UPDATE {RUN_TABLE}
       SET status = %(status)s, outcome = %(outcome)s, error = %(error)s, updated_at = now()
     WHERE run_id = %(run_id)s
    RETURNING run_id, status, worker, attempts
) {_NOTIFY}"""


def _record(row: dict[str, Any]) -> RunRecord:
    return RunRecord(**row)


def _event(payload: str) -> RunEvent | None:
    try:
        data = json.loads(payload)
        kind = data.pop("kind")
        run_id = data.pop("run_id")
    except (ValueError, KeyError, TypeError):
        return None
    status, name = data.pop("status", None), data.pop("name", None)
    return RunEvent(kind=kind, run_id=run_id, status=status, name=name, detail=data)


class PostgresRunStatusTable:
    """``agent_patterns_runs`` in the database at `url`; see the module docs.

    Args:
        url: a ``postgresql://`` URL (the workers' ``DATABASE_URL``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._tables = PostgresSideTables(_SCHEMA, _LOCK_KEY, url)

    def _write(self, statement: str, channel_of: str, **values: Any) -> None:
        with self._tables.connection() as conn:
            conn.execute(statement, {**values, "channel": run_channel(channel_of)})

    def queued(self, run_id: str, thread_id: str, graph_id: str, queue: str = "") -> None:
        """Record a submitted run (before it is sent to the broker)."""
        self._write(
            _QUEUED, thread_id, run_id=run_id, thread_id=thread_id, graph_id=graph_id, queue=queue
        )

    def started(
        self,
        run_id: str,
        thread_id: str,
        graph_id: str,
        *,
        worker: str,
        worker_pid: int,
        queue: str = "",
    ) -> None:
        """A worker took the run (holding the thread's lock): ``running``, one more attempt."""
        self._write(
            _STARTED,
            thread_id,
            run_id=run_id,
            thread_id=thread_id,
            graph_id=graph_id,
            queue=queue,
            worker=worker,
            worker_pid=worker_pid,
        )

    def finished(
        self,
        run_id: str,
        thread_id: str,
        status: str,
        *,
        outcome: str | None = None,
        error: str | None = None,
    ) -> None:
        """The worker is done with the run: ``waiting``, ``finished`` or ``failed``."""
        if status not in ("waiting", "finished", "failed"):
            raise ValueError(f"a run ends waiting, finished or failed, not {status!r}")
        self._write(
            _FINISHED, thread_id, run_id=run_id, status=status, outcome=outcome, error=error
        )

    def announce(self, thread_id: str, run_id: str, kind: str, **detail: Any) -> None:
        """Send a progress event that changes no row (``step``, ``busy``)."""
        payload = json.dumps({"kind": kind, "run_id": run_id, **detail}, default=str)
        with self._tables.connection() as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (run_channel(thread_id), payload[:7900]))

    def get(self, run_id: str) -> RunRecord | None:
        """One run's row, or None."""
        with self._tables.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM {RUN_TABLE} WHERE run_id = %s", (run_id,)
            ).fetchone()
        return _record(row) if row else None

    def history(self, thread_id: str) -> list[RunRecord]:
        """The thread's runs, oldest first."""
        with self._tables.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM {RUN_TABLE} WHERE thread_id = %s "
                "ORDER BY queued_at, run_id",
                (thread_id,),
            ).fetchall()
        return [_record(row) for row in rows]

    def latest(self, thread_id: str) -> RunRecord | None:
        """The thread's most recently submitted run, or None."""
        runs = self.history(thread_id)
        return runs[-1] if runs else None

    def follow(
        self, thread_id: str, run_id: str, *, timeout_s: float, poll_s: float = 1.0
    ) -> Iterator[RunEvent]:
        """Yield the run's progress events until it is done, on a dedicated connection.

        Listens on the thread's channel, then reads the row (a change made before the LISTEN
        is seen there), and re-reads it every `poll_s` as a fallback.

        Raises:
            TimeoutError: the run is not done after `timeout_s` (it may still finish later).
        """
        import psycopg

        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.url, autocommit=True) as conn:
            with self._tables.connection():
                pass  # the table exists before the first read
            conn.execute(f'LISTEN "{run_channel(thread_id)}"')
            last: tuple[str, int] | None = None
            while True:
                record = self.get(run_id)
                if record is not None and (record.status, record.attempts) != last:
                    last = (record.status, record.attempts)
                    detail = {"worker": record.worker, "attempts": record.attempts}
                    yield RunEvent("status", run_id, status=record.status, detail=detail)
                    if record.done:
                        return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"run {run_id} of thread {thread_id} is not done yet")
                for note in conn.notifies(timeout=min(poll_s, remaining), stop_after=1):
                    event = _event(note.payload)
                    if event is not None and event.run_id == run_id and event.kind != "status":
                        yield event

    def close(self) -> None:
        """Close the table's connection pool."""
        self._tables.close()
