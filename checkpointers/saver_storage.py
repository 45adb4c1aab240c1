"""Where a checkpointer keeps its data, so the tables beside it can live there too.

The effect ledger's companions (the usage log, the budget caps, the circuit breakers) each
live where the checkpoints live. `saver_storage` answers that once for all of them:

- a Postgres saver (sync or async, on a pool or a connection): its database's URL;
- a SQLite saver: its file (also for the shallow clone LangGraph may run on, whose connection
  is the saver's: the main database file is read from the connection);
- a saver of unknown storage: ``DATABASE_URL``'s Postgres when set;
- otherwise (the in-memory saver, an in-memory SQLite file): this process's memory.

A wrapper the LangGraph server puts around its saver is looked through.

Example:
    >>> from langgraph.checkpoint.memory import InMemorySaver
    >>> saver_storage(InMemorySaver()).kind
    'memory'
"""

from __future__ import annotations

import inspect
import os
import sqlite3
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

__all__ = ["SaverStorage", "database_url", "saver_storage"]

_POSTGRES_SAVERS = ("PostgresSaver", "AsyncPostgresSaver")
_SQLITE_SAVERS = ("SqliteSaver", "AsyncSqliteSaver")


@dataclass(frozen=True)
class SaverStorage:
    """Where a saver's data is.

    Attributes:
        kind: ``"postgres"``, ``"sqlite"`` or ``"memory"``.
        target: the Postgres URL or the SQLite file's absolute path ("" in memory).
        saver: the saver itself (a server's wrapper looked through).
    """

    kind: Literal["postgres", "sqlite", "memory"]
    target: str
    saver: BaseCheckpointSaver


def database_url() -> str | None:
    """``DATABASE_URL`` when it names a Postgres database, else None."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgresql://", "postgres://")) else None


def saver_storage(checkpointer: BaseCheckpointSaver) -> SaverStorage:
    """Where `checkpointer` keeps its data (see the module docs)."""
    from checkpointers.factory import sqlite_file
    from checkpointers.ledger import _unwrapped

    saver = _unwrapped(checkpointer)
    kind = type(saver).__name__
    conn = getattr(saver, "conn", None)
    if kind in _POSTGRES_SAVERS and conn is not None:
        url = getattr(conn, "conninfo", None) or conn.info.dsn  # a pool, or a connection
        return SaverStorage("postgres", str(url), saver)
    path = sqlite_file(saver) or _sqlite_path(saver)
    if path:
        return SaverStorage("sqlite", os.path.abspath(os.path.expanduser(path)), saver)
    env_url = None if isinstance(saver, InMemorySaver) or kind in _SQLITE_SAVERS else database_url()
    if env_url is not None:
        return SaverStorage("postgres", env_url, saver)
    return SaverStorage("memory", "", saver)


_sqlite_paths: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _sqlite_path(saver: BaseCheckpointSaver) -> str | None:
    """The file of a SQLite saver `checkpointers.factory.sqlite_file` does not know.

    LangGraph may run on a shallow clone of the graph's saver (to add a msgpack allowlist);
    the clone shares the saver's connection, whose main database file is read here.
    """
    conn = getattr(saver, "conn", None)
    if conn is None or type(saver).__name__ not in _SQLITE_SAVERS:
        return None
    with _lock:
        if saver not in _sqlite_paths:  # once per clone (connections take no weak refs)
            _sqlite_paths[saver] = _database_file(saver, conn)
        return _sqlite_paths[saver] or None


def _database_file(saver: BaseCheckpointSaver, conn: Any) -> str:
    """The main database file of a sqlite3 or aiosqlite connection ("" in memory)."""
    if isinstance(conn, sqlite3.Connection):
        with getattr(saver, "lock", threading.Lock()):
            rows = conn.execute("PRAGMA database_list").fetchall()
        return next((str(r[2]) for r in rows if r[1] == "main"), "")
    connector = getattr(conn, "_connector", None)  # aiosqlite: a closure over the path
    if not callable(connector):
        return ""
    database = inspect.getclosurevars(connector).nonlocals.get("database")
    path = str(database) if isinstance(database, str | os.PathLike) else ""
    return "" if path == ":memory:" else path
