"""The task the workers run: ``agent_patterns.advance_thread``, one run of one thread.

The task's id is the run id (`workers.api.submit_run` sets both). The worker:

1. takes the thread's advisory lock (`workers.locks`); when another run holds it, it announces
   ``busy`` and retries the task a little later (the run stays ``queued``), so two runs of one
   thread never execute at once and no worker blocks waiting;
2. records the run ``running`` with this worker's name and pid (one more attempt);
3. advances the thread (`workers.advance.advance`: a redelivered run continues from its
   checkpoint instead of applying its input twice), announcing each completed step;
4. records ``waiting`` (stopped at an approval gate: a person decides later, and
   ``approvals decide`` enqueues the resume), ``finished`` or ``failed``; a failed run (its
   model retries and fallbacks exhausted, or any other error) is also written to the
   dead-letter table (`workers.dead_letter`: ``agent-patterns dlq``).

The task is acknowledged only after that (``acks_late``): a worker killed before it is
requeued and another worker takes the run over from the thread's last checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Task
from celery.signals import worker_process_shutdown

from workers.advance import advance
from workers.app import celery_app
from workers.locks import thread_lock
from workers.overrides import context_fields, run_context
from workers.resources import close_resources, process_resources

__all__ = [
    "LOCK_RETRY_S",
    "TASK_NAME",
    "advance_thread",
    "worker_name",
]

TASK_NAME = "agent_patterns.advance_thread"
LOCK_RETRY_S = 0.5
"""Seconds before a run whose thread is locked is tried again."""
_ERROR_CHARS = 2000

logger = logging.getLogger(__name__)


def worker_name(task: Task) -> str:
    """The Celery node name running `task` (``celery@host`` for a run from elsewhere)."""
    return str(getattr(task.request, "hostname", None) or f"celery@{socket.gethostname()}")


@celery_app.task(bind=True, name=TASK_NAME, max_retries=None)
def advance_thread(
    self: Task,
    graph_id: str,
    thread_id: str,
    payload: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    queue_labels: Sequence[str] = (),
) -> dict[str, Any]:
    """Run one run of `thread_id` on `graph_id` (see the module docs).

    Args:
        self: the task (bound: its request carries the run id, the node name, the retries).
        graph_id: the registry's graph id.
        thread_id: the thread.
        payload: ``{"input": ...}`` or ``{"resume": {interrupt id: decision}}``.
        context: the run's context (the worker's model override is added: `run_context`).
        queue_labels: the queue(s) the run was routed to, recorded in the status table.

    Returns:
        ``{"run_id", "status"}`` (informational: there is no result backend).
    """
    run_id = str(self.request.id)
    resources = process_resources()
    runs = resources.runs
    with thread_lock(resources.url, thread_id) as held:
        if not held:
            runs.announce(thread_id, run_id, "busy", retries=self.request.retries)
            raise self.retry(countdown=LOCK_RETRY_S)
        queue = ",".join(queue_labels)
        runs.started(
            run_id,
            thread_id,
            graph_id,
            worker=worker_name(self),
            worker_pid=os.getpid(),
            queue=queue,
        )
        try:
            graph = resources.graph(graph_id)
            outcome = advance(
                graph,
                thread_id,
                run_id,
                payload,
                context=run_context(context, fields=context_fields(graph)),
                on_step=lambda name: runs.announce(thread_id, run_id, "step", name=name),
            )
        except Exception as exc:  # the run failed: record why; the task itself is done
            logger.exception("run %s of thread %s failed", run_id, thread_id)
            error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
            runs.finished(run_id, thread_id, "failed", error=error)
            _dead_letter(resources, exc, graph_id, thread_id, run_id)
            return {"run_id": run_id, "status": "failed"}
        runs.finished(run_id, thread_id, outcome.status, outcome=outcome.summary)
        return {"run_id": run_id, "status": outcome.status}


def _dead_letter(
    resources: Any, exc: BaseException, graph_id: str, thread_id: str, run_id: str
) -> None:
    """Move the failed run to the dead-letter table (`workers.dead_letter`), with its attempts."""
    from checkpointers.dead_letters import postgres_dead_letters
    from workers.dead_letter import record_worker_failure

    record = resources.runs.get(run_id)
    record_worker_failure(
        postgres_dead_letters(resources.url),
        exc,
        checkpointer=resources.saver,
        graph_id=graph_id,
        thread_id=thread_id,
        attempts=record.attempts if record is not None else 1,
    )


@worker_process_shutdown.connect
def _close_on_shutdown(**_: Any) -> None:
    close_resources()
