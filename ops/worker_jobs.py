"""The operations jobs the workers run on the beat's schedule, registered on the workers' app.

`workers.beat` names the jobs and their intervals (the beat sends a task by name); this
module registers the tasks with those names on `workers.app.celery_app`, so a worker started
from here runs them: ``agent-patterns worker`` does, and so does ``celery -A ops.worker_jobs
worker``. (A worker started with ``celery -A workers.app`` runs the runs but not these jobs.)

- `retention_prune`: `ops.retention_task.run_retention` on the workers' database;
- `dead_letter_sweep`: `ops.dead_letter_sweep.sweep_failed_runs` on the workers' saver.
"""

from __future__ import annotations

from typing import Any

from ops.dead_letter_sweep import sweep_failed_runs
from ops.retention_task import run_retention
from workers.app import celery_app
from workers.beat import RETENTION_TASK, SWEEP_TASK
from workers.resources import process_resources

__all__ = ["celery_app", "dead_letter_sweep", "retention_prune"]


@celery_app.task(name=RETENTION_TASK)
def retention_prune() -> dict[str, Any]:
    """The scheduled retention prune of the workers' database (`ops.retention_task`)."""
    return run_retention()


@celery_app.task(name=SWEEP_TASK)
def dead_letter_sweep() -> int:
    """The scheduled sweep: letter the failed runs nobody recorded (`ops.dead_letter_sweep`)."""
    return len(sweep_failed_runs(process_resources().saver))
