"""Where a tool call runs: shared daemon workers, an inline `ToolNode`, a watch on the tool.

Calls under a timeout run on a small shared pool of daemon threads (`ToolWorkers`), not a
thread pool created per call; calls without one (``timeout_s=None``) run inline. Either way
the tool runs in that thread (`InlineToolNode`), not on another pool ``ToolNode`` would
create for every invoke. `ReturnWatch` tells a failure inside the tool from a result refused
after the tool returned. The tool node (`nodes.tool_execution`) decides which to use.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_config_list
from langgraph.prebuilt import ToolNode, ToolRuntime
from langgraph.runtime import Runtime

__all__ = ["InlineToolNode", "ReturnWatch", "ToolWorkers"]

_Job = tuple[concurrent.futures.Future[Any], Callable[[], Any]]


class ToolWorkers:
    """The shared daemon threads that run tool calls under a timeout.

    Why not a ``ThreadPoolExecutor`` per call (what this node did before): starting and
    joining a thread for every call cost more than the rest of a round. Why not one shared
    ``ThreadPoolExecutor``: its workers are joined at interpreter exit (a tool abandoned on its
    timeout would hold up the process), and a job queued behind busy workers would spend its
    timeout waiting for a thread instead of running. So: up to `size` daemon threads, started
    lazily, retired after `idle_s` without work; a job never waits for a worker. When all of
    them are busy (many concurrent calls, or abandoned tools still running), the job gets a
    one-off daemon thread of its own, so a timeout always measures the tool itself.
    """

    def __init__(self, size: int, idle_s: float = 60.0) -> None:
        self._size = size
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = 0
        self._idle = 0  # workers waiting for a job that no submitted job has claimed yet

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Start `fn` at once on a worker; its future holds the result or the exception."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            claimed = self._idle > 0  # a waiting worker will take the job off the queue
            grow = not claimed and self._threads < self._size
            self._idle -= claimed
            self._threads += grow
        if claimed or grow:
            self._jobs.put((future, fn))
            if grow:
                self._start(self._work)
        else:  # every worker is busy: a thread of its own, so the job never waits
            self._start(lambda: self._run(future, fn))
        return future

    @staticmethod
    def _start(target: Callable[[], None]) -> None:
        threading.Thread(target=target, name="tool", daemon=True).start()

    @staticmethod
    def _run(future: concurrent.futures.Future[Any], fn: Callable[[], Any]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - the caller re-raises it from result()
            future.set_exception(exc)

    def _work(self) -> None:
        """A worker's loop: run jobs; retire after `idle_s` with no job and none claimed."""
        while True:
            try:
                future, fn = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # unclaimed: no job is on its way to this worker
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # a job was claimed just now; it is on the queue already
            self._run(future, fn)
            del future, fn  # drop the result before waiting for the next job
            with self._lock:
                self._idle += 1


class InlineToolNode(ToolNode):
    """A `ToolNode` that runs a single call in the calling thread.

    ``ToolNode`` maps its calls over a thread pool it creates on every invoke, so each call
    cost a thread start and join. This node is invoked with one call at a time (`_invoke`
    decides the thread: inline, or a shared worker under a timeout), so that one call runs
    here, in a copy of the context as the pool would give it, with the same `ToolRuntime`
    ``ToolNode`` builds. Several calls (never sent by this module) go to ``ToolNode`` itself.

    It overrides ``ToolNode``'s private ``_func`` and uses its private helpers (``_parse_input``,
    ``_extract_state``, ``_run_one``, ``_combine_tool_outputs``; langgraph-prebuilt 1.1), so a
    LangGraph upgrade may break it: the parity tests (tests/unit/test_tool_node_parity.py)
    run every injected argument and Command shape through it.
    """

    def _func(self, input: Any, config: RunnableConfig, runtime: Runtime[Any]) -> Any:
        tool_calls, input_type = self._parse_input(input)
        if len(tool_calls) != 1:
            return super()._func(input, config, runtime)
        call, cfg = tool_calls[0], get_config_list(config, 1)[0]
        tool_runtime: Any = ToolRuntime(
            state=self._extract_state(input, cfg),
            tool_call_id=call["id"],
            config=cfg,
            context=runtime.context,
            store=runtime.store,
            stream_writer=runtime.stream_writer,
            tools=list(self.tools_by_name.values()),
            execution_info=runtime.execution_info,
            server_info=runtime.server_info,
        )
        output = contextvars.copy_context().run(self._run_one, call, input_type, tool_runtime)
        return self._combine_tool_outputs([output], input_type)


class ReturnWatch(BaseCallbackHandler):
    """Notes whether the tool itself returned (``ToolNode`` checks its result afterwards)."""

    def __init__(self) -> None:
        self.outer: UUID | None = None
        self.returned = False

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **_: Any) -> None:
        """Remember the outermost tool run (tools the tool calls start later)."""
        if self.outer is None:
            self.outer = run_id

    def on_tool_end(self, output: Any, *, run_id: UUID, **_: Any) -> None:
        """The outermost tool returned."""
        if run_id == self.outer:
            self.returned = True
