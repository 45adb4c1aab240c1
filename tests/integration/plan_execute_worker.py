"""Runs the plan-and-execute fleet scenario in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.plan_execute_worker --url URL --thread ID --steps-log PATH
[--pause-before-task N | --pause-in-step STEP --after STEP,... | --pause-in-effect]

Models are scripted and stateless (the same plan, the step-following executor, a replanner
that finishes), so a resumed process decides exactly as an uninterrupted one. The executor
runs on the demo model, so it plays its offline stand-in, which this worker registers as the
step follower with logging: it is given the step it works on (`state.plan.ExecutorInputs`).
The worker accepts every approval request itself (the plan, then each side-effecting step),
logs each completed graph node, each executor model call and each step the executor
finished (its final model call, reporting the tool's result) to ``--steps-log``, prints
``PAUSED`` and blocks at the pause point, and at the end prints ``RESULT <json>``.

Pause points: before the N-th graph node starts (plan steps not counted); inside a step, at
its executor's first model call, once the ``--after`` steps' results are saved in the
checkpointer (so the kill lands while that step runs and those are finished); or inside
``resize_fleet`` right after the fleet recorded the resize.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage  # noqa: E402

import demo.fleet  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from demo.fleet import FLEET_PLAN, FLEET_REQUEST, fleet_tools  # noqa: E402
from graphs.plan_execute import build_plan_execute_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel, register_offline  # noqa: E402
from nodes.plan_executor import step_follower_model  # noqa: E402
from nodes.plan_steps import STEP_TASK  # noqa: E402
from state.plan import EXECUTOR_ROLE, PlanStep, Replan  # noqa: E402
from tests.integration.graph_worker import (  # noqa: E402
    drive,
    log_entry,
    log_tasks,
    pause_after_recording,
)
from tests.integration.task_pause import RETURN, no_pause, pause_in_task  # noqa: E402


def logging_executor(
    steps_log: str, on_call: Callable[[str], None] = no_pause
) -> Callable[..., ScriptedChatModel]:
    """The executor's stand-in: the step follower, logging each model call with its step."""

    def for_step(*, step: PlanStep, results: Any, **_: Any) -> ScriptedChatModel:
        follow = step_follower_model(step, results).replies[0]

        def logged(messages: list[BaseMessage]) -> Any:
            on_call(step.id)
            reply = follow(messages)
            log_entry(steps_log, model_call=step.id)
            if isinstance(messages[-1], ToolMessage):  # the step's report: it is finished
                log_entry(steps_log, finished_step=step.id)
            return reply

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_step


ANSWER = "The fleet runs 20 instances, the jobs queue drains and the runbook says so."


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in-step", default="")
    parser.add_argument("--after", default="")
    parser.add_argument("--pause-in-effect", action="store_true")
    args = parser.parse_args()
    if args.pause_in_effect:
        demo.fleet.record_effect = pause_after_recording(demo.fleet.record_effect)

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        on_call = no_pause
        if args.pause_in_step:
            after = set(filter(None, args.after.split(",")))
            on_call = pause_in_task(args.pause_in_step, after, saver, config)
        register_offline(EXECUTOR_ROLE, logging_executor(args.steps_log, on_call))
        graph = build_plan_execute_graph(
            fleet_tools(),
            planner_model=ScriptedChatModel(replies=[FLEET_PLAN], cycle=True),
            replanner_model=ScriptedChatModel(
                replies=[Replan(finished=True, answer=ANSWER)], cycle=True
            ),
            executor_model=HeuristicDemoModel(),  # plays the stand-in registered above
            checkpointer=saver,
        )
        on_task = log_tasks(
            args.steps_log,
            args.pause_before_task,
            counted=lambda name: name != STEP_TASK,  # graph nodes, not plan steps
            details=lambda event: (
                {"step": event["result"][RETURN]["step"]} if event["name"] == STEP_TASK else {}
            ),
        )
        request = {"messages": [HumanMessage(FLEET_REQUEST, id="request")]}
        drive(graph, config, request, on_task)
        final = graph.get_state(config).values
        result = {
            "answer": final["messages"][-1].text,
            "step_results": final["step_results"],
            "approvals": sorted(
                (r["action"], r["decision"], r.get("step", "")) for r in final["approvals"]
            ),
            "status": final["status"],
        }
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
