"""Retention of SQLite checkpoints (the demo's file): the Postgres rules on the SQLite tables.

The SQLite saver keeps each checkpoint's channel values inside the checkpoint row (no blob
table) and its pending writes in ``writes``. What stays is decided as for Postgres
(`ops.retention.keep_set`: the latest ``keep_last``, the checkpoints of approvals, resumes
and stops and what they produced, each one's delta chain back to its snapshot); finished
threads past ``finished_after`` are deleted whole, archived first when asked. Each thread is
pruned in its own ``BEGIN IMMEDIATE`` transaction (a writer of another process waits for it
within its busy timeout); ``dry_run`` rolls it back.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from ops.archive import archive_path, write_archive
from ops.retention import MARKING_CHANNELS, PruneReport, keep_set, thread_has_work
from ops.retention_policy import RetentionConfig, RetentionPolicy

__all__ = ["prune_sqlite"]

_HEADS = """
SELECT thread_id, checkpoint_id, type, checkpoint, metadata FROM checkpoints AS c
 WHERE checkpoint_ns = '' AND checkpoint_id = (
       SELECT max(checkpoint_id) FROM checkpoints
        WHERE thread_id = c.thread_id AND checkpoint_ns = '')
 ORDER BY thread_id"""


def _metadata(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    loaded = json.loads(raw)
    return loaded if isinstance(loaded, dict) else {}


def _finished(conn: sqlite3.Connection, head: sqlite3.Row, serde: JsonPlusSerializer) -> bool:
    checkpoint = serde.loads_typed((head["type"], head["checkpoint"]))
    values = checkpoint.get("channel_values") or {}
    if thread_has_work(checkpoint, _metadata(head["metadata"])):
        return False
    if "__pregel_tasks" in values and values["__pregel_tasks"]:
        return False
    pending = conn.execute(
        "SELECT 1 FROM writes WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ? "
        "AND channel IN ('__interrupt__', '__error__') LIMIT 1",
        (head["thread_id"], head["checkpoint_id"]),
    ).fetchone()
    return pending is None


def _old(head: sqlite3.Row, policy: RetentionPolicy, now: datetime, serde: Any) -> bool:
    if policy.finished_after is None:
        return False
    checkpoint = serde.loads_typed((head["type"], head["checkpoint"]))
    stamp = checkpoint.get("ts")
    return bool(stamp) and now - datetime.fromisoformat(str(stamp)) >= policy.finished_after


def _rows(conn: sqlite3.Connection, sql: str, params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, params).fetchall()]


def _delete_thread(
    conn: sqlite3.Connection, tid: str, graph: str | None, policy: RetentionPolicy, report: Any
) -> None:
    if policy.archive_dir is not None and not report.dry_run:
        tables = {t: _rows(conn, f"SELECT * FROM {t} WHERE thread_id = ?", (tid,)) for t in
                  ("checkpoints", "writes")}  # fmt: skip
        path = archive_path(policy.archive_dir, graph, tid)
        write_archive(path, tables)
        report.archives.append(str(path))
    report.writes_deleted += conn.execute("DELETE FROM writes WHERE thread_id = ?", (tid,)).rowcount
    deleted = conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (tid,)).rowcount
    report.checkpoints_deleted += deleted
    report.threads_deleted += 1


def _prune_thread(
    conn: sqlite3.Connection, tid: str, graph: str | None, policy: RetentionPolicy, report: Any
) -> None:
    rows = [
        {
            "ns": r["checkpoint_ns"],
            "id": r["checkpoint_id"],
            "parent": r["parent_checkpoint_id"],
            "counters": _metadata(r["metadata"]).get("counters_since_delta_snapshot"),
        }
        for r in conn.execute(
            "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, metadata "
            "FROM checkpoints WHERE thread_id = ?",
            (tid,),
        )
    ]
    marks = ",".join("?" * len(MARKING_CHANNELS))
    marked = conn.execute(
        "SELECT DISTINCT checkpoint_ns, checkpoint_id FROM writes "
        f"WHERE thread_id = ? AND channel IN ({marks})",
        (tid, *MARKING_CHANNELS),
    ).fetchall()
    keep = keep_set(rows, {(m[0], m[1]) for m in marked}, policy.keep_last)
    dropped = sorted((r["ns"], r["id"]) for r in rows if (r["ns"], r["id"]) not in keep)
    if not dropped:
        return
    where = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
    keys = [(tid, ns, cid) for ns, cid in dropped]
    if policy.archive_dir is not None and not report.dry_run:
        tables = {
            t: [row for key in keys for row in _rows(conn, f"SELECT * FROM {t} WHERE {where}", key)]
            for t in ("checkpoints", "writes")
        }
        path = archive_path(policy.archive_dir, graph, tid)
        write_archive(path, tables)
        report.archives.append(str(path))
    for key in keys:
        report.writes_deleted += conn.execute(f"DELETE FROM writes WHERE {where}", key).rowcount
        report.checkpoints_deleted += conn.execute(
            f"DELETE FROM checkpoints WHERE {where}", key
        ).rowcount
    report.threads_pruned += 1


def prune_sqlite(
    path: str,
    config: RetentionConfig,
    *,
    graph_id: str | None,
    dry_run: bool,
    now: datetime,
) -> PruneReport:
    """Apply the retention policies to the SQLite checkpoint file at `path`.

    Raises:
        ValueError: no checkpoint file there (nothing is created).
    """
    if not Path(path).expanduser().is_file():
        raise ValueError(f"no checkpoint file at {path}: nothing to prune")
    serde = JsonPlusSerializer()
    report = PruneReport(dry_run=dry_run)
    conn = sqlite3.connect(Path(path).expanduser(), isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    try:
        for head in conn.execute(_HEADS).fetchall():
            tid, metadata = head["thread_id"], _metadata(head["metadata"])
            graph = str(metadata["graph_id"]) if metadata.get("graph_id") else None
            if graph_id is not None and (graph or "") != graph_id:
                continue
            report.threads_seen += 1
            policy = config.policy_for(graph)
            conn.execute("BEGIN IMMEDIATE")
            try:
                if _old(head, policy, now, serde) and _finished(conn, head, serde):
                    _delete_thread(conn, tid, graph, policy, report)
                else:
                    _prune_thread(conn, tid, graph, policy, report)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("ROLLBACK" if dry_run else "COMMIT")
    finally:
        conn.close()
    return report
