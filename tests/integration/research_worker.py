"""Runs the market-expansion research in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.research_worker --url URL --thread ID --steps-log PATH
[--pause-before-task N | --pause-in WORKSTREAM --after ID,...]

The root and the five workers run on the demo model, so they play the scenario's offline
stand-ins (`demo.market_research`); this worker registers them again with logging: each
report a worker's model made (``workstream``: the workstream's id; one model call makes one
report) and each call of the root (``root_call``: ``plan`` or ``brief``). The stand-ins are
stateless, so a resumed process decides exactly as an uninterrupted one. The worker prints
``PAUSED`` and blocks at the pause point, and at the end prints ``RESULT <json>``.

Pause points: before the N-th graph node starts (workstream tasks not counted); or inside a
workstream's research, at its worker's model call, once the ``--after`` workstreams' reports
of the same level are saved in the checkpointer.
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

from langchain_core.messages import BaseMessage, HumanMessage  # noqa: E402

from checkpointers.factory import open_checkpointer  # noqa: E402
from demo.market_research import (  # noqa: E402
    RESEARCH_REQUEST,
    demo_planner,
    demo_synthesis,
    demo_worker,
    market_capabilities,
    market_workers,
)
from graphs.research import WORKSTREAM_TASK, build_research_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel, register_offline  # noqa: E402
from state.research import PLANNER_ROLE, SYNTHESIS_ROLE, worker_role  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, log_tasks  # noqa: E402
from tests.integration.task_pause import RETURN, no_pause, pause_in_task  # noqa: E402


def logging_worker(
    steps_log: str, on_call: Callable[[str], None] = no_pause
) -> Callable[..., ScriptedChatModel]:
    """The workers' stand-in, logging each report (the workstream's id)."""

    def for_workstream(**inputs: Any) -> ScriptedChatModel:
        report = demo_worker(**inputs).replies[0]
        label = inputs["workstream"]["id"]

        def logged(messages: list[BaseMessage]) -> Any:
            on_call(label)
            log_entry(steps_log, workstream=label)
            return report

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_workstream


def logging_root(steps_log: str, call: str, play: Callable[..., ScriptedChatModel]) -> Any:
    """The root's stand-in for one of its roles, logging each call."""

    def for_run(**inputs: Any) -> ScriptedChatModel:
        answer = play(**inputs).replies[0]

        def logged(messages: list[BaseMessage]) -> Any:
            log_entry(steps_log, root_call=call)
            return answer

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_run


def _result(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "answer": values["messages"][-1].text,
        "workstreams": values["workstreams"],
        "brief": values["brief"],
        "flags": values["flags"],
        "status": values["status"],
    }


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in", default="")
    parser.add_argument("--after", default="")
    args = parser.parse_args()

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        on_call: Callable[[str], None] = no_pause
        if args.pause_in:
            after = set(filter(None, args.after.split(",")))
            on_call = pause_in_task(args.pause_in, after, saver, config)
        workers = market_workers()
        for spec in workers:
            register_offline(worker_role(spec.name), logging_worker(args.steps_log, on_call))
        register_offline(PLANNER_ROLE, logging_root(args.steps_log, "plan", demo_planner))
        register_offline(SYNTHESIS_ROLE, logging_root(args.steps_log, "brief", demo_synthesis))
        graph = build_research_graph(
            workers,
            capabilities=market_capabilities(),
            generalist="generalist",
            model=HeuristicDemoModel(),
            checkpointer=saver,
        )
        on_task = log_tasks(
            args.steps_log,
            args.pause_before_task,
            counted=lambda name: name != WORKSTREAM_TASK,  # graph nodes, not workstreams
            details=lambda event: (
                {"task": event["result"][RETURN]["step"]}
                if event["name"] == WORKSTREAM_TASK
                else {}
            ),
        )
        request = {"messages": [HumanMessage(RESEARCH_REQUEST, id="request")]}
        drive(graph, config, request, on_task)
        result = _result(graph.get_state(config).values)
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
