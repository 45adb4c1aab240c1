"""Per-run limits: what one run has spent, and the check before each model call.

A run is one invocation of a graph (a new message, or a resume after an approval): the
server's run, or for a Python call the run id the input boundary gives it
(`graphs._boundary` puts ``run_id`` into ``configurable`` when the caller did not). Its
limits are the operator's `nodes.controls.RunLimits` tightened by the run's context
(``max_tokens_per_run``, ``max_cost_usd_per_run``, ``max_seconds_per_run``; a client may
tighten, never loosen). Before each model call `check_before_model_call` stops the run
(`nodes.run_stop.RunStopped`, kind ``"budget"``) when a limit is reached:

- tokens, cost and model calls: the run's totals so far (this process's tally, seeded from
  the usage table the first time a process sees a run, so a run continued elsewhere keeps
  counting what it spent);
- seconds: wall-clock time since the run started in this process;
- tool calls: a call over ``max_tool_calls`` is answered "not run" by the tool node
  (`claim_tool_call`), and the next model call stops the run;
- the caps of the user, their teams and the project over a day or a month
  (`nodes.budget_caps`), read from the tables beside the checkpoints, so they hold across
  processes.

Once a run is stopped it stays stopped: every later model call of the run stops at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config

from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from nodes.budget_caps import Budgets
from nodes.controls import RunLimits, current_controls
from nodes.identity import authenticated_user_id
from nodes.run_stop import RunStopped

__all__ = [
    "RunTally",
    "check_before_model_call",
    "claim_tool_call",
    "current_run_id",
    "record_model_call",
    "run_limits",
    "start_run",
    "tally_of",
]

_MAX_RUNS = 4096
_RUNTIME = "__pregel_runtime"


@dataclass
class RunTally:
    """What one run has spent in this process (see the module docs)."""

    started_at: float = field(default_factory=time.monotonic)
    tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    tool_calls: int = 0
    seeded: bool = False
    stop: RunStopped | None = None


_lock = threading.Lock()
_tallies: OrderedDict[str, RunTally] = OrderedDict()


def _config(config: RunnableConfig | None) -> RunnableConfig:
    if config is not None:
        return config
    try:
        return get_config()
    except RuntimeError:  # outside a runnable context
        return {}


def current_run_id(config: RunnableConfig | None = None) -> str | None:
    """The id of the run the current call belongs to (None outside a run).

    Args:
        config: the run's config; None reads the current runnable context.
    """
    config = _config(config)
    configurable = config.get("configurable") or {}
    info = getattr(configurable.get(_RUNTIME), "execution_info", None)
    found = (
        configurable.get("run_id")
        or getattr(info, "run_id", None)
        or (config.get("metadata") or {}).get("run_id")
    )
    return str(found) if found else None


def start_run(run_id: str) -> None:
    """Start the clock of a run in this process (the input boundary calls it)."""
    with _lock:
        if run_id not in _tallies:
            _tallies[run_id] = RunTally()
        _tallies.move_to_end(run_id)
        while len(_tallies) > _MAX_RUNS:
            _tallies.popitem(last=False)


def tally_of(run_id: str) -> RunTally:
    """The tally of a run (started now if this process has not seen it)."""
    with _lock:
        tally = _tallies.get(run_id)
    if tally is None:
        start_run(run_id)
        with _lock:
            tally = _tallies[run_id]
    return tally


def _context_of(config: RunnableConfig) -> Mapping[str, Any] | Any:
    runtime = (config.get("configurable") or {}).get(_RUNTIME)
    return getattr(runtime, "context", None) or {}


def run_limits(config: RunnableConfig | None = None) -> RunLimits:
    """The limits of the current run: the operator's, tightened by the run's context."""
    config = _config(config)
    return current_controls(config).run_limits.tightened_by(_context_of(config))


def _seed(tally: RunTally, run_id: str) -> None:
    """Count what the run spent before this process saw it (a run continued elsewhere)."""
    from nodes.usage import usage_log

    totals = usage_log().totals(run_id=run_id)
    with _lock:
        if not tally.seeded:
            tally.tokens += int(totals["total_tokens"])
            tally.cost_usd += float(totals["cost_usd"] or 0.0)
            tally.model_calls += int(totals["calls"])
            tally.seeded = True


def _breach(limits: RunLimits, tally: RunTally) -> RunStopped | None:
    """The first run limit `tally` has reached, as the stop it causes."""
    checks: list[tuple[str, float | None, float, str]] = [
        ("max_tokens_per_run", limits.max_tokens, tally.tokens, "{used:.0f} tokens used"),
        ("max_cost_usd_per_run", limits.max_cost_usd, tally.cost_usd, "${used:.4f} spent"),
        (
            "max_seconds_per_run",
            limits.max_seconds,
            time.monotonic() - tally.started_at,
            "{used:.1f} s elapsed",
        ),
        ("max_model_calls", limits.max_model_calls, tally.model_calls, "{used:.0f} calls made"),
    ]
    for name, limit, used, said in checks:
        if limit is not None and used >= limit:
            reason = f"the run's budget {name}={limit:g} ({said.format(used=used)})"
            return RunStopped(
                reason, kind="budget", detail={"budget": name, "limit": limit, "used": used}
            )
    return None


def check_before_model_call(role: str, config: RunnableConfig | None = None) -> None:
    """Stop the run when one of its limits or its user's caps is reached.

    Args:
        role: who is about to be asked (recorded in the stop's detail).
        config: the run's config; None reads the current runnable context.

    Raises:
        RunStopped: a limit or cap is reached (kind ``"budget"``), or the run was already
            stopped (the same stop again).
    """
    config = _config(config)
    run_id = current_run_id(config)
    if run_id is None:
        return
    tally = tally_of(run_id)
    if tally.stop is not None:
        raise tally.stop
    limits = run_limits(config)
    if limits.max_tokens is not None or limits.max_cost_usd is not None:
        if not tally.seeded:
            _seed(tally, run_id)
    stop = _breach(limits, tally) or _cap_breach(config)
    if stop is not None:
        stop.detail["role"] = role
        tally.stop = stop
        raise stop


def _cap_breach(config: RunnableConfig) -> RunStopped | None:
    """The user's, team's or project's cap that is reached, as the stop it causes.

    The caps and the spend are read beside the run's checkpoints (`nodes.budget_caps`), so
    a cap reached in one process stops runs in every other; the user is the authenticated
    one (`nodes.identity`), never a client field.
    """
    saver = (config.get("configurable") or {}).get(RUN_CHECKPOINTER_KEY)
    budgets = Budgets.for_checkpointer(saver if isinstance(saver, BaseCheckpointSaver) else None)
    breach = budgets.breach_for(authenticated_user_id(config))
    if breach is None:
        return None
    detail: dict[str, Any] = {"budget": f"{breach.period}_{breach.kind}", "scope": breach.scope}
    detail.update(limit=breach.cap, used=breach.spent)
    return RunStopped(breach.describe(), kind="budget", detail=detail)


def record_model_call(
    tokens: int, cost_usd: float | None, config: RunnableConfig | None = None
) -> None:
    """Add one model call's spend to the current run's tally."""
    run_id = current_run_id(config)
    if run_id is None:
        return
    tally = tally_of(run_id)
    with _lock:
        tally.tokens += tokens
        tally.cost_usd += cost_usd or 0.0
        tally.model_calls += 1


def claim_tool_call(tool_name: str, config: RunnableConfig | None = None) -> str | None:
    """Count one tool call against the run's ``max_tool_calls``.

    Returns:
        None when the call may run; otherwise why not (the call is answered with it, and
        the run is stopped at its next model call).
    """
    config = _config(config)
    run_id = current_run_id(config)
    if run_id is None:
        return None
    limit = run_limits(config).max_tool_calls
    tally = tally_of(run_id)
    with _lock:
        if limit is None or tally.tool_calls < limit:
            tally.tool_calls += 1
            return None
        used = tally.tool_calls
    reason = f"the run's budget max_tool_calls={limit} ({used} tool calls made)"
    if tally.stop is None:
        detail = {"budget": "max_tool_calls", "limit": limit, "used": used, "tool": tool_name}
        tally.stop = RunStopped(reason, kind="budget", detail=detail)
    return reason
