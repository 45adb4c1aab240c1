"""The workers' beat schedule: the operations jobs, by task name and interval.

Celery beat sends a task by its name only; the jobs themselves (the retention prune, the
dead-letter sweep) are operations code, registered on the workers' app by `ops.worker_jobs`,
which is the app ``agent-patterns worker`` runs (``celery -A ops.worker_jobs worker``).
Run one scheduler per deployment: ``celery -A workers.app beat``.

- ``agent_patterns.retention_prune`` every ``AGENT_PATTERNS_RETENTION_EVERY_S`` seconds
  (default 86400, daily);
- ``agent_patterns.dead_letter_sweep`` every ``AGENT_PATTERNS_DLQ_SWEEP_EVERY_S`` seconds
  (default 300).

``0`` switches an entry off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "RETENTION_EVERY_ENV",
    "RETENTION_TASK",
    "SWEEP_EVERY_ENV",
    "SWEEP_TASK",
    "beat_schedule",
    "retention_entry",
    "sweep_entry",
]

RETENTION_TASK = "agent_patterns.retention_prune"
RETENTION_EVERY_ENV = "AGENT_PATTERNS_RETENTION_EVERY_S"
SWEEP_TASK = "agent_patterns.dead_letter_sweep"
SWEEP_EVERY_ENV = "AGENT_PATTERNS_DLQ_SWEEP_EVERY_S"


def _every(name: str, default: float, environ: Mapping[str, str] | None) -> float:
    """The interval in `name` (seconds; `default` when unset).

    Raises:
        ValueError: the interval is not a number or is negative.
    """
    text = (environ if environ is not None else os.environ).get(name, "")
    try:
        every = float(text) if text.strip() else default
    except ValueError as exc:
        raise ValueError(f"{name} must be seconds, got {text!r}") from exc
    if every < 0:
        raise ValueError(f"{name} must not be negative, got {every}")
    return every


def retention_entry(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The retention prune's entry, daily by default (empty when switched off).

    Raises:
        ValueError: the interval is not a number or is negative.
    """
    every = _every(RETENTION_EVERY_ENV, 86_400.0, environ)
    if not every:
        return {}
    return {"agent-patterns-retention": {"task": RETENTION_TASK, "schedule": every}}


def sweep_entry(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The dead-letter sweep's entry, every 300 s by default (empty when switched off).

    Raises:
        ValueError: the interval is not a number or is negative.
    """
    every = _every(SWEEP_EVERY_ENV, 300.0, environ)
    if not every:
        return {}
    return {"agent-patterns-dlq-sweep": {"task": SWEEP_TASK, "schedule": every}}


def beat_schedule(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Every entry of the schedule (the environment's intervals).

    Raises:
        ValueError: an interval is not a number or is negative.
    """
    return {**retention_entry(environ), **sweep_entry(environ)}
