"""Runs the fleet saga scenario in its own process so a crash test can SIGKILL it.

Usage: python -m tests.integration.saga_worker --url URL --thread ID --steps-log PATH
[--pause-before-node N | --pause-in-undo KIND]

The plan (`demo.fleet.SAGA_PLAN`) resizes the fleet, updates the runbook, then fails its
capacity check; the replanner gives up, so the saga undoes the runbook update, then the
resize. Models are scripted and stateless, so a resumed process decides exactly as an
uninterrupted one. The worker accepts every approval itself (each effect of the plan, then
each compensation), logs each graph node start (``{"start": n, "name": ...}``) and each
completed node to ``--steps-log``, prints ``PAUSED`` and blocks at the pause point, and at
the end prints ``RESULT <json>``.

Pause points: before the N-th graph node starts (plan steps not counted); or inside a
compensating tool right after the fleet recorded its effect (``--pause-in-undo
fleet_resize`` or ``runbook_update``: the first such record made by a compensation).
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import HumanMessage  # noqa: E402

import demo.fleet  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from checkpointers.ledger import default_ledger  # noqa: E402
from demo.fleet import SAGA_PLAN, SAGA_REQUEST, saga_tools  # noqa: E402
from graphs.plan_execute import build_plan_execute_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel  # noqa: E402
from nodes.plan_steps import STEP_TASK  # noqa: E402
from state.plan import Replan  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, pause  # noqa: E402

GIVE_UP = "The capacity check failed, so the change is rolled back."
CONTEXT = {"approve_plan": False, "approval_policy": "side-effects"}


def pause_in_undo(kind: str) -> None:
    """Pause right after a compensation records its `kind` effect (the first one only)."""
    record_effect = demo.fleet.record_effect

    def wrapper(effect: str, payload: dict[str, Any], **options: Any) -> dict[str, Any]:
        record = record_effect(effect, payload, **options)
        undoing = payload.get("count") == demo.fleet.BASE_FLEET or str(
            payload.get("text", "")
        ).startswith("Original ")
        if effect == kind and undoing:
            pause()
        return record

    setattr(demo.fleet, "record_effect", wrapper)  # noqa: B010 - patched for this process


def node_logger(steps_log: str, pause_before: int) -> Any:
    """Log every graph node start and completion; pause before the N-th start."""
    started = 0

    def on_task(namespace: tuple[str, ...], event: dict[str, Any]) -> None:
        nonlocal started
        if event["name"] == STEP_TASK:
            return
        if "input" in event:
            started += 1
            log_entry(steps_log, start=started, name=event["name"])
            if started == pause_before:
                pause()
        elif event.get("error") is None and not event.get("interrupts"):
            log_entry(steps_log, done=event["name"])

    return on_task


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-node", type=int, default=0)
    parser.add_argument("--pause-in-undo", default="")
    args = parser.parse_args()
    if args.pause_in_undo:
        pause_in_undo(args.pause_in_undo)
    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        graph = build_plan_execute_graph(
            saga_tools(),
            planner_model=ScriptedChatModel(replies=[SAGA_PLAN], cycle=True),
            replanner_model=ScriptedChatModel(
                replies=[Replan(finished=True, answer=GIVE_UP)], cycle=True
            ),
            executor_model=HeuristicDemoModel(),  # plays the step follower (offline stand-in)
            checkpointer=saver,
        )
        request = {"messages": [HumanMessage(SAGA_REQUEST, id="request")]}
        on_task = node_logger(args.steps_log, args.pause_before_node)
        drive(graph, config, request, on_task, context=CONTEXT)
        final = graph.get_state(config)
        saga = final.values["saga"]
        result = {
            "answer": final.values["messages"][-1].text,
            "next": list(final.next),
            "saga": {
                "status": saga["status"],
                "planned": [(u["undoes_tool"], u["tool"], u["outcome"]) for u in saga["planned"]],
            },
            "ledger": sorted(
                (e.tool, e.status, e.tool_call_id)
                for e in default_ledger(saver).entries(args.thread)
            ),
        }
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
