"""What the CLI commands share about threads: opening a store that must exist, a thread's graph.

Commands that only read (``approvals list|sweep|decide``, ``audit``, ``history``) must not
create anything: a mistyped SQLite path is an error, not a new empty file (and directories).
A thread records the graph that wrote it (the ``graph_id`` checkpoint tag), so a command that
continues a thread builds that graph and refuses another one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.factory import open_checkpointer, parse_checkpointer_url
from cli.errors import CliError

__all__ = ["open_existing_checkpointer", "thread_config", "thread_graph_id"]


@contextmanager
def open_existing_checkpointer(url: str | None) -> Iterator[BaseCheckpointSaver]:
    """`open_checkpointer`, refusing a SQLite file that does not exist yet.

    Raises:
        CliError: the SQLite file is not there (nothing is created).
    """
    parsed = parse_checkpointer_url(url)
    if parsed.kind == "sqlite" and parsed.target != ":memory:":
        path = Path(parsed.target).expanduser()
        if not path.is_file():
            raise CliError(
                f"no checkpoint file at {path}: check --checkpointer (or $CHECKPOINTER_URL); "
                "nothing was created"
            )
    with open_checkpointer(url) as saver:
        yield saver


def thread_config(thread_id: str) -> RunnableConfig:
    """The config that addresses a thread's latest checkpoint."""
    return {"configurable": {"thread_id": thread_id}}


def thread_graph_id(
    saver: BaseCheckpointSaver, thread_id: str, requested: str | None = None
) -> str:
    """The graph id the thread was written by (``react`` for an untagged old thread).

    Args:
        saver: where the thread lives.
        thread_id: the thread.
        requested: the graph the user named (``--graph``); it must be the thread's.

    Raises:
        CliError: no such thread, or it belongs to another graph than `requested`.
    """
    latest = saver.get_tuple(thread_config(thread_id))
    if latest is None:
        raise CliError(
            f"no thread {thread_id!r} in this checkpointer: check --thread and --checkpointer"
        )
    recorded = str(latest.metadata.get("graph_id") or "react")
    if requested is not None and requested != recorded:
        raise CliError(
            f"thread {thread_id} belongs to graph {recorded!r}, not {requested!r}: "
            f"leave --graph out (or pass --graph {recorded})"
        )
    return recorded
