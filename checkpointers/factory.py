"""One factory for checkpoint savers: in-memory, SQLite and Postgres, sync and async.

URLs:

- ``memory``: `InMemorySaver`, lost when the process ends;
- ``sqlite:///relative/path.sqlite``, ``sqlite:////absolute/path.sqlite`` or
  ``sqlite:///:memory:``: a SQLite file (the demo's default);
- ``postgresql://user@host:port/db`` (or ``postgres://``): Postgres through a connection pool
  whose connections use ``autocommit=True`` and ``row_factory=dict_row`` (what the saver
  needs), after ``setup()`` ran once on its own autocommit connection under an advisory lock,
  so several processes may start at once. Under the same lock the blob columns are switched
  to lz4 TOAST compression when the server has it (``_BLOB_COLUMNS``; a notice is logged
  and pglz kept when it does not).

Both factories are context managers that close what they opened::

    with open_checkpointer("postgresql://localhost/app") as saver:
        graph = build_react_graph(checkpointer=saver)

    async with open_async_checkpointer(os.environ["DATABASE_URL"]) as saver:
        ...

Strict msgpack deserialisation is LangGraph's ``LANGGRAPH_STRICT_MSGPACK=true`` switch; the
project's entry points (CLI, server config, tests) set it before LangGraph is imported.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.base import SerializerProtocol

if TYPE_CHECKING:
    from psycopg import AsyncConnection, Connection

__all__ = [
    "CHECKPOINTER_URL_ENV",
    "DEFAULT_CHECKPOINTER_URL",
    "CheckpointerURL",
    "compress_blobs",
    "open_async_checkpointer",
    "open_checkpointer",
    "parse_checkpointer_url",
    "setup_postgres",
]

CHECKPOINTER_URL_ENV = "CHECKPOINTER_URL"
DEFAULT_CHECKPOINTER_URL = "sqlite:///.agent-patterns/checkpoints.sqlite"
_SETUP_LOCK_KEY = 0x6167_656E_7470_6174  # "agentpat": serialises concurrent setup() runs
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s) AS locked"
_SETUP_POLL_S = 0.05
_BLOB_COLUMNS = (("checkpoint_blobs", "blob"), ("checkpoint_writes", "blob"))
"""The saver's bytea columns, compressed with lz4 where the server supports it."""
_COMPRESSION = (
    "SELECT attcompression AS method FROM pg_attribute "
    "WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped"
)
_LZ4 = "l"

logger = logging.getLogger(__name__)

Kind = Literal["memory", "sqlite", "postgres"]


@dataclass(frozen=True)
class CheckpointerURL:
    """A parsed checkpointer URL."""

    kind: Kind
    target: str
    """SQLite file path (or ``:memory:``), Postgres conninfo, or empty for memory."""


def parse_checkpointer_url(url: str | None = None) -> CheckpointerURL:
    """Parse a checkpointer URL; None reads ``CHECKPOINTER_URL``, else the SQLite default.

    Raises:
        ValueError: for a URL of no supported kind, with the accepted forms.
    """
    value = (url or os.environ.get(CHECKPOINTER_URL_ENV) or DEFAULT_CHECKPOINTER_URL).strip()
    if value == "memory":
        return CheckpointerURL("memory", "")
    if value.startswith("sqlite:///"):
        path = value[len("sqlite:///") :]
        if not path:
            raise ValueError("sqlite URL needs a path: sqlite:///checkpoints.sqlite")
        return CheckpointerURL("sqlite", path)
    if value.startswith(("postgresql://", "postgres://")):
        return CheckpointerURL("postgres", value)
    raise ValueError(
        f"Unsupported checkpointer URL {value!r}: use 'memory', 'sqlite:///path.sqlite' "
        "or 'postgresql://user@host:5432/db'."
    )


def _sqlite_path(target: str) -> str:
    if target != ":memory:":
        Path(target).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return target


def _locked(row: dict[str, object] | None) -> bool:
    return bool(row and row["locked"])


def _lz4_statements(methods: list[tuple[str, str, object]]) -> list[str]:
    """ALTER statements for the blob columns not yet on lz4 (none once applied: idempotent)."""
    return [
        f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4"
        for table, column, method in methods
        if method is not None and method != _LZ4
    ]


def _no_lz4(error: Exception) -> None:
    logger.info("Postgres has no lz4 TOAST compression (%s); blob columns keep pglz", error)


def compress_blobs(conn: Connection[dict[str, Any]]) -> None:
    """Switch the saver's blob columns to lz4 TOAST compression, if not yet and if supported.

    Only newly stored values are compressed with lz4; existing ones stay as they are. A
    server built without lz4 (or before Postgres 14) keeps its default, with a logged notice.

    Args:
        conn: an autocommit connection with ``dict_row`` rows, after the saver's ``setup()``.
    """
    import psycopg

    methods = []
    for table, column in _BLOB_COLUMNS:
        row = conn.execute(_COMPRESSION, (table, column)).fetchone()
        methods.append((table, column, row["method"] if row else None))
    try:
        for statement in _lz4_statements(methods):
            conn.execute(statement)
    except psycopg.Error as error:
        _no_lz4(error)


async def _acompress_blobs(conn: AsyncConnection[dict[str, Any]]) -> None:
    import psycopg

    methods = []
    for table, column in _BLOB_COLUMNS:
        row = await (await conn.execute(_COMPRESSION, (table, column))).fetchone()
        methods.append((table, column, row["method"] if row else None))
    try:
        for statement in _lz4_statements(methods):
            await conn.execute(statement)
    except psycopg.Error as error:
        _no_lz4(error)


def setup_postgres(conninfo: str) -> None:
    """Create or migrate the checkpoint tables, on a dedicated autocommit connection.

    Safe to call from several processes at once: runs under a Postgres advisory lock. Also
    switches the blob columns to lz4 compression where the server supports it
    (`compress_blobs`).
    """
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import dict_row

    with Connection.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        # Poll instead of blocking in pg_advisory_lock: a session blocked there holds a
        # transaction open, and setup's CREATE INDEX CONCURRENTLY waits for it (deadlock).
        while not _locked(conn.execute(_TRY_LOCK, (_SETUP_LOCK_KEY,)).fetchone()):
            time.sleep(_SETUP_POLL_S)
        try:
            PostgresSaver(conn).setup()
            compress_blobs(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


async def _asetup_postgres(conninfo: str) -> None:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    async with await AsyncConnection.connect(
        conninfo, autocommit=True, row_factory=dict_row
    ) as conn:
        while not _locked(await (await conn.execute(_TRY_LOCK, (_SETUP_LOCK_KEY,))).fetchone()):
            await asyncio.sleep(_SETUP_POLL_S)
        try:
            await AsyncPostgresSaver(conn).setup()
            await _acompress_blobs(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


_CONNECTION_KWARGS = {"autocommit": True, "prepare_threshold": 0}

_sqlite_files: weakref.WeakKeyDictionary[BaseCheckpointSaver, str] = weakref.WeakKeyDictionary()


def sqlite_file(saver: BaseCheckpointSaver) -> str | None:
    """The file of a SQLite saver these factories opened (None: another saver, or in memory).

    The default ledger (`checkpointers.ledger.default_ledger`) keeps its tables there.
    """
    return _sqlite_files.get(saver)


def _remember_file(saver: BaseCheckpointSaver, path: str) -> None:
    if path != ":memory:":
        _sqlite_files[saver] = path


@contextmanager
def open_checkpointer(
    url: str | None = None,
    *,
    setup: bool = True,
    pool_size: int = 4,
    serde: SerializerProtocol | None = None,
) -> Iterator[BaseCheckpointSaver]:
    """Open a synchronous saver for `url` (see the module docs); close it on exit.

    Args:
        url: checkpointer URL; None reads ``CHECKPOINTER_URL``, else a SQLite file under
            ``.agent-patterns/``.
        setup: create or migrate tables first (SQLite and Postgres).
        pool_size: maximum Postgres connections in the pool.
        serde: serializer override (defaults to LangGraph's).

    Yields:
        A checkpoint saver usable by `graph.compile(checkpointer=...)`.
    """
    parsed = parse_checkpointer_url(url)
    if parsed.kind == "memory":
        yield InMemorySaver(serde=serde)
        return
    if parsed.kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = _sqlite_path(parsed.target)
        conn = sqlite3.connect(path, check_same_thread=False)
        try:
            saver = SqliteSaver(conn, serde=serde)
            _remember_file(saver, path)
            if setup:
                saver.setup()
            yield saver
        finally:
            conn.close()
        return
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    if setup:
        setup_postgres(parsed.target)
    with ConnectionPool(
        parsed.target,
        min_size=1,
        max_size=pool_size,
        kwargs={**_CONNECTION_KWARGS, "row_factory": dict_row},
        open=True,
    ) as pool:
        yield PostgresSaver(pool, serde=serde)  # type: ignore[arg-type]


@asynccontextmanager
async def open_async_checkpointer(
    url: str | None = None,
    *,
    setup: bool = True,
    pool_size: int = 4,
    serde: SerializerProtocol | None = None,
) -> AsyncIterator[BaseCheckpointSaver]:
    """Open an asynchronous saver for `url`; the async twin of `open_checkpointer`.

    Yields:
        A saver for `ainvoke`/`astream` (and for `langgraph dev`, see `server.checkpointer`).
    """
    parsed = parse_checkpointer_url(url)
    if parsed.kind == "memory":
        yield InMemorySaver(serde=serde)
        return
    if parsed.kind == "sqlite":
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = _sqlite_path(parsed.target)
        async with aiosqlite.connect(path) as conn:
            saver = AsyncSqliteSaver(conn, serde=serde)
            _remember_file(saver, path)
            if setup:
                await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    if setup:
        await _asetup_postgres(parsed.target)
    async with AsyncConnectionPool(
        parsed.target,
        min_size=1,
        max_size=pool_size,
        kwargs={**_CONNECTION_KWARGS, "row_factory": dict_row},
        open=False,
    ) as pool:
        yield AsyncPostgresSaver(pool, serde=serde)  # type: ignore[arg-type]
