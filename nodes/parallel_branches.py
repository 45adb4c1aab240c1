"""Running a parallel pattern's branches at the same time, each as a durable LangGraph task.

Every branch is a sub-agent (`nodes.subagent.SubAgent`) given the request as its task
(``{"messages": [HumanMessage(request)]}``); its output is the text of its last AI message.
The branches run through the plan runner (`nodes.plan_steps`) as steps without
dependencies, under the task name `BRANCH_TASK`, so:

- they all start at once: under ``invoke`` each holds one of the run's worker threads (the
  graph raises ``max_concurrency`` to fit its branches); under ``ainvoke`` they are
  coroutines, and since LangGraph runs the sync nodes of an async run (a ReAct branch's model
  and tool nodes) on the event loop's default thread pool, that pool is grown to fit them
  (`ensure_loop_threads`; a process-wide effect on that loop, documented there);
- a finished branch's result is saved as its task's write the moment it finishes: a run
  resumed after a crash or an approval does not run it again;
- an interrupt inside a branch (an approval) pauses the run while the other branches finish
  and are saved; on resume only the paused branch runs, continuing from its own checkpoint.

A branch that raises is ``failed`` and one that runs past the timeout is ``timed_out``; both
are results (data), saved like any other, so a resumed run does not retry them. Under
``ainvoke`` a timed-out branch is cancelled. Under ``invoke`` a Python thread cannot be
stopped: the branch runs in a helper thread that is abandoned at the timeout (it finishes in
the background; whatever it returns is ignored), so give sync branches tools with their own
timeouts (`PatternRuntime.tool_timeout_s`) as well.

When the run plays on the offline demo model, a branch built from a spec (not a compiled
graph, no model of its own) is rebuilt on the stand-in registered for its role
(`state.parallel.branch_role`: ``parallel.branch.<name>``), given
`state.parallel.BranchInputs`; without one it runs on the demo model itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.pregel import Pregel

from models.offline import offline_stand_in
from nodes.model_call import model_for_spec
from nodes.plan_steps import arun_plan_steps, run_plan_steps
from nodes.subagent import SubAgent, SubAgentResult
from state.agent_spec import AgentSpec
from state.parallel import BranchInputs, BranchResult, branch_role
from state.plan import PlanStep

__all__ = [
    "BRANCH_TASK",
    "Branch",
    "BranchRunner",
    "branch_outcome",
    "call_with_timeout",
    "ensure_loop_threads",
]

BRANCH_TASK = "run_branch"
"""Name of every branch's task (in streamed ``tasks`` and ``updates`` events)."""

BranchRun = dict[str, Any]
"""What one branch's task saves: ``{"result": BranchResult, "approvals": [...], "step": name}``."""


@dataclass(frozen=True)
class Branch:
    """One branch as the runner needs it.

    Attributes:
        spec: the branch's spec (its name is the branch's name).
        agent: the sub-agent as built.
        model: the model it was built with; None when it resolves ``context.model`` per run.
        rebuild: builds the branch on another model (for the role's offline stand-in); None
            for a branch given as a compiled graph or with a model of its own.
    """

    spec: AgentSpec
    agent: SubAgent
    model: BaseChatModel | None = None
    rebuild: Callable[[BaseChatModel], Pregel[Any, Any, Any, Any]] | None = None

    @property
    def name(self) -> str:
        """The branch's name."""
        return self.spec.name

    def agent_for(self, request: str, parent_context: Any) -> SubAgent:
        """The sub-agent for this run: on the role's stand-in when the run plays offline."""
        if self.rebuild is None:
            return self.agent
        chosen = self.model or model_for_spec(getattr(parent_context, "model", "") or "")
        inputs = BranchInputs(branch=self.name, request=request, tools=self.spec.tools)
        stand_in = offline_stand_in(chosen, branch_role(self.name), **inputs)
        if stand_in is None:
            return self.agent
        return SubAgent(self.rebuild(stand_in), name=self.name)


def branch_outcome(name: str, result: SubAgentResult) -> BranchRun:
    """A branch's saved run from what its sub-agent returned (or raised)."""
    if result.failed:
        failed = BranchResult(status="failed", output="", error=result.describe_error(name))
        return {"result": failed, "approvals": []}
    messages = result.values.get("messages", [])
    answer = next((m.text for m in reversed(messages) if isinstance(m, AIMessage)), None)
    approvals = [{**r, "branch": name} for r in result.values.get("approvals", [])]
    if answer is None:
        error = f"{name} failed: it ended without an answer"
        return {"result": BranchResult(status="failed", output="", error=error), "approvals": []}
    return {
        "result": BranchResult(status="done", output=answer, error=None),
        "approvals": approvals,
    }


def _timed_out(name: str, timeout_s: float) -> BranchRun:
    error = f"{name} timed out after {timeout_s:g} s"
    return {"result": BranchResult(status="timed_out", output="", error=error), "approvals": []}


def call_with_timeout(func: Callable[[], Any], timeout_s: float | None) -> tuple[bool, Any]:
    """Call `func` in a helper thread and wait at most `timeout_s` (sync branches).

    The helper runs in a copy of the caller's context (LangGraph's run config travels in
    context variables). Past the timeout the helper is abandoned, not stopped.

    Returns:
        ``(True, value)``, or ``(False, None)`` when the timeout passed first.

    Raises:
        BaseException: whatever `func` raised (an interrupt included), in the caller's thread.
    """
    if timeout_s is None:
        return True, func()
    box: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = context.run(func)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    helper = threading.Thread(target=target, daemon=True, name="parallel-branch")
    helper.start()
    helper.join(timeout_s)
    if helper.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box["value"]


_LOOP_THREADS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = (
    weakref.WeakKeyDictionary()
)
"""The default thread pool size this module gave each running loop."""


def _python_default_threads() -> int:
    return min(32, (os.cpu_count() or 1) + 4)


def ensure_loop_threads(branches: int) -> None:
    """Give the running event loop's default thread pool room for `branches` more sync nodes.

    LangGraph runs a sync node of an async run (a ReAct branch's model and tool nodes) on the
    loop's default thread pool, Python's ``min(32, cpus + 4)`` threads: 6 on 2 cores, so 20
    ReAct branches would run in waves of 6. The pool is replaced by one of ``branches`` plus
    that default size, only ever grown, at most once per size per loop; the old pool finishes
    what it runs and its threads exit.
    """
    loop = asyncio.get_running_loop()
    target = branches + _python_default_threads()
    if _LOOP_THREADS.get(loop, _python_default_threads()) >= target:
        return
    previous = getattr(loop, "_default_executor", None)  # None until the loop first used one
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=target, thread_name_prefix="asyncio-branches")
    )
    _LOOP_THREADS[loop] = target
    if isinstance(previous, ThreadPoolExecutor):
        previous.shutdown(wait=False)


class BranchRunner:
    """Runs every branch on the request, at the same time, inside a graph node."""

    def __init__(self, branches: Sequence[Branch], *, timeout_s: float | None = None) -> None:
        """Keep the branches (declared order) and the per-branch timeout (None: none)."""
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"branch_timeout_s must be positive or None, got {timeout_s}")
        self.branches = {branch.name: branch for branch in branches}
        self.timeout_s = timeout_s

    def _steps(self) -> list[PlanStep]:
        return [PlanStep(id=name, description=name) for name in self.branches]

    @staticmethod
    def _task(request: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(request)]}

    def run(self, request: str, parent_context: Any) -> dict[str, BranchRun]:
        """Run every branch (sync); each branch's run by name, in declared order.

        Raises:
            GraphInterrupt: one or more branches paused; the finished ones are saved.
        """

        def run_branch(step: PlanStep, _: Mapping[str, Any]) -> BranchRun:
            branch = self.branches[step.id]
            agent = branch.agent_for(request, parent_context)
            finished, result = call_with_timeout(
                lambda: agent.run(self._task(request), parent_context), self.timeout_s
            )
            if not finished:
                return _timed_out(branch.name, self.timeout_s or 0)
            return branch_outcome(branch.name, result)

        runs = run_plan_steps(self._steps(), {}, run_branch, task_name=BRANCH_TASK)
        return {name: runs[name] for name in self.branches}

    async def arun(self, request: str, parent_context: Any) -> dict[str, BranchRun]:
        """Async twin of `run`: a timed-out branch is cancelled.

        The loop's default thread pool is grown to fit the branches first
        (`ensure_loop_threads`), so branches with sync nodes run at once too.
        """
        ensure_loop_threads(len(self.branches))

        async def run_branch(step: PlanStep, _: Mapping[str, Any]) -> BranchRun:
            branch = self.branches[step.id]
            agent = branch.agent_for(request, parent_context)
            call = agent.arun(self._task(request), parent_context)
            try:
                result = await asyncio.wait_for(call, self.timeout_s)
            except TimeoutError:
                return _timed_out(branch.name, self.timeout_s or 0)
            return branch_outcome(branch.name, result)

        runs = await arun_plan_steps(self._steps(), {}, run_branch, task_name=BRANCH_TASK)
        return {name: runs[name] for name in self.branches}
