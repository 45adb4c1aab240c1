"""Runs the parallel incident triage in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.parallel_worker --url URL --thread ID --steps-log PATH
[--pause-before-task N | --pause-in-branch NAME --after NAME,...]

The three specialists and the commander run on the demo model, so they play their offline
stand-ins: the commander `demo.incident.demo_commander`, the specialists
`nodes.parallel_stand_in.tool_caller_model`, which this worker registers (per branch role)
with logging: each specialist model call is logged (``model_call``), and so is each branch that
finished (its final model call, reporting its tool's result: ``finished_branch``). Both are
stateless, so a resumed process decides exactly as an uninterrupted one. The worker prints
``PAUSED`` and blocks at the pause point, and at the end prints ``RESULT <json>``.

Pause points: before the N-th graph node starts (branch tasks not counted); or inside a
branch, at its first model call, once the ``--after`` branches' results are saved in the
checkpointer (so the kill lands while that branch runs and those are finished).
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

from checkpointers.factory import open_checkpointer  # noqa: E402
from demo.incident import (  # noqa: E402
    COMMANDER_PROMPT,
    INCIDENT_REQUEST,
    SPECIALISTS,
    incident_branches,  # noqa: E402
)
from graphs.parallel import build_parallel_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel, register_offline  # noqa: E402
from nodes.parallel_branches import BRANCH_TASK  # noqa: E402
from nodes.parallel_stand_in import tool_caller_model  # noqa: E402
from state.parallel import branch_role  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, log_tasks  # noqa: E402
from tests.integration.task_pause import RETURN, no_pause, pause_in_task  # noqa: E402


def logging_branch(
    steps_log: str, on_call: Callable[[str], None] = no_pause
) -> Callable[..., ScriptedChatModel]:
    """The specialists' stand-in, logging each model call with its branch."""

    def for_branch(*, branch: str, **inputs: Any) -> ScriptedChatModel:
        play = tool_caller_model(branch=branch, **inputs).replies[0]

        def logged(messages: list[BaseMessage]) -> Any:
            on_call(branch)
            reply = play(messages)  # type: ignore[operator]
            log_entry(steps_log, model_call=branch)
            if isinstance(messages[-1], ToolMessage):  # the branch's report: it is finished
                log_entry(steps_log, finished_branch=branch)
            return reply

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_branch


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in-branch", default="")
    parser.add_argument("--after", default="")
    args = parser.parse_args()

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        on_call = no_pause
        if args.pause_in_branch:
            after = set(filter(None, args.after.split(",")))
            on_call = pause_in_task(args.pause_in_branch, after, saver, config)
        for name in SPECIALISTS:
            register_offline(branch_role(name), logging_branch(args.steps_log, on_call))
        graph = build_parallel_graph(
            incident_branches(),
            model=HeuristicDemoModel(),  # plays the stand-ins (the commander: demo.incident)
            synthesis_instructions=COMMANDER_PROMPT,
            checkpointer=saver,
        )
        on_task = log_tasks(
            args.steps_log,
            args.pause_before_task,
            counted=lambda name: name != BRANCH_TASK,  # graph nodes, not branches
            details=lambda event: (
                {"branch": event["result"][RETURN]["step"]} if event["name"] == BRANCH_TASK else {}
            ),
        )
        request = {"messages": [HumanMessage(INCIDENT_REQUEST, id="request")]}
        drive(graph, config, request, on_task)
        final = graph.get_state(config).values
        result = {
            "answer": final["messages"][-1].text,
            "branch_results": final["branch_results"],
            "status": final["status"],
        }
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
