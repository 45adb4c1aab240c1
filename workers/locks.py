"""One run per thread at a time: a Postgres advisory lock per thread, held on its own connection.

A worker takes the thread's session-level advisory lock (``pg_try_advisory_lock``) on a
dedicated autocommit connection before it touches the thread and releases it when done. The
lock never waits: a run that finds its thread locked is retried later by the task
(`workers.tasks`), so two resumes of one thread never run at once and no worker slot blocks.
A worker that dies loses its connection, and Postgres releases the lock with it.

The key is two 32-bit numbers: a namespace for this project's thread locks and
``hashtext(thread_id)``. Two threads whose ids hash alike only take turns; never run together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["THREAD_LOCK_NAMESPACE", "thread_lock"]

THREAD_LOCK_NAMESPACE = 0x6170_7468  # "apth"
_TRY = "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS held"
_UNLOCK = "SELECT pg_advisory_unlock(%s, hashtext(%s))"


@contextmanager
def thread_lock(url: str, thread_id: str) -> Iterator[bool]:
    """Try to take `thread_id`'s lock; yield whether this process holds it.

    Args:
        url: the Postgres database the workers share (``DATABASE_URL``).
        thread_id: the thread to lock.

    Yields:
        True when the lock is held until the block ends; False when another session holds it
        (do not touch the thread).
    """
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(_TRY, (THREAD_LOCK_NAMESPACE, thread_id)).fetchone()
        held = bool(row and row["held"])
        try:
            yield held
        finally:
            if held and not conn.closed:
                conn.execute(_UNLOCK, (THREAD_LOCK_NAMESPACE, thread_id))
