"""Dead-letter the failed runs nobody recorded: runs of the server, of a crashed script.

`ops.dead_letters.invoke_or_dead_letter` and the workers write a letter the moment a run
gives up. A run the LangGraph server (``langgraph dev``) executes fails inside the server,
which only marks its own run record; a script that called ``graph.invoke`` and died leaves
the same trace. In both the thread's newest checkpoint carries the node's error write and
a step still to run: the monitor lists it ``failed`` (`ops.status_rules`).

`sweep_failed_runs` finds those threads (`ops.run_list.list_runs`, one query on Postgres)
and writes one ``in_process`` letter per failed checkpoint: a thread already lettered at
that checkpoint (open, retried or discarded) is left alone, so sweeping again adds nothing.
Runs a control stopped (a terminal error, a budget: nothing left to run) are not letters.
The workers' beat sweeps every few minutes (`beat_entry`, `workers.beat`; the task is
`ops.worker_jobs.dead_letter_sweep`); ``agent-patterns dlq sweep`` does it now.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.dead_letters import DeadLetter, DeadLetterStore, default_dead_letters
from nodes.dead_letter import record_failure
from workers.beat import SWEEP_EVERY_ENV, SWEEP_TASK
from workers.beat import sweep_entry as beat_entry

__all__ = ["SWEEP_EVERY_ENV", "SWEEP_TASK", "beat_entry", "sweep_failed_runs"]

_PAGE = 1000


def _already(store: DeadLetterStore, thread_id: str, checkpoint_id: str) -> bool:
    letters = store.list(thread_id=thread_id, limit=_PAGE)
    return any(letter.checkpoint_id == checkpoint_id for letter in letters)


def sweep_failed_runs(
    checkpointer: BaseCheckpointSaver,
    *,
    graph: str | None = None,
    store: DeadLetterStore | None = None,
) -> list[DeadLetter]:
    """Write a letter for each failed, unlettered run (see the module docs).

    Args:
        checkpointer: where the threads live.
        graph: only this graph's threads.
        store: the dead-letter table (default: the checkpointer's).

    Returns:
        The letters written, newest thread first.
    """
    from ops.run_list import list_runs

    table = store or default_dead_letters(checkpointer)
    written: list[DeadLetter] = []
    offset = 0
    while True:
        page = list_runs(checkpointer, status="failed", graph=graph, limit=_PAGE, offset=offset)
        for run in page.runs:
            if not run.next_nodes or _already(table, run.thread_id, run.checkpoint_id):
                continue  # a stopped run (nothing to resume), or lettered already
            written.append(
                record_failure(
                    table,
                    None,
                    source="in_process",
                    thread_id=run.thread_id,
                    checkpointer=checkpointer,
                    graph_id=run.graph_id,
                    owner=run.owner,
                    error=run.error or f"the run failed before {', '.join(run.next_nodes)}",
                    error_class="unknown",
                )
            )
        if len(page.runs) < _PAGE:
            return written
        offset += _PAGE
