"""Tables beside the checkpoints (the effect ledger, the usage log): their connections and setup.

Each such table lives where the checkpoints live. Two helpers open what they need once:

- `SqliteSideTables`: a connection to the checkpoint file (autocommit, WAL, a busy timeout)
  with the table's schema applied, and a lock to serialise its use across threads;
- `PostgresSideTables`: a small psycopg pool (its own, or one borrowed from a sync saver) whose
  connections are autocommit with ``dict_row``, and the schema applied once per process under
  a polled advisory lock (a blocked lock would wait on a concurrent ``CREATE INDEX
  CONCURRENTLY`` of the saver's own setup).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["PostgresSideTables", "SqliteSideTables"]


class SqliteSideTables:
    """A connection to a SQLite file with `schema` applied, and the lock that guards it.

    Args:
        path: the SQLite file, usually the checkpointer's own.
        schema: the ``CREATE ... IF NOT EXISTS`` script of the tables.
    """

    def __init__(self, path: str, schema: str) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 10000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.executescript(schema)
        self.lock = threading.Lock()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class PostgresSideTables:
    """Connections for tables in the checkpoints' Postgres database, set up once.

    Args:
        schema: the statements that create the tables (idempotent).
        lock_key: the advisory lock the setup holds (one per kind of table).
        conninfo: a ``postgresql://`` URL: a small pool of its own is opened on first use.
        pool: or an existing psycopg `ConnectionPool` (e.g. the sync Postgres saver's).

    Raises:
        ValueError: neither or both of `conninfo` and `pool`.
    """

    def __init__(
        self,
        schema: Sequence[str],
        lock_key: int,
        conninfo: str | None = None,
        *,
        pool: Any = None,
    ) -> None:
        if (conninfo is None) == (pool is None):
            raise ValueError("Postgres side tables need exactly one of conninfo or pool")
        self._schema = list(schema)
        self._lock_key = lock_key
        self._conninfo = conninfo
        self._pool = pool
        self._own_pool: Any = None
        self._ready = False
        self._lock = threading.Lock()

    def _opened_pool(self) -> Any:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        with self._lock:
            if self._pool is None:
                self._own_pool = ConnectionPool(
                    self._conninfo or "",
                    min_size=1,
                    max_size=4,
                    kwargs={"autocommit": True, "row_factory": dict_row},
                    open=True,
                )
                self._pool = self._own_pool
            return self._pool

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """An autocommit ``dict_row`` connection; the tables exist when it is yielded."""
        from psycopg.rows import dict_row

        with self._opened_pool().connection() as conn:
            conn.autocommit = True
            conn.row_factory = dict_row
            if not self._ready:
                self._setup(conn)
                self._ready = True
            yield conn

    def _setup(self, conn: Any) -> None:
        """Create the tables; concurrent processes take turns (polled advisory lock)."""
        key = self._lock_key
        while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,)).fetchone()["ok"]:
            time.sleep(0.05)
        try:
            for statement in self._schema:
                conn.execute(statement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        """Close the pool this object opened (a borrowed pool stays open)."""
        if self._own_pool is not None:
            self._own_pool.close()
