"""The long-term memory store `langgraph.json` names under ``store.path``.

`langgraph dev` (and the LangGraph server) enters this async context manager once per event
loop and hands the store it yields to every graph as ``runtime.store``, and to the server's
``/store`` API (Studio's memory view). It replaces the server's built-in store:

- ``MEMORY_STORE_URL`` set: a Chroma data directory or a Chroma server
  (``chroma+http://host:port``), see `memory.chroma_client`;
- otherwise a Chroma data directory in ``.langgraph_api/chroma`` (the directory
  `langgraph dev` already uses), so memories survive server restarts.

Embeddings follow ``MEMORY_EMBEDDINGS`` (default ``chroma-default``, which falls back to the
offline ``hash`` embedding with a notice when the model cannot be loaded). The built-in
store's ``index`` and ``ttl`` settings in `langgraph.json` do not apply to a custom store.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.store.base import BaseStore

from memory.chroma_store import STORE_URL_ENV, open_store

__all__ = ["SERVER_STORE_PATH", "server_store_url", "store"]

SERVER_STORE_PATH = ".langgraph_api/chroma"


def server_store_url() -> str:
    """Where the server's store lives (see the module docs)."""
    return os.environ.get(STORE_URL_ENV) or SERVER_STORE_PATH


@asynccontextmanager
async def store() -> AsyncIterator[BaseStore]:
    """Yield the server's Chroma store, opened off the event loop (Chroma's calls block)."""
    yield await asyncio.to_thread(open_store, server_store_url())
