"""What the side tables say about many threads at once: worker runs, usage, dead letters.

Each is one query per table on Postgres (``agent_patterns_runs``: the latest run of each
thread; ``agent_patterns_model_usage``: totals per thread), skipped when the table does not
exist yet (a database no worker or model call has touched). On other savers the usage table
of the saver is read per thread and there is no run-status table (workers need Postgres).
Open dead letters come from `ops.dead_lettered`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import dict_row

from checkpointers.run_status import RunRecord
from checkpointers.run_status_postgres import RUN_TABLE
from checkpointers.usage import default_usage_log
from checkpointers.usage_postgres import TOTALS, USAGE_TABLE, totals_from
from ops.dead_lettered import open_dead_letters
from ops.latest_checkpoints import ThreadFilter, postgres_connection

__all__ = [
    "ThreadFacts",
    "run_dict",
    "runs_without_checkpoints",
    "table_exists",
    "thread_facts",
    "worker_runs",
]

_RUN_COLUMNS = (
    "run_id, thread_id, graph_id, status, queue, worker, worker_pid, attempts, outcome, error, "
    "queued_at, started_at, updated_at"
)


@dataclass
class ThreadFacts:
    """Per thread id: its latest worker run, its usage totals, its open dead letter."""

    runs: dict[str, RunRecord]
    usage: dict[str, dict[str, Any]]
    dead_letters: dict[str, dict[str, Any]]


def table_exists(conn: Any, table: str) -> bool:
    """Whether `table` exists in the connection's database (its search path)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (table,)).fetchone()
    return bool(row and row["found"])


def _postgres(saver: PostgresSaver, threads: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    runs: dict[str, RunRecord] = {}
    usage: dict[str, dict[str, Any]] = {}
    with postgres_connection(saver) as conn, conn.cursor(row_factory=dict_row) as cur:
        if table_exists(conn, RUN_TABLE):
            rows = cur.execute(
                f"SELECT DISTINCT ON (thread_id) {_RUN_COLUMNS} FROM {RUN_TABLE} "
                "WHERE thread_id = ANY(%s) ORDER BY thread_id, queued_at DESC, run_id DESC",
                (threads,),
            ).fetchall()
            runs = {row["thread_id"]: RunRecord(**row) for row in rows}
        if table_exists(conn, USAGE_TABLE):
            query = TOTALS.replace("SELECT ", "SELECT thread_id, ", 1)
            rows = cur.execute(
                f"{query} WHERE thread_id = ANY(%s) GROUP BY thread_id", (threads,)
            ).fetchall()
            usage = {row["thread_id"]: totals_from(row) for row in rows}
    return runs, usage


def thread_facts(saver: BaseCheckpointSaver, thread_ids: Sequence[str]) -> ThreadFacts:
    """The side tables' facts about `thread_ids` (see the module docs)."""
    threads = list(thread_ids)
    if isinstance(saver, PostgresSaver):
        runs, usage = _postgres(saver, threads)
    else:
        log = default_usage_log(saver)
        runs = {}
        usage = {t: log.totals(thread_id=t) for t in threads}
    letters = open_dead_letters(saver)
    return ThreadFacts(
        runs=runs,
        usage=usage,
        dead_letters={t: letters[t] for t in threads if t in letters},
    )


def run_dict(record: RunRecord) -> dict[str, Any]:
    """A run-status row as JSON-safe values (times in ISO 8601)."""
    row = asdict(record)
    for key in ("queued_at", "started_at", "updated_at"):
        row[key] = row[key].isoformat() if row[key] is not None else None
    return row


def worker_runs(saver: BaseCheckpointSaver, thread_id: str) -> list[dict[str, Any]]:
    """Every run of the thread in the run-status table, oldest first (Postgres only)."""
    if not isinstance(saver, PostgresSaver):
        return []
    with postgres_connection(saver) as conn, conn.cursor(row_factory=dict_row) as cur:
        if not table_exists(conn, RUN_TABLE):
            return []
        rows = cur.execute(
            f"SELECT {_RUN_COLUMNS} FROM {RUN_TABLE} WHERE thread_id = %s "
            "ORDER BY queued_at, run_id",
            (thread_id,),
        ).fetchall()
    return [run_dict(RunRecord(**row)) for row in rows]


def runs_without_checkpoints(saver: BaseCheckpointSaver, wanted: ThreadFilter) -> list[RunRecord]:
    """The latest worker run of each thread that has no checkpoint yet (Postgres only).

    A run queued for a new thread and never started (a lost task, no worker on its queue)
    leaves no checkpoint, only its row: the list shows it from the row. Such a thread has
    no owner recorded yet, so an owner filter excludes it.
    """
    if not isinstance(saver, PostgresSaver) or wanted.owner is not None:
        return []
    clauses = ["NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.thread_id = r.thread_id)"]
    params: dict[str, Any] = {}
    for clause, key, value in (
        ("r.thread_id = %(thread_id)s", "thread_id", wanted.thread_id),
        ("r.graph_id = %(graph)s", "graph", wanted.graph),
        ("r.updated_at >= %(since)s", "since", wanted.since),
        ("r.updated_at < %(before)s", "before", wanted.before),
    ):
        if value is not None:
            clauses.append(clause)
            params[key] = value
    columns = ", ".join("r." + name.strip() for name in _RUN_COLUMNS.split(","))
    with postgres_connection(saver) as conn, conn.cursor(row_factory=dict_row) as cur:
        if not table_exists(conn, RUN_TABLE):
            return []
        rows = cur.execute(
            f"SELECT DISTINCT ON (r.thread_id) {columns} FROM {RUN_TABLE} r "
            f"WHERE {' AND '.join(clauses)} ORDER BY r.thread_id, r.queued_at DESC, r.run_id DESC",
            params,
        ).fetchall()
    return [RunRecord(**row) for row in rows]
