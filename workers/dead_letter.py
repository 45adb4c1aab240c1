"""Dead-letter a worker's failed run (`workers.tasks.advance_thread`).

The letter is written by `nodes.dead_letter.record_failure` (source ``worker``, the task's
deliveries as its attempts); ``agent-patterns dlq`` and `ops.dead_letters` retry or discard
it.
"""

from __future__ import annotations

import logging

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.dead_letters import DeadLetter, DeadLetterStore
from nodes.dead_letter import record_failure
from workers.advance import NothingToResumeError

__all__ = ["record_worker_failure"]

logger = logging.getLogger(__name__)


def record_worker_failure(
    store: DeadLetterStore,
    exc: BaseException,
    *,
    checkpointer: BaseCheckpointSaver,
    graph_id: str,
    thread_id: str,
    attempts: int,
) -> DeadLetter | None:
    """Dead-letter a worker's failed run; never raises.

    A resume of a thread that waits for nothing (answered already) is not a failure of the
    thread: it is not dead-lettered.

    Returns:
        The letter, or None when none was written (or writing it failed: logged).
    """
    if isinstance(exc, NothingToResumeError):
        return None
    try:
        return record_failure(
            store,
            exc,
            source="worker",
            thread_id=thread_id,
            checkpointer=checkpointer,
            graph_id=graph_id,
            attempts=attempts,
        )
    except Exception:  # noqa: BLE001 - the run's own failure is already recorded
        logger.exception("could not dead-letter the failed run of thread %s", thread_id)
        return None
