"""Submit runs to the workers, resume a thread's approval, follow and wait for a run.

::

    run_id = submit_run("react", "order-42", "Where is my order A-1001?")
    record = wait_for("order-42", run_id, timeout_s=60)      # a RunRecord
    if record.status == "waiting":                           # stopped at the approval gate
        resume_run("order-42", {interrupt_id: {"type": "accept", "reviewer": "ana"}})

A run is recorded ``queued`` in the run-status table (``DATABASE_URL``) before its task is
published on RabbitMQ (``AGENT_PATTERNS_BROKER_URL``) to its queue: `DEFAULT_QUEUE`, or a
pool's label (``queue="gpu"``) consumed by the workers started with ``--queues gpu``. The run
id is the Celery task id. `follow` yields the run's progress events (status changes, completed
steps) from Postgres ``LISTEN/NOTIFY``; `wait_for` returns when the run is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from celery import Celery

from checkpointers.run_status import RunEvent, RunRecord, RunStatusTable
from workers.app import DEFAULT_QUEUE, celery_app
from workers.settings import database_url
from workers.tasks import TASK_NAME

__all__ = ["follow", "resume_run", "run_input", "submit_run", "wait_for"]


def run_input(text: str) -> dict[str, Any]:
    """The graph input of a user's message (every registry graph takes ``messages``)."""
    return {"messages": [{"role": "user", "content": text}]}


def _enqueue(
    graph_id: str,
    thread_id: str,
    payload: dict[str, Any],
    *,
    context: Mapping[str, Any] | None,
    queue: str | None,
    url: str | None,
    app: Celery | None,
) -> str:
    run_id = str(uuid.uuid4())
    target = queue or DEFAULT_QUEUE
    runs = RunStatusTable(url or database_url())
    try:
        runs.queued(run_id, thread_id, graph_id, queue=target)
    finally:
        runs.close()
    (app or celery_app).send_task(
        TASK_NAME,
        args=[graph_id, thread_id, payload, dict(context or {}), [target]],
        task_id=run_id,
        queue=target,
    )
    return run_id


def submit_run(
    graph_id: str,
    thread_id: str,
    text: str | None = None,
    *,
    resume: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    queue: str | None = None,
    url: str | None = None,
    app: Celery | None = None,
) -> str:
    """Enqueue a run of `thread_id` on `graph_id`; return its run id.

    Args:
        graph_id: the registry's graph id (``react``, ``hitl`` ...).
        thread_id: the thread (new or existing).
        text: the user's message (a new turn); exactly one of `text` and `resume`.
        resume: the answers to the thread's pending interrupts, ``{interrupt id: decision}``.
        context: the run's context (``{"model": "demo"}`` ...); a worker's
            ``AGENT_PATTERNS_WORKER_MODEL`` fills ``model`` when this names none.
        queue: the queue (pool label) to route to; default `DEFAULT_QUEUE`.
        url: the Postgres database of the status table (default ``DATABASE_URL``).
        app: the Celery app (default `workers.app.celery_app`).

    Raises:
        ValueError: neither or both of `text` and `resume`; no Postgres URL.
    """
    if (text is None) == (resume is None):
        raise ValueError("a run needs exactly one of text (a new turn) or resume (answers)")
    payload = {"input": run_input(text)} if text is not None else {"resume": dict(resume or {})}
    return _enqueue(graph_id, thread_id, payload, context=context, queue=queue, url=url, app=app)


def resume_run(
    thread_id: str,
    resume: Mapping[str, Any],
    *,
    graph_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    queue: str | None = None,
    url: str | None = None,
    app: Celery | None = None,
) -> str:
    """Enqueue the resume of `thread_id` with `resume` (``{interrupt id: decision}``).

    `graph_id` and `queue` default to those of the thread's latest run.

    Raises:
        ValueError: no graph id given and the thread has no run in the status table.
    """
    if graph_id is None or queue is None:
        runs = RunStatusTable(url or database_url())
        try:
            latest = runs.latest(thread_id)
        finally:
            runs.close()
        if latest is None and graph_id is None:
            raise ValueError(f"thread {thread_id} has no run: name its graph_id")
        graph_id = graph_id or (latest.graph_id if latest else None)
        queue = queue or (latest.queue if latest and latest.queue else None)
    assert graph_id is not None
    return submit_run(
        graph_id, thread_id, resume=resume, context=context, queue=queue, url=url, app=app
    )


def follow(
    thread_id: str, run_id: str, *, timeout_s: float, url: str | None = None
) -> Iterator[RunEvent]:
    """The run's progress events until it is done (see `PostgresRunStatusTable.follow`).

    Raises:
        TimeoutError: the run is not done after `timeout_s`.
    """
    runs = RunStatusTable(url or database_url())
    try:
        yield from runs.follow(thread_id, run_id, timeout_s=timeout_s)
    finally:
        runs.close()


def wait_for(
    thread_id: str,
    run_id: str,
    *,
    timeout_s: float,
    url: str | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
) -> RunRecord:
    """Wait until the run is waiting, finished or failed; return its row.

    Raises:
        TimeoutError: not done after `timeout_s`.
    """
    for event in follow(thread_id, run_id, timeout_s=timeout_s, url=url):
        if on_event is not None:
            on_event(event)
    runs = RunStatusTable(url or database_url())
    try:
        record = runs.get(run_id)
    finally:
        runs.close()
    assert record is not None
    return record
