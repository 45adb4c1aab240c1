"""The scheduled prune: `run_retention` runs `ops.retention.prune` on the workers' database.

The beat entry and the task's name are `workers.beat` (re-exported here): run the scheduler
with ``celery -A workers.app beat`` (one scheduler per deployment) next to the workers, and a
worker on `DEFAULT_QUEUE` that registered the task (`ops.worker_jobs`: ``agent-patterns
worker``) executes it. The schedule is ``AGENT_PATTERNS_RETENTION_EVERY_S`` seconds (default
86400, daily; ``0`` switches the entry off); the policies are ``AGENT_PATTERNS_RETENTION``
(`ops.retention_policy`), the same as the CLI's.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from workers.beat import RETENTION_EVERY_ENV, RETENTION_TASK
from workers.beat import retention_entry as beat_entry

__all__ = ["RETENTION_EVERY_ENV", "RETENTION_TASK", "beat_entry", "run_retention"]

logger = logging.getLogger(__name__)


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
