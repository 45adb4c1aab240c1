"""Retention of checkpoints: prune old ones, delete (or archive) finished threads (Postgres here).

LangGraph's Postgres saver keeps every checkpoint of every thread; nothing prunes. `prune`
applies each graph's `ops.retention_policy.RetentionPolicy` to every thread (or one graph's):

**Which checkpoints stay** (per thread and checkpoint namespace, `keep_set`):

1. the latest ``keep_last`` (the latest one always: it is what a resume loads);
2. every checkpoint where an approval or a stop happened: those with pending writes of an
   interrupt (``__interrupt__``), a resume (``__resume__``) or a run stop (``run_stop``, what
   ``agent-patterns audit`` lists), and the checkpoint each of them produced;
3. what those need to load: the ``messages`` channel is stored as deltas
   (`state.messages_channel`): a checkpoint's conversation is rebuilt from the nearest
   snapshot by replaying the writes of every checkpoint in between, so each kept checkpoint
   keeps its ancestors back to the one where every delta channel was snapshotted (the
   ``counters_since_delta_snapshot`` metadata is empty there). Without this a pruned thread
   would resume with a truncated conversation.

Everything else goes: the checkpoints, their ``checkpoint_writes``, and the
``checkpoint_blobs`` rows that only deleted checkpoints referenced (a blob still referenced by
a kept checkpoint, or written by a run meanwhile, is never touched).

**Finished threads** (no step left to run, no pending interrupt, no error; read from the
latest checkpoint's versions) whose latest checkpoint is older than ``finished_after`` are
deleted whole. With ``archive_dir`` the rows are written there first (`ops.archive`).

Each thread is pruned in its own transaction under the workers' per-thread advisory lock
(`workers.locks`), taken with ``pg_try_advisory_xact_lock``: a thread a worker is running is
skipped this time, never waited for. ``dry_run`` does the same work and rolls it back, so
the counts it reports are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops.archive import archive_path, write_archive
from ops.retention_policy import RetentionConfig, RetentionPolicy

__all__ = ["MARKING_CHANNELS", "PruneReport", "keep_set", "prune", "thread_has_work"]

MARKING_CHANNELS = ("__interrupt__", "__resume__", "run_stop")
"""Pending writes that make their checkpoint (and the one it produced) kept."""
_PENDING = frozenset({"__start__", "__pregel_tasks"})
_LOCK = "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)) AS held"
_THREADS = """
SELECT DISTINCT ON (thread_id) thread_id, checkpoint AS head, checkpoint_id AS head_id, metadata
  FROM checkpoints WHERE checkpoint_ns = '' ORDER BY thread_id, checkpoint_id DESC"""
_ROWS = """
SELECT checkpoint_ns AS ns, checkpoint_id AS id, parent_checkpoint_id AS parent,
       metadata -> 'counters_since_delta_snapshot' AS counters,
       checkpoint -> 'channel_versions' AS versions
  FROM checkpoints WHERE thread_id = %s"""
_MARKED = """
SELECT DISTINCT checkpoint_ns AS ns, checkpoint_id AS id, channel FROM checkpoint_writes
 WHERE thread_id = %s AND channel = ANY(%s)"""
_PAIRS = "unnest(%s::text[], %s::text[]) AS f(ns, id)"
_DELETE_WRITES = f"""
DELETE FROM checkpoint_writes w USING {_PAIRS}
 WHERE w.thread_id = %s AND w.checkpoint_ns = f.ns AND w.checkpoint_id = f.id"""
_DELETE_CHECKPOINTS = f"""
DELETE FROM checkpoints c USING {_PAIRS}
 WHERE c.thread_id = %s AND c.checkpoint_ns = f.ns AND c.checkpoint_id = f.id"""
_DELETE_BLOBS = """
DELETE FROM checkpoint_blobs b USING unnest(%s::text[], %s::text[], %s::text[]) AS f(ns, ch, v)
 WHERE b.thread_id = %s AND b.checkpoint_ns = f.ns AND b.channel = f.ch AND b.version = f.v"""
_SELECT_WRITES = f"""
SELECT w.* FROM checkpoint_writes w, {_PAIRS}
 WHERE w.thread_id = %s AND w.checkpoint_ns = f.ns AND w.checkpoint_id = f.id"""
_SELECT_CHECKPOINTS = f"""
SELECT c.* FROM checkpoints c, {_PAIRS}
 WHERE c.thread_id = %s AND c.checkpoint_ns = f.ns AND c.checkpoint_id = f.id"""
_SELECT_BLOBS = """
SELECT b.* FROM checkpoint_blobs b, unnest(%s::text[], %s::text[], %s::text[]) AS f(ns, ch, v)
 WHERE b.thread_id = %s AND b.checkpoint_ns = f.ns AND b.channel = f.ch AND b.version = f.v"""
_TABLES = ("checkpoints", "checkpoint_writes", "checkpoint_blobs")

Key = tuple[str, str]
"""A checkpoint: its namespace and id."""


@dataclass
class PruneReport:
    """What a prune did (or, dry, would do)."""

    dry_run: bool = False
    threads_seen: int = 0
    threads_pruned: int = 0
    threads_deleted: int = 0
    skipped_locked: list[str] = field(default_factory=list)
    checkpoints_deleted: int = 0
    writes_deleted: int = 0
    blobs_deleted: int = 0
    archives: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        verb = "would delete" if self.dry_run else "deleted"
        locked = f", {len(self.skipped_locked)} busy skipped" if self.skipped_locked else ""
        return (
            f"{self.threads_seen} threads: {self.threads_pruned} pruned, "
            f"{self.threads_deleted} finished threads deleted{locked}; {verb} "
            f"{self.checkpoints_deleted} checkpoints, {self.writes_deleted} writes, "
            f"{self.blobs_deleted} blobs; {len(self.archives)} archive file(s)"
        )


def keep_set(rows: Iterable[Mapping[str, Any]], marked: Iterable[Key], keep_last: int) -> set[Key]:
    """The checkpoints of one thread that stay (see the module docs).

    Args:
        rows: the thread's checkpoints: ``ns``, ``id``, ``parent``, ``counters`` (the
            ``counters_since_delta_snapshot`` metadata, or None).
        marked: checkpoints with interrupt, resume or stop writes.
        keep_last: the latest checkpoints kept per namespace.
    """
    by_ns: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_ns.setdefault(str(row["ns"]), {})[str(row["id"])] = row
    children = {(ns, str(r["parent"])): i for ns, items in by_ns.items() for i, r in items.items()}
    base: set[Key] = set()
    for ns, items in by_ns.items():
        base |= {(ns, i) for i in sorted(items, reverse=True)[:keep_last]}
    for key in marked:
        base |= {key, (key[0], children[key])} if key in children else {key}
    keep: set[Key] = set()
    for ns, start in base:
        items = by_ns.get(ns, {})
        current: str | None = start
        while current in items and (ns, current) not in keep:
            keep.add((ns, current))
            if not items[current].get("counters"):
                break  # every delta channel is whole here: older ones are not needed
            current = items[current].get("parent")
    return keep


def thread_has_work(head: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> bool:
    """Whether a thread's latest checkpoint still has a step to run.

    A triggered node has a value in its ``branch:to:<node>`` channel (stored inline, as
    null), pending ``Send`` tasks a value in ``__pregel_tasks``; a checkpoint saved from an
    input (``source: input``) has its input still to run.
    """
    values = head.get("channel_values") or {}
    if any(name.startswith("branch:to:") or name in _PENDING for name in values):
        return True
    return (metadata or {}).get("source") == "input"


def _freed_blobs(rows: list[Mapping[str, Any]], keep: set[Key]) -> list[tuple[str, str, str]]:
    """The (ns, channel, version) blobs only deleted checkpoints reference."""
    kept_refs: set[tuple[str, str, str]] = set()
    dropped_refs: set[tuple[str, str, str]] = set()
    for row in rows:
        refs = {(row["ns"], ch, str(v)) for ch, v in (row["versions"] or {}).items()}
        (kept_refs if (row["ns"], row["id"]) in keep else dropped_refs).update(refs)
    return sorted(dropped_refs - kept_refs)


def _columns(items: Sequence[tuple[str, ...]]) -> list[list[str]]:
    return [list(column) for column in zip(*items, strict=True)] if items else [[], []]


@dataclass
class _Thread:
    thread_id: str
    head: Mapping[str, Any]
    head_id: str
    metadata: Mapping[str, Any]

    @property
    def graph_id(self) -> str | None:
        found = self.metadata.get("graph_id")
        return str(found) if found else None


def _archive(
    cur: Any, thread: _Thread, policy: RetentionPolicy, pairs: list[Key], blobs: list[Any]
) -> str | None:
    """Write the rows about to be deleted (pairs: checkpoints; blobs: freed) to the archive."""
    if policy.archive_dir is None:
        return None
    ns_ids, blob_cols = _columns(pairs), _columns(blobs) if blobs else [[], [], []]
    tid = thread.thread_id
    tables = {
        "checkpoints": cur.execute(_SELECT_CHECKPOINTS, [*ns_ids, tid]).fetchall(),
        "checkpoint_writes": cur.execute(_SELECT_WRITES, [*ns_ids, tid]).fetchall(),
        "checkpoint_blobs": cur.execute(_SELECT_BLOBS, [*blob_cols, tid]).fetchall(),
    }
    path = archive_path(policy.archive_dir, thread.graph_id, tid)
    write_archive(path, tables)
    return str(path)


def _delete_thread(cur: Any, thread: _Thread, policy: RetentionPolicy, report: PruneReport) -> None:
    if policy.archive_dir is not None and not report.dry_run:
        tid = thread.thread_id
        tables = {
            table: cur.execute(f"SELECT * FROM {table} WHERE thread_id = %s", (tid,)).fetchall()
            for table in _TABLES
        }
        path = archive_path(policy.archive_dir, thread.graph_id, tid)
        write_archive(path, tables)
        report.archives.append(str(path))
    counts = []
    for table in ("checkpoint_writes", "checkpoints", "checkpoint_blobs"):
        counts.append(
            cur.execute(f"DELETE FROM {table} WHERE thread_id = %s", (thread.thread_id,)).rowcount
        )
    report.writes_deleted += counts[0]
    report.checkpoints_deleted += counts[1]
    report.blobs_deleted += counts[2]
    report.threads_deleted += 1


def _prune_thread(cur: Any, thread: _Thread, policy: RetentionPolicy, report: PruneReport) -> None:
    tid = thread.thread_id
    rows = cur.execute(_ROWS, (tid,)).fetchall()
    marks = cur.execute(_MARKED, (tid, list(MARKING_CHANNELS))).fetchall()
    keep = keep_set(rows, {(m["ns"], m["id"]) for m in marks}, policy.keep_last)
    dropped = sorted((r["ns"], r["id"]) for r in rows if (r["ns"], r["id"]) not in keep)
    if not dropped:
        return
    freed = _freed_blobs(rows, keep)
    if not report.dry_run:
        archived = _archive(cur, thread, policy, dropped, freed)
        if archived:
            report.archives.append(archived)
    ns_ids = _columns(dropped)
    report.writes_deleted += cur.execute(_DELETE_WRITES, [*ns_ids, tid]).rowcount
    report.checkpoints_deleted += cur.execute(_DELETE_CHECKPOINTS, [*ns_ids, tid]).rowcount
    if freed:
        report.blobs_deleted += cur.execute(_DELETE_BLOBS, [*_columns(freed), tid]).rowcount
    report.threads_pruned += 1


def _pending_blobs(cur: Any, thread: _Thread) -> bool:
    """Whether the head holds a pending input or ``Send`` tasks (stored as blobs, not inline)."""
    versions = thread.head.get("channel_versions") or {}
    wanted = [(name, str(versions[name])) for name in sorted(_PENDING) if name in versions]
    for channel, version in wanted:
        found = cur.execute(
            "SELECT 1 FROM checkpoint_blobs WHERE thread_id = %s AND checkpoint_ns = '' "
            "AND channel = %s AND version = %s AND type <> 'empty' LIMIT 1",
            (thread.thread_id, channel, version),
        ).fetchone()
        if found is not None:
            return True
    return False


def _finished_and_old(cur: Any, thread: _Thread, policy: RetentionPolicy, now: datetime) -> bool:
    if policy.finished_after is None:
        return False
    stamp = thread.head.get("ts")
    if not stamp or now - datetime.fromisoformat(str(stamp)) < policy.finished_after:
        return False
    if thread_has_work(thread.head, thread.metadata) or _pending_blobs(cur, thread):
        return False
    pending = cur.execute(
        "SELECT 1 FROM checkpoint_writes WHERE thread_id = %s AND checkpoint_ns = '' "
        "AND checkpoint_id = %s AND channel = ANY(%s) LIMIT 1",
        (thread.thread_id, thread.head_id, ["__interrupt__", "__error__"]),
    ).fetchone()
    return pending is None


def prune(
    url: str,
    config: RetentionConfig | None = None,
    *,
    graph_id: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneReport:
    """Apply the retention policies to the threads of the checkpoints at `url`.

    Args:
        url: a ``postgresql://`` URL (the checkpoints' database), or a ``sqlite:///`` file
            (`ops.retention_sqlite`).
        config: the policies (default: the defaults, keep 20, never delete threads).
        graph_id: only the threads of this graph (the ``graph_id`` checkpoint tag).
        dry_run: report what would be deleted; change nothing.
        now: the time ages are measured from (default: now, UTC).

    Raises:
        ValueError: `url` is neither a Postgres URL nor a SQLite file.
    """
    import psycopg
    from psycopg.rows import dict_row

    from workers.locks import THREAD_LOCK_NAMESPACE

    config = config or RetentionConfig()
    moment = now or datetime.now(UTC)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        from ops.retention_sqlite import prune_sqlite

        path = url[len("sqlite:///") :]
        return prune_sqlite(path, config, graph_id=graph_id, dry_run=dry_run, now=moment)
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            f"retention prunes Postgres or SQLite checkpoints (postgresql://..., "
            f"sqlite:///file), not {url!r}"
        )
    report = PruneReport(dry_run=dry_run)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        threads = [_Thread(**row) for row in conn.execute(_THREADS).fetchall()]
        conn.commit()
        for thread in threads:
            if graph_id is not None and (thread.graph_id or "") != graph_id:
                continue
            report.threads_seen += 1
            policy = config.policy_for(thread.graph_id)
            with conn.transaction(force_rollback=dry_run), conn.cursor() as cur:
                held = cur.execute(_LOCK, (THREAD_LOCK_NAMESPACE, thread.thread_id)).fetchone()
                if not (held and held["held"]):
                    report.skipped_locked.append(thread.thread_id)
                    continue
                if _finished_and_old(cur, thread, policy, moment):
                    _delete_thread(cur, thread, policy, report)
                else:
                    _prune_thread(cur, thread, policy, report)
    return report
