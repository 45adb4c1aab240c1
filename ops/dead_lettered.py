"""Which threads have an open dead letter, for the run monitor's ``dead_lettered`` status.

Read through `checkpointers.dead_letters` (the table beside the checkpoints). A database the
dead-letter code never touched, or a build without it, simply has no dead letters: the
monitor must list runs whatever state that table is in.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["open_dead_letters"]

logger = logging.getLogger(__name__)
_LIMIT = 10_000


def open_dead_letters(saver: BaseCheckpointSaver) -> dict[str, dict[str, Any]]:
    """The newest open dead letter of each thread: thread id -> the letter as a dict.

    Returns an empty mapping when the dead-letter table (or its module) is not there.
    """
    try:
        from checkpointers.dead_letters import default_dead_letters
    except ImportError:  # a build without the dead-letter queue
        return {}
    try:
        letters = default_dead_letters(saver).list(status="open", limit=_LIMIT)
    except Exception as exc:  # an unreachable or foreign table must not hide the run list
        logger.warning("dead letters could not be read: %s", exc)
        return {}
    found: dict[str, dict[str, Any]] = {}
    for letter in letters:  # newest first: keep the first of each thread
        if letter.thread_id and letter.thread_id not in found:
            found[letter.thread_id] = {
                "id": letter.id,
                "source": letter.source,
                "error_class": letter.error_class,
                "error": letter.error,
                "checkpoint_id": letter.checkpoint_id,
                "attempts": letter.attempts,
                "created_at": letter.created_at.isoformat() if letter.created_at else None,
            }
    return found
