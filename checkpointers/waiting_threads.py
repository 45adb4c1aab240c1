"""Which threads are waiting at an interrupt, found by a query rather than a scan.

A run that stops at `interrupt()` leaves an ``__interrupt__`` write on the thread's latest
root checkpoint (also when the interrupt is inside a subgraph: the parent's task records it
too). So the waiting threads are those whose newest root checkpoint carries such a write:
one indexed query for the Postgres and SQLite savers, however many checkpoints the database
holds; other savers are walked thread by thread.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

__all__ = ["INTERRUPT_CHANNEL", "waiting_thread_ids"]

INTERRUPT_CHANNEL = "__interrupt__"

_QUERY = """
SELECT latest.thread_id
FROM (
    SELECT thread_id, MAX(checkpoint_id) AS checkpoint_id
    FROM checkpoints
    WHERE checkpoint_ns = ''
    GROUP BY thread_id
) AS latest
WHERE EXISTS (
    SELECT 1 FROM {writes} AS w
    WHERE w.thread_id = latest.thread_id
      AND w.checkpoint_ns = ''
      AND w.checkpoint_id = latest.checkpoint_id
      AND w.channel = '{channel}'
)
ORDER BY latest.thread_id
"""


def _postgres(saver: PostgresSaver) -> list[str]:
    query = _QUERY.format(writes="checkpoint_writes", channel=INTERRUPT_CHANNEL)
    conn: Any = saver.conn
    if isinstance(conn, ConnectionPool):
        with conn.connection() as pooled, pooled.cursor(row_factory=tuple_row) as cur:
            rows = cur.execute(query).fetchall()
    else:
        with saver.lock, conn.cursor(row_factory=tuple_row) as cur:
            rows = cur.execute(query).fetchall()
    return [str(row[0]) for row in rows]


def _sqlite(saver: SqliteSaver) -> list[str]:
    query = _QUERY.format(writes="writes", channel=INTERRUPT_CHANNEL)
    with saver.cursor(transaction=False) as cur:
        rows = cur.execute(query).fetchall()
    return [str(row[0]) for row in rows]


def _walk(saver: BaseCheckpointSaver) -> list[str]:
    # Materialise first: some savers hold a lock while list() yields.
    threads = sorted(
        {str(item.config["configurable"]["thread_id"]) for item in list(saver.list(None))}
    )
    waiting = []
    for thread_id in threads:
        latest = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
        if latest and any(w[1] == INTERRUPT_CHANNEL for w in latest.pending_writes or ()):
            waiting.append(thread_id)
    return waiting


def waiting_thread_ids(saver: BaseCheckpointSaver) -> list[str]:
    """Ids of the threads whose latest root checkpoint has a pending interrupt, sorted.

    Args:
        saver: any checkpoint saver; Postgres and SQLite answer with one query.

    Returns:
        Thread ids; read each thread's state (``graph.get_state``) for what it waits on.
    """
    if isinstance(saver, PostgresSaver):
        return _postgres(saver)
    if isinstance(saver, SqliteSaver):
        return _sqlite(saver)
    return _walk(saver)
