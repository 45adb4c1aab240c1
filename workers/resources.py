"""What a worker process opens once and keeps: the Postgres saver, the status table, graphs.

Opened lazily on the first task, in the process that runs tasks (a prefork pool's child, never
the parent before the fork), and closed when the process shuts down. One connection pool per
process (the saver's, shared by the effect ledger and the usage log), and each graph of the
registry is compiled once per process on that saver.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from checkpointers.factory import open_checkpointer
from checkpointers.run_status import RunStatusTable
from checkpointers.run_status_postgres import PostgresRunStatusTable
from graphs.registry import build_graph
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
        """The registry's graph `graph_id` on this process's saver, compiled once."""
        with self.lock:
            if graph_id not in self.graphs:
                self.graphs[graph_id] = build_graph(graph_id, checkpointer=self.saver)
            return self.graphs[graph_id]


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
