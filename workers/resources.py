"""What a worker process opens once and keeps: the Postgres saver, the status table, graphs.

Opened lazily on the first task, in the process that runs tasks (a prefork pool's child, never
the parent before the fork), and closed when the process shuts down. One connection pool per
process (the saver's, shared by the effect ledger and the usage log), and each graph of the
registry is compiled once per process on that saver.

**One shared long-term store.** Memories, lessons and knowledge must be the same for every
worker and server process, so a worker opens the store only on a Chroma *server*
(``MEMORY_STORE_URL=chroma+http://127.0.0.1:8000``, see docs/workers.md); a data directory
would be a store per process (or a file several processes write at once), so it is refused
with a clear error when a graph needs the store. Graphs that need no store (react, hitl,
the workflow patterns) run without one.
"""

from __future__ import annotations

import os
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from checkpointers.factory import open_checkpointer
from checkpointers.run_status import RunStatusTable
from checkpointers.run_status_postgres import PostgresRunStatusTable
from graphs.registry import build_graph
from memory.chroma_store import STORE_URL_ENV, open_store
from workers.settings import database_url

__all__ = ["WorkerResources", "close_resources", "database_url", "process_resources"]


@dataclass
class WorkerResources:
    """The process's saver, status table and compiled graphs (see the module docs)."""

    url: str
    saver: Any
    runs: PostgresRunStatusTable
    stack: ExitStack
    graphs: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def graph(self, graph_id: str) -> Any:
        """The registry's graph `graph_id` on this process's saver (and the shared store)."""
        with self.lock:
            if graph_id not in self.graphs:
                store = shared_store()
                options = {"store": store} if store is not None else {}
                self.graphs[graph_id] = build_graph(graph_id, checkpointer=self.saver, **options)
            return self.graphs[graph_id]


_SERVER_SCHEMES = ("chroma+http://", "chroma+https://", "http://", "https://")
_store: Any = None
_store_lock = threading.Lock()


def shared_store() -> Any:
    """The long-term store every process shares: a Chroma server, or None when none is set.

    Raises:
        RuntimeError: ``MEMORY_STORE_URL`` names a data directory, which a worker must not use.
    """
    global _store
    url = os.environ.get(STORE_URL_ENV, "").strip()
    if not url:
        return None
    if not url.startswith(_SERVER_SCHEMES):
        raise RuntimeError(
            f"{STORE_URL_ENV}={url!r} is a data directory; workers share memories through a "
            "Chroma server: start one (`chroma run --host 127.0.0.1 --port 8000 --path ...`) "
            f"and set {STORE_URL_ENV}=chroma+http://127.0.0.1:8000"
        )
    with _store_lock:
        if _store is None:
            _store = open_store(url)
        return _store


_resources: WorkerResources | None = None
_guard = threading.Lock()


def process_resources(pool_size: int = 4) -> WorkerResources:
    """This process's resources, opened on first use (`database_url` must be set)."""
    global _resources
    with _guard:
        if _resources is None:
            url = database_url()
            stack = ExitStack()
            saver = stack.enter_context(open_checkpointer(url, pool_size=pool_size))
            runs = RunStatusTable(url)
            stack.callback(runs.close)
            _resources = WorkerResources(url=url, saver=saver, runs=runs, stack=stack)
        return _resources


def close_resources() -> None:
    """Close what `process_resources` opened (at process shutdown)."""
    global _resources
    with _guard:
        if _resources is not None:
            _resources.stack.close()
            _resources = None
