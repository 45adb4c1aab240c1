"""The scheduled prune: a Celery beat entry running `ops.retention.prune` on the workers' database.

`workers.app` adds `beat_entry` to its beat schedule; run the scheduler with ``celery -A
workers.app beat`` (one scheduler per deployment) next to the workers, and a worker on
`DEFAULT_QUEUE` executes the task. The schedule is ``AGENT_PATTERNS_RETENTION_EVERY_S``
seconds (default 86400, daily; ``0`` switches the entry off); the policies are
``AGENT_PATTERNS_RETENTION`` (`ops.retention_policy`), the same as the CLI's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from typing import Any

__all__ = ["RETENTION_EVERY_ENV", "RETENTION_TASK", "beat_entry", "run_retention"]

RETENTION_TASK = "agent_patterns.retention_prune"
RETENTION_EVERY_ENV = "AGENT_PATTERNS_RETENTION_EVERY_S"
_DEFAULT_EVERY_S = 86_400.0

logger = logging.getLogger(__name__)


def beat_entry(environ: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The beat schedule's retention entry (empty when switched off).

    Raises:
        ValueError: the interval is not a number or is negative.
    """
    text = (environ if environ is not None else os.environ).get(RETENTION_EVERY_ENV, "")
    try:
        every = float(text) if text.strip() else _DEFAULT_EVERY_S
    except ValueError as exc:
        raise ValueError(f"{RETENTION_EVERY_ENV} must be seconds, got {text!r}") from exc
    if every < 0:
        raise ValueError(f"{RETENTION_EVERY_ENV} must not be negative, got {every}")
    if every == 0:
        return {}
    return {"agent-patterns-retention": {"task": RETENTION_TASK, "schedule": every}}


def run_retention(url: str | None = None) -> dict[str, Any]:
    """Prune the database at `url` (default ``DATABASE_URL``) with the configured policies.

    Returns:
        The `ops.retention.PruneReport` as a dict (also logged).
    """
    from ops.retention import prune
    from ops.retention_policy import load_retention_config
    from workers.settings import database_url

    report = prune(url or database_url(), load_retention_config())
    logger.info("retention: %s", report.summary())
    return asdict(report)
