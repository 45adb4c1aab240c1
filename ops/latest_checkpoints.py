"""The newest root checkpoint of every thread, with what the run monitor needs from it.

On the Postgres saver this is ONE query over the saver's own tables, however many
checkpoints each thread has: ``DISTINCT ON (thread_id) ... ORDER BY thread_id, checkpoint_id
DESC`` over the root namespace (the saver's primary key index serves it), joined with

- the thread's first checkpoint (when it was created),
- the newest checkpoint's interrupt and error writes (``__interrupt__``, ``__error__``),
- the blobs of its ``run_stop`` record and its pending ``Send``s (``__pregel_tasks``), read
  only at the version the checkpoint names.

Filters on graph, owner and time apply to the newest checkpoint (a thread is listed by what
it is now, not by what an older checkpoint said). The SQLite saver answers which checkpoints
are each thread's newest and oldest in one query, then loads those two; other savers (in
memory) are walked.

What runs next is read without loading the graph (`next_nodes`): a node is due while its
trigger channel (``branch:to:<node>``) holds a value, and the targets of `Send`s written in
the checkpoint's step are due too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

__all__ = [
    "ERROR_CHANNEL",
    "INTERRUPT_CHANNEL",
    "LatestCheckpoint",
    "ThreadFilter",
    "latest_checkpoints",
    "next_nodes",
    "postgres_connection",
    "stop_of_latest_input",
]

INTERRUPT_CHANNEL = "__interrupt__"
ERROR_CHANNEL = "__error__"
TASKS_CHANNEL = "__pregel_tasks"
RUN_STOP_CHANNEL = "run_stop"
OWNER_KEY = "owner"
"""The checkpoint metadata key the server's auth stamps with the caller (`server.ownership`)."""
_BRANCH = "branch:to:"


@dataclass(frozen=True)
class ThreadFilter:
    """Which threads to read (every field optional; all given must hold)."""

    thread_id: str | None = None
    graph: str | None = None
    owner: str | None = None
    since: datetime | None = None
    before: datetime | None = None

    def admits(self, graph_id: str, owner: str | None, updated_at: datetime | None) -> bool:
        """Whether a thread with these facts passes the filter (the thread id aside)."""
        if self.graph is not None and graph_id != self.graph:
            return False
        if self.owner is not None and owner != self.owner:
            return False
        if self.since is not None and (updated_at is None or updated_at < self.since):
            return False
        return not (self.before is not None and (updated_at is None or updated_at >= self.before))


@dataclass(frozen=True)
class LatestCheckpoint:
    """A thread as its newest root checkpoint shows it."""

    thread_id: str
    checkpoint_id: str
    graph_id: str
    owner: str | None
    created_at: datetime | None
    updated_at: datetime | None
    step: int | None
    next_nodes: tuple[str, ...]
    interrupts: list[Any] = field(default_factory=list)
    """The pending interrupts' values (an approval gate's is a list of `HumanInterrupt`)."""
    error: str | None = None
    stop: dict[str, Any] | None = None
    """The ``run_stop`` record, when it belongs to the thread's latest input."""
    run_id: str | None = None


def next_nodes(
    value_keys: Iterable[str], updated: Iterable[str] | None, sends: Any = None
) -> tuple[str, ...]:
    """The nodes a checkpoint would run next, without loading the graph.

    A node is due when its trigger channel (``branch:to:<node>``) holds a value (a consumed
    trigger is removed from the checkpoint's values); the graph's start is due when the
    checkpoint's step wrote ``__start__`` (the input), and the targets of `Send`s when it
    wrote ``__pregel_tasks``.

    Args:
        value_keys: the channels the checkpoint holds a value for.
        updated: the channels its step updated (``updated_channels``; None when unknown).
        sends: the ``__pregel_tasks`` value (a list of `Send`), when known.
    """
    keys = set(value_keys)
    written = set(updated or ())
    due = {key[len(_BRANCH) :] for key in keys if key.startswith(_BRANCH)}
    if "__start__" in written or (updated is None and "__start__" in keys):
        due.add("__start__")
    if TASKS_CHANNEL in written:
        targets = [str(getattr(s, "node", "")) for s in sends or ()]
        due.update([t for t in targets if t] or ["(send)"])
    return tuple(sorted(due))


def _newer(version: Any, seen: Any) -> bool:
    if version is None:
        return False
    if seen is None:
        return True
    if isinstance(version, str) and isinstance(seen, str):
        return version > seen
    return float(str(version).split(".")[0]) > float(str(seen).split(".")[0])


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def stop_of_latest_input(versions: Mapping[str, Any], stop: Any) -> dict[str, Any] | None:
    """The ``run_stop`` record, when written after the thread's latest input."""
    if not isinstance(stop, dict) or RUN_STOP_CHANNEL not in versions:
        return None
    started = versions.get("__start__")
    return stop if started is None or not _newer(started, versions[RUN_STOP_CHANNEL]) else None


def _error_text(value: Any) -> str:
    return value if isinstance(value, str) else f"{type(value).__name__}: {value}"


@contextmanager
def postgres_connection(saver: PostgresSaver) -> Iterator[Any]:
    """A connection of the saver (its pool's, or its own under its lock), rows as dicts."""
    conn: Any = saver.conn
    if isinstance(conn, ConnectionPool):
        with conn.connection() as pooled:
            yield pooled
    else:
        with saver.lock:
            yield conn


_QUERY = """
WITH latest AS (
    SELECT DISTINCT ON (c.thread_id) c.thread_id, c.checkpoint_id, c.checkpoint, c.metadata
      FROM checkpoints c
     WHERE c.checkpoint_ns = '' {thread_clause}
     ORDER BY c.thread_id, c.checkpoint_id DESC
)
SELECT l.thread_id, l.checkpoint_id, l.checkpoint->>'ts' AS updated_at,
       l.checkpoint->'channel_versions' AS versions, l.checkpoint->'updated_channels' AS updated,
       ARRAY(SELECT jsonb_object_keys(l.checkpoint->'channel_values')) AS inline_keys,
       l.metadata,
       (SELECT f.checkpoint->>'ts' FROM checkpoints f
         WHERE f.thread_id = l.thread_id AND f.checkpoint_ns = ''
         ORDER BY f.checkpoint_id LIMIT 1) AS created_at,
       w.channels AS write_channels, w.types AS write_types, w.blobs AS write_blobs,
       rs.type AS stop_type, rs.blob AS stop_blob, pt.type AS sends_type, pt.blob AS sends_blob
  FROM latest l
  LEFT JOIN LATERAL (
      SELECT array_agg(cw.channel ORDER BY cw.task_id, cw.idx) AS channels,
             array_agg(cw.type ORDER BY cw.task_id, cw.idx) AS types,
             array_agg(cw.blob ORDER BY cw.task_id, cw.idx) AS blobs
        FROM checkpoint_writes cw
       WHERE cw.thread_id = l.thread_id AND cw.checkpoint_ns = ''
         AND cw.checkpoint_id = l.checkpoint_id
         AND cw.channel IN ('__interrupt__', '__error__')
  ) w ON true
  LEFT JOIN checkpoint_blobs rs
         ON rs.thread_id = l.thread_id AND rs.checkpoint_ns = '' AND rs.channel = 'run_stop'
        AND rs.version = l.checkpoint->'channel_versions'->>'run_stop'
  LEFT JOIN checkpoint_blobs pt
         ON pt.thread_id = l.thread_id AND pt.checkpoint_ns = ''
        AND pt.channel = '__pregel_tasks'
        AND pt.version = l.checkpoint->'channel_versions'->>'__pregel_tasks'
 WHERE true {filter_clause}
 ORDER BY l.checkpoint->>'ts' DESC, l.thread_id
"""


def _sql(wanted: ThreadFilter) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    thread_clause = ""
    if wanted.thread_id is not None:
        thread_clause = "AND c.thread_id = %(thread_id)s"
        params["thread_id"] = wanted.thread_id
    clauses = []
    if wanted.graph is not None:
        clauses.append("coalesce(l.metadata->>'graph_id', 'react') = %(graph)s")
        params["graph"] = wanted.graph
    if wanted.owner is not None:
        clauses.append(f"l.metadata->>'{OWNER_KEY}' = %(owner)s")
        params["owner"] = wanted.owner
    if wanted.since is not None:
        clauses.append("(l.checkpoint->>'ts')::timestamptz >= %(since)s")
        params["since"] = wanted.since
    if wanted.before is not None:
        clauses.append("(l.checkpoint->>'ts')::timestamptz < %(before)s")
        params["before"] = wanted.before
    filter_clause = "".join(f" AND {c}" for c in clauses)
    return _QUERY.format(thread_clause=thread_clause, filter_clause=filter_clause), params


def _load(saver: BaseCheckpointSaver, kind: str | None, blob: Any) -> Any:
    if kind is None or kind == "empty" or blob is None:
        return None
    return saver.serde.loads_typed((kind, bytes(blob)))


def _from_row(saver: PostgresSaver, row: Mapping[str, Any]) -> LatestCheckpoint:
    versions = row["versions"] or {}
    interrupts: list[Any] = []
    error: str | None = None
    writes = zip(
        row["write_channels"] or [], row["write_types"] or [], row["write_blobs"] or [], strict=True
    )
    for channel, kind, blob in writes:
        value = _load(saver, kind, blob)
        if channel == INTERRUPT_CHANNEL:
            interrupts.extend(value if isinstance(value, list | tuple) else [value])
        elif channel == ERROR_CHANNEL:
            error = _error_text(value)
    metadata = row["metadata"] or {}
    sends = _load(saver, row["sends_type"], row["sends_blob"])
    return LatestCheckpoint(
        thread_id=str(row["thread_id"]),
        checkpoint_id=str(row["checkpoint_id"]),
        graph_id=str(metadata.get("graph_id") or "react"),
        owner=metadata.get(OWNER_KEY),
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        step=metadata.get("step"),
        next_nodes=next_nodes(row["inline_keys"] or [], row["updated"], sends),
        interrupts=interrupts,
        error=error,
        stop=stop_of_latest_input(versions, _load(saver, row["stop_type"], row["stop_blob"])),
        run_id=metadata.get("run_id"),
    )


def _postgres(saver: PostgresSaver, wanted: ThreadFilter) -> list[LatestCheckpoint]:
    query, params = _sql(wanted)
    with postgres_connection(saver) as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    return [_from_row(saver, row) for row in rows]


def _from_tuple(latest: CheckpointTuple, created: CheckpointTuple) -> LatestCheckpoint:
    checkpoint, metadata = latest.checkpoint, latest.metadata or {}
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}
    interrupts: list[Any] = []
    error: str | None = None
    for _task, channel, value in latest.pending_writes or ():
        if channel == INTERRUPT_CHANNEL:
            interrupts.extend(value if isinstance(value, list | tuple) else [value])
        elif channel == ERROR_CHANNEL:
            error = _error_text(value)
    return LatestCheckpoint(
        thread_id=str(latest.config["configurable"]["thread_id"]),
        checkpoint_id=str(checkpoint["id"]),
        graph_id=str(metadata.get("graph_id") or "react"),
        owner=metadata.get(OWNER_KEY),  # type: ignore[arg-type]
        created_at=_time(created.checkpoint.get("ts")),
        updated_at=_time(checkpoint.get("ts")),
        step=metadata.get("step"),
        next_nodes=next_nodes(
            values, checkpoint.get("updated_channels"), values.get(TASKS_CHANNEL)
        ),
        interrupts=interrupts,
        error=error,
        stop=stop_of_latest_input(versions, values.get(RUN_STOP_CHANNEL)),
        run_id=metadata.get("run_id"),
    )


def _newest_first(item: LatestCheckpoint) -> tuple[float, str]:
    return (-(item.updated_at.timestamp() if item.updated_at else 0.0), item.thread_id)


def _walk(saver: BaseCheckpointSaver, wanted: ThreadFilter) -> list[LatestCheckpoint]:
    config = {"configurable": {"thread_id": wanted.thread_id}} if wanted.thread_id else None
    newest: dict[str, CheckpointTuple] = {}
    oldest: dict[str, CheckpointTuple] = {}
    for item in list(saver.list(config)):  # type: ignore[arg-type]
        if item.config["configurable"].get("checkpoint_ns", ""):
            continue
        thread = str(item.config["configurable"]["thread_id"])
        ident = str(item.checkpoint["id"])
        if thread not in newest or ident > str(newest[thread].checkpoint["id"]):
            newest[thread] = item
        if thread not in oldest or ident < str(oldest[thread].checkpoint["id"]):
            oldest[thread] = item
    found = []
    for thread, item in newest.items():
        latest = saver.get_tuple(item.config) or item  # with its pending writes
        summary = _from_tuple(latest, oldest[thread])
        if wanted.admits(summary.graph_id, summary.owner, summary.updated_at):
            found.append(summary)
    found.sort(key=_newest_first)
    return found


_SQLITE = """
SELECT thread_id, MAX(checkpoint_id) AS newest, MIN(checkpoint_id) AS oldest
  FROM checkpoints WHERE checkpoint_ns = '' {thread_clause}
 GROUP BY thread_id
"""


def _sqlite(saver: SqliteSaver, wanted: ThreadFilter) -> list[LatestCheckpoint]:
    """One query for each thread's newest and oldest root checkpoint ids, then those two."""
    clause, params = ("AND thread_id = ?", (wanted.thread_id,)) if wanted.thread_id else ("", ())
    with saver.cursor(transaction=False) as cur:
        rows = cur.execute(_SQLITE.format(thread_clause=clause), params).fetchall()
    found = []
    for thread, newest, oldest in rows:
        latest = saver.get_tuple(_at(str(thread), str(newest)))
        first = saver.get_tuple(_at(str(thread), str(oldest)))
        if latest is None or first is None:
            continue  # deleted meanwhile
        summary = _from_tuple(latest, first)
        if wanted.admits(summary.graph_id, summary.owner, summary.updated_at):
            found.append(summary)
    found.sort(key=_newest_first)
    return found


def _at(thread_id: str, checkpoint_id: str) -> Any:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": checkpoint_id,
        }
    }


def latest_checkpoints(
    saver: BaseCheckpointSaver, wanted: ThreadFilter | None = None
) -> list[LatestCheckpoint]:
    """The newest root checkpoint of every thread that passes `wanted`, newest first.

    Args:
        saver: the checkpoint saver (Postgres: one query; SQLite: one query, then the two
            checkpoints each thread needs; others: a walk).
        wanted: which threads (None: all).
    """
    wanted = wanted or ThreadFilter()
    if isinstance(saver, PostgresSaver):
        return _postgres(saver, wanted)
    if isinstance(saver, SqliteSaver):
        return _sqlite(saver, wanted)
    return _walk(saver, wanted)
