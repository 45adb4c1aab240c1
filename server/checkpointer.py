"""The checkpointer `langgraph.json` names under ``checkpointer.path``.

`langgraph dev` enters this async context manager once per event loop and uses the saver it
yields for every thread:

- ``DATABASE_URL`` set (``postgresql://...``): Postgres, with a pool and migrations, so threads
  survive server restarts and can be resumed from other processes;
- otherwise ``CHECKPOINTER_URL`` if set, else a SQLite file in ``.langgraph_api/`` (the
  directory `langgraph dev` already uses), so a dev server keeps its threads across restarts.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.factory import CHECKPOINTER_URL_ENV, open_async_checkpointer

__all__ = ["SERVER_SQLITE_URL", "checkpointer", "server_checkpointer_url"]

SERVER_SQLITE_URL = "sqlite:///.langgraph_api/agent-patterns-checkpoints.sqlite"


def server_checkpointer_url() -> str:
    """The URL the server's saver uses (see the module docs for the order)."""
    return (
        os.environ.get("DATABASE_URL") or os.environ.get(CHECKPOINTER_URL_ENV) or SERVER_SQLITE_URL
    )


@asynccontextmanager
async def checkpointer() -> AsyncIterator[BaseCheckpointSaver]:
    """Yield the server's saver and close its pool or file on shutdown."""
    async with open_async_checkpointer(server_checkpointer_url()) as saver:
        yield saver
