"""Benchmark (not a test): plan_execute's parallel steps against lock-step rounds and a chain.

Every model call (planner, each executor call, replanner) sleeps to stand in for model
latency (``--delay``, default 0.2 s); tools are instant; each step costs two executor calls.
Every plan is also run in two other shapes, through the same graph in the same run:

- ``chain``: the same steps re-wired into one chain (each depends on the one before);
- ``rounds``: each step made to depend on every step one level shallower, which is how the
  steps would run if a round had to finish before the next started (LangGraph super-steps,
  one ``Send`` per ready step: the previous design of this graph).

Plans (6 steps, 3 independent branches each):

- ``equal``: three 2-step branches (fleet then resize, queue then queue, runbook then update).
  Ideal parallel / chain = (2 + 2 * 2) / (2 + 6 * 2) = 6 / 14 ≈ 0.43 in model calls; rounds
  cost nothing here, since every round's steps take equally long.
- ``unequal``: one slow step (its model calls take 3 x the delay) beside a 3-step chain and a
  2-step chain. Ideal: parallel = 2 + 6 = 8 calls, rounds = 2 + 6 + 2 + 2 = 12 calls,
  chain = 2 + 6 + 6 + 4 = 18 calls: parallel / rounds = 0.67, parallel / chain = 0.44.

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

from demo.effects import clear_effects  # noqa: E402
from demo.fleet import FLEET_REQUEST, fleet_tools  # noqa: E402
from graphs.plan_execute import build_plan_execute_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel, register_offline  # noqa: E402
from nodes.plan_executor import step_follower_model  # noqa: E402
from state.plan import EXECUTOR_ROLE, PlanStep, Replan  # noqa: E402

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


def _step(step_id: str, tool: str, inputs: dict[str, Any], *deps: str) -> dict[str, Any]:
    return {
        "id": step_id,
        "description": step_id,
        "tool": tool,
        "inputs": inputs,
        "depends_on": list(deps),
    }


UNEQUAL: dict[str, Any] = {
    "goal": "A slow step beside two chains",
    "steps": [
        _step("slow_read", "read_runbook", {"section": "scaling"}),
        _step("b1", "check_queue_depth", {"queue": "jobs"}),
        _step("b2", "check_queue_depth", {"queue": "jobs"}, "b1"),
        _step("b3", "check_queue_depth", {"queue": "jobs"}, "b2"),
        _step("c1", "get_fleet_status", {}),
        _step("c2", "check_queue_depth", {"queue": "emails"}, "c1"),
    ],
}
SLOW_STEPS = {"slow_read": 3.0}
"""Steps whose executor model calls take this many times the delay."""


def in_sequence(plan: dict[str, Any]) -> dict[str, Any]:
    """The same steps as one chain: each depends on the one before."""
    chained = copy.deepcopy(plan)
    for before, step in zip(chained["steps"], chained["steps"][1:], strict=False):
        step["depends_on"] = [before["id"]]
    chained["steps"][0]["depends_on"] = []
    return chained


def in_rounds(plan: dict[str, Any]) -> dict[str, Any]:
    """The same steps, each also waiting for every step one level shallower (lock-step)."""
    rounded = copy.deepcopy(plan)
    level: dict[str, int] = {}
    for step in rounded["steps"]:  # the plans here list dependencies first
        level[step["id"]] = 1 + max((level[d] for d in step.get("depends_on", [])), default=-1)
    for step in rounded["steps"]:
        shallower = [s for s, n in level.items() if n == level[step["id"]] - 1]
        step["depends_on"] = sorted(set(step.get("depends_on", [])) | set(shallower))
    return rounded


class PacedExecutor:
    """The executor's offline stand-in for the benchmark: the step follower, sleeping `delay_s`
    per call (x `SLOW_STEPS` for slow steps); it keeps every model it built, to count calls."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.models: list[ScriptedChatModel] = []

    def __call__(self, *, step: PlanStep, results: Any, **_: Any) -> ScriptedChatModel:
        delay = self.delay_s * SLOW_STEPS.get(step.id, 1.0)
        model = step_follower_model(step, results, delay_s=delay)
        self.models.append(model)
        return model

    @property
    def calls(self) -> int:
        """Executor model calls so far."""
        return sum(len(model.calls) for model in self.models)


def slow(reply: Any, delay_s: float) -> ScriptedChatModel:
    """A model that sleeps `delay_s` per call, then gives `reply`."""

    def answer(messages: list[BaseMessage]) -> Any:
        time.sleep(delay_s)
        return reply

    return ScriptedChatModel(replies=[answer], cycle=True)


def run(plan: dict[str, Any], delay_s: float) -> tuple[float, int]:
    """Wall time of one run of `plan` and the number of executor model calls."""
    clear_effects()
    executor = PacedExecutor(delay_s)
    register_offline(EXECUTOR_ROLE, executor)
    graph = build_plan_execute_graph(
        fleet_tools(),
        planner_model=slow(plan, delay_s),
        replanner_model=slow(Replan(finished=True, answer="Done."), delay_s),
        executor_model=HeuristicDemoModel(),  # plays the stand-in registered above
        checkpointer=InMemorySaver(),
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    context = {"approve_plan": False, "approval_policy": "never"}
    started = time.perf_counter()
    graph.invoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=context)
    elapsed = time.perf_counter() - started
    statuses = {r["status"] for r in graph.get_state(config).values["step_results"].values()}
    assert statuses == {"done"}, statuses
    return elapsed, executor.calls


SHAPES = {"parallel": lambda plan: plan, "rounds": in_rounds, "chain": in_sequence}
PLANS = {"equal": BRANCHES, "unequal": UNEQUAL}


def main() -> int:
    """Run every plan in every shape `--repeat` times; print median wall times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    run(BRANCHES, 0.0)  # warm-up: imports, first compile
    times: dict[str, dict[str, list[float]]] = {p: {s: [] for s in SHAPES} for p in PLANS}
    calls: dict[str, dict[str, int]] = {p: {} for p in PLANS}
    for _ in range(args.repeat):  # interleaved, so machine noise hits every shape alike
        for plan_name, plan in PLANS.items():
            for shape, reshape in SHAPES.items():
                elapsed, executor_calls = run(reshape(plan), args.delay)
                times[plan_name][shape].append(elapsed)
                calls[plan_name][shape] = executor_calls
    report: dict[str, Any] = {"delay_s": args.delay, "repeat": args.repeat, "plans": {}}
    print(
        f"6-step plans of 3 branches, {args.delay * 1000:.0f} ms per model call, median of "
        f"{args.repeat}"
    )
    for plan_name in PLANS:
        median = {shape: statistics.median(times[plan_name][shape]) for shape in SHAPES}
        ratios = {
            "parallel/rounds": median["parallel"] / median["rounds"],
            "parallel/chain": median["parallel"] / median["chain"],
        }
        report["plans"][plan_name] = {
            **{f"{shape}_s": round(value, 3) for shape, value in median.items()},
            **{name: round(value, 3) for name, value in ratios.items()},
            "executor_model_calls": calls[plan_name],
        }
        print(f"  {plan_name}:")
        for shape, value in median.items():
            print(f"    {shape:<8} {value:.3f} s")
        for name, value in ratios.items():
            print(f"    {name:<16} {value:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
