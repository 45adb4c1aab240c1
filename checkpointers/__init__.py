"""Checkpoint savers from a URL: memory, SQLite, Postgres; sync and async."""

from checkpointers.factory import (
    CHECKPOINTER_URL_ENV,
    DEFAULT_CHECKPOINTER_URL,
    CheckpointerURL,
    open_async_checkpointer,
    open_checkpointer,
    parse_checkpointer_url,
    setup_postgres,
)

__all__ = [
    "CHECKPOINTER_URL_ENV",
    "DEFAULT_CHECKPOINTER_URL",
    "CheckpointerURL",
    "open_async_checkpointer",
    "open_checkpointer",
    "parse_checkpointer_url",
    "setup_postgres",
]
