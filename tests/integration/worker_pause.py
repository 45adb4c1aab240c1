"""Test-only hooks for worker processes: pause at a chosen point, log every step of a thread.

`install()` reads the environment and patches this process (never production code):

- ``AGENT_PATTERNS_TEST_PAUSE`` names the pause point, for one thread:
  ``model:<thread>:<n>`` pauses inside that thread's n-th model call of this process,
  ``effect:<thread>`` inside the refund tool right after the payment system recorded the
  refund, ``gate:<thread>`` when the approval gate stops to wait for a person.
- ``AGENT_PATTERNS_TEST_PAUSE_CLAIM`` is a file path: only the first process to create it
  pauses (it writes its pid and process group there, then prints ``PAUSED`` and blocks until
  it is killed), so several identical workers can share one pause point and the test kills
  whichever reached it.
- ``AGENT_PATTERNS_TEST_STEPS_LOG`` is a file of JSON lines: each graph node of each thread
  logs ``start`` and ``end`` (or ``error``, which includes an interrupt) with this process's
  pid. Lines are appended with one ``write`` each (``O_APPEND``), so the file's order is the
  order the events happened in across processes.
"""

from __future__ import annotations

import json
import os
import time
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

PAUSE_ENV = "AGENT_PATTERNS_TEST_PAUSE"
CLAIM_ENV = "AGENT_PATTERNS_TEST_PAUSE_CLAIM"
STEPS_ENV = "AGENT_PATTERNS_TEST_STEPS_LOG"

__all__ = ["CLAIM_ENV", "PAUSE_ENV", "STEPS_ENV", "append_line", "install"]


def append_line(path: str, entry: dict[str, Any]) -> None:
    """Append `entry` as one JSON line with a single ``O_APPEND`` write."""
    data = (json.dumps(entry, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _current_thread() -> str | None:
    """The thread id of the graph run this code runs in (None outside a run)."""
    from langgraph.config import get_config

    try:
        return str(get_config()["configurable"]["thread_id"])
    except (RuntimeError, KeyError):
        return None


def _pause() -> None:
    """Pause here if no other process has: claim the pause point, print PAUSED, block."""
    claim = os.environ[CLAIM_ENV]
    try:
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return  # another worker paused already: this one runs on
    os.write(fd, json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0)}).encode())
    os.close(fd)
    print("PAUSED", flush=True)
    while True:  # wait for SIGKILL
        time.sleep(60)


def _pause_in_model(thread: str, nth: int) -> None:
    """Pause inside `thread`'s `nth` model call (counted in this process)."""
    from models.base import OfflineChatModel

    original = OfflineChatModel._generate
    calls = 0

    def generate(self: OfflineChatModel, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if _current_thread() == thread:
            calls += 1
            if calls == nth:
                _pause()
        return original(self, *args, **kwargs)

    OfflineChatModel._generate = generate  # type: ignore[method-assign]


def _pause_in_effect(thread: str) -> None:
    """Pause in the refund tool right after `thread`'s refund was recorded."""
    import demo.orders

    original = demo.orders.record_effect

    def record_effect(kind: str, payload: dict[str, Any], **options: Any) -> dict[str, Any]:
        record = original(kind, payload, **options)
        if kind == "refund" and _current_thread() == thread:
            _pause()
        return record

    demo.orders.record_effect = record_effect


def _pause_at_gate(thread: str) -> None:
    """Pause when `thread`'s approval gate stops to wait for a decision."""
    from langgraph.errors import GraphInterrupt

    import nodes.approval_gate

    original = nodes.approval_gate.interrupt

    def interrupt(value: Any) -> Any:
        try:
            return original(value)
        except GraphInterrupt:
            if _current_thread() == thread:
                _pause()
            raise

    nodes.approval_gate.interrupt = interrupt  # type: ignore[assignment]


class StepLog(BaseCallbackHandler):
    """Logs the start and end of every graph node (not the runs nested inside one)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.nodes: dict[UUID, tuple[str, str | None]] = {}

    def _log(self, run_id: UUID, event: str) -> None:
        node, thread = self.nodes.pop(run_id) if event != "start" else self.nodes[run_id]
        append_line(self.path, {"pid": os.getpid(), "thread": thread, "node": node, "event": event})

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Log a node's start (a run named after the node it runs in)."""
        metadata = metadata or {}
        node = metadata.get("langgraph_node")
        if node is None or kwargs.get("name") != node or run_id in self.nodes:
            return
        thread = metadata.get("thread_id")
        self.nodes[run_id] = (str(node), None if thread is None else str(thread))
        self._log(run_id, "start")

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Log a node's end."""
        if run_id in self.nodes:
            self._log(run_id, "end")

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Log a node's failure or interrupt: it stopped without completing."""
        if run_id in self.nodes:
            self._log(run_id, "error")


def _log_steps(path: str) -> None:
    """Add a `StepLog` to every run this process starts (a LangChain configure hook)."""
    from langchain_core.tracers.context import register_configure_hook

    # One logger for every context of the process (pool threads, forked pool processes): a
    # default, not a value set in one thread's context.
    logger = StepLog(path)
    hook: ContextVar[StepLog | None] = ContextVar("worker_pause_steps", default=logger)  # noqa: B039
    register_configure_hook(hook, inheritable=True)


def install() -> None:
    """Install the pause point and the step log the environment asks for."""
    if os.environ.get(STEPS_ENV):
        _log_steps(os.environ[STEPS_ENV])
    point = os.environ.get(PAUSE_ENV, "")
    if not point:
        return
    kind, _, rest = point.partition(":")
    if kind == "model":
        thread, _, nth = rest.rpartition(":")
        _pause_in_model(thread, int(nth))
    elif kind == "effect":
        _pause_in_effect(rest)
    elif kind == "gate":
        _pause_at_gate(rest)
    else:
        raise ValueError(f"unknown pause point {point!r}")
