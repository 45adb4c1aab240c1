"""Pausing a crash-test worker inside one LangGraph task once others are saved.

Plan steps and parallel branches both run as LangGraph tasks inside one node
(`nodes.plan_steps`); each finished task's result is saved at once as a pending write of the
thread's latest checkpoint. The plan-execute and parallel crash workers pause inside one task
(its first model call) once the tasks it should outlive are saved, so the kill leaves some
tasks finished and this one running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.integration.graph_worker import pause

__all__ = ["RETURN", "no_pause", "pause_in_task", "saved_tasks"]

RETURN = "__return__"
"""Channel of a LangGraph task's saved result (``langgraph._internal._constants.RETURN``)."""

PAUSE_DEADLINE_S = 30.0


def no_pause(task: str) -> None:
    """The hook of a worker that does not pause."""


def saved_tasks(saver: Any, config: Any) -> set[str]:
    """The tasks (plan steps, parallel branches) whose results the latest checkpoint holds."""
    saved = saver.get_tuple(config)
    writes = saved.pending_writes if saved else []
    return {value["step"] for _, channel, value in writes if channel == RETURN}


def pause_in_task(task: str, after: set[str], saver: Any, config: Any) -> Callable[[str], None]:
    """A hook pausing at `task`'s first model call once the `after` tasks are saved."""

    def on_call(called: str) -> None:
        if called != task:
            return
        deadline = time.monotonic() + PAUSE_DEADLINE_S
        while not after <= saved_tasks(saver, config):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sorted(after)} were not saved while {task} ran")
            time.sleep(0.05)
        pause()

    return on_call
