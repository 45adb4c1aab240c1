"""The Celery app of the workers: RabbitMQ from ``AGENT_PATTERNS_BROKER_URL``, JSON, late acks.

Settings that make a dead worker lose nothing (measured on RabbitMQ, see docs/workers.md):

- ``task_acks_late``: a task is acknowledged after it ran, not when it was received;
- ``task_reject_on_worker_lost``: a task whose worker process died is requeued, and RabbitMQ
  redelivers it at once to another worker;
- ``worker_prefetch_multiplier=1``: a worker holds one unacknowledged task per process, so a
  dead worker strands nothing else and busy workers do not hoard the queue.

There is no result backend: the run-status table (`checkpointers.run_status`) is the result.
The beat schedule (`workers.beat`: ``celery -A workers.app beat``) names the operations jobs,
the daily retention prune and the dead-letter sweep; a worker started by ``agent-patterns
worker`` runs them (`ops.worker_jobs` registers them on this app).
Runs go to the queue `DEFAULT_QUEUE` unless submitted to another one (a pool's label, such as
``gpu`` or ``eu``); a worker consumes the queues it is started with.
"""

from __future__ import annotations

from celery import Celery

from workers.beat import beat_schedule
from workers.settings import (
    BROKER_URL_ENV,
    DATABASE_URL_ENV,
    DEFAULT_BROKER_URL,
    DEFAULT_QUEUE,
    broker_url,
)

__all__ = [
    "BROKER_URL_ENV",
    "DATABASE_URL_ENV",
    "DEFAULT_BROKER_URL",
    "DEFAULT_QUEUE",
    "broker_url",
    "celery_app",
    "make_celery_app",
]


def make_celery_app(url: str | None = None) -> Celery:
    """A Celery app on the broker at `url` (default `broker_url()`), configured as above."""
    app = Celery("agent_patterns", broker=url or broker_url(), include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
        beat_schedule=beat_schedule(),
    )
    return app


celery_app = make_celery_app()
"""The app every worker and client of this process uses (``celery -A workers.app``)."""
