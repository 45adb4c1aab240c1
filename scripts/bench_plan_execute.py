"""Benchmark (not a test): plan_execute with parallel branches against the same plan in sequence.

A 6-step plan of 3 independent branches (read the fleet size then resize; measure the queue
then measure it again; read the runbook then update it). Every model call (planner, each
executor call, replanner) sleeps ``--delay`` seconds (default 0.2) to stand in for model
latency; tools are instant. The same six steps are then re-wired into one chain (each step
depends on the previous) and run through the same graph. The ratio is parallel / sequential
wall time (lower is better; the ideal here is (2 + 2 * 2) / (2 + 6 * 2) = 6 / 14 ≈ 0.43 in
units of model calls, since each step costs two executor calls).

    python scripts/bench_plan_execute.py [--delay 0.2] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("LANGSMITH_TRACING", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import BaseMessage, HumanMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from graphs.plan_execute import build_plan_execute_graph, step_follower_model  # noqa: E402
from models import ScriptedChatModel  # noqa: E402
from state.plan import Replan  # noqa: E402
from tools.effects import clear_effects  # noqa: E402
from tools.fleet import FLEET_REQUEST  # noqa: E402

BRANCHES: dict[str, Any] = {
    "goal": "Fleet at 20, queue measured twice, runbook updated",
    "steps": [
        {"id": "fleet", "description": "Read fleet size", "tool": "get_fleet_status"},
        {
            "id": "resize",
            "description": "Resize to 20",
            "tool": "resize_fleet",
            "inputs": {"count": 20},
            "depends_on": ["fleet"],
        },
        {
            "id": "queue1",
            "description": "Measure the queue",
            "tool": "check_queue_depth",
            "inputs": {"queue": "jobs"},
        },
        {
            "id": "queue2",
            "description": "Measure the queue again",
            "tool": "check_queue_depth",
            "inputs": {"queue": "emails"},
            "depends_on": ["queue1"],
        },
        {
            "id": "runbook",
            "description": "Read the runbook",
            "tool": "read_runbook",
            "inputs": {"section": "scaling"},
        },
        {
            "id": "update",
            "description": "Update the runbook",
            "tool": "update_runbook",
            "inputs": {"section": "scaling", "text": "20 instances."},
            "depends_on": ["runbook"],
        },
    ],
}


def in_sequence(plan: dict[str, Any]) -> dict[str, Any]:
    """The same steps as one chain: each depends on the one before."""
    chained = copy.deepcopy(plan)
    for before, step in zip(chained["steps"], chained["steps"][1:], strict=False):
        step["depends_on"] = [before["id"]]
    chained["steps"][0]["depends_on"] = []
    return chained


def slow(reply: Any, delay_s: float) -> ScriptedChatModel:
    """A model that sleeps `delay_s` per call, then gives `reply`."""

    def answer(messages: list[BaseMessage]) -> Any:
        time.sleep(delay_s)
        return reply

    return ScriptedChatModel(replies=[answer], cycle=True)


def run(plan: dict[str, Any], delay_s: float) -> tuple[float, int]:
    """Wall time of one run of `plan` and the number of executor model calls."""
    clear_effects()
    executor = step_follower_model(delay_s=delay_s)
    graph = build_plan_execute_graph(
        planner_model=slow(plan, delay_s),
        replanner_model=slow(Replan(finished=True, answer="Done."), delay_s),
        executor_model=executor,
        checkpointer=InMemorySaver(),
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    context = {"approve_plan": False, "approval_policy": "never"}
    started = time.perf_counter()
    graph.invoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=context)
    elapsed = time.perf_counter() - started
    statuses = {r["status"] for r in graph.get_state(config).values["step_results"].values()}
    assert statuses == {"done"}, statuses
    return elapsed, len(executor.calls)


def main() -> int:
    """Run both shapes `--repeat` times and print median wall times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    run(BRANCHES, 0.0)  # warm-up: imports, first compile
    times: dict[str, list[float]] = {"parallel": [], "sequential": []}
    calls: dict[str, int] = {}
    for _ in range(args.repeat):
        for label, plan in (("parallel", BRANCHES), ("sequential", in_sequence(BRANCHES))):
            elapsed, executor_calls = run(plan, args.delay)
            times[label].append(elapsed)
            calls[label] = executor_calls
    parallel = statistics.median(times["parallel"])
    sequential = statistics.median(times["sequential"])
    report = {
        "delay_s": args.delay,
        "repeat": args.repeat,
        "parallel_s": round(parallel, 3),
        "sequential_s": round(sequential, 3),
        "ratio": round(parallel / sequential, 3),
        "executor_model_calls": calls,
    }
    print(f"6-step plan, 3 branches, {args.delay * 1000:.0f} ms per model call")
    print(f"  parallel (3 branches): {parallel:.3f} s")
    print(f"  sequential (1 chain):  {sequential:.3f} s")
    print(f"  ratio parallel/sequential: {parallel / sequential:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
