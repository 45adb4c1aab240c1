"""Runs the product debate in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.debate_worker --url URL --thread ID --steps-log PATH
[--pause-before-task N | --pause-in PERSPECTIVE --round N --after NAME,...]

The four perspectives and the facilitator run on the demo model, so they play the scenario's
offline stand-ins (`demo.product_debate`); this worker registers the perspectives' again with
logging: each contribution a perspective's model made (``contribution``: ``<name>-r<round>``;
one model call makes one contribution) and each facilitator call (``facilitator_call``). The
stand-ins are stateless, so a resumed process decides exactly as an uninterrupted one. The
worker prints ``PAUSED`` and blocks at the pause point, and at the end prints ``RESULT <json>``.

Pause points: before the N-th graph node starts (contribution tasks not counted); or inside a
perspective's contribution to round N, at its model call, once the ``--after`` perspectives'
contributions to that round are saved in the checkpointer.
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
from demo.product_debate import (  # noqa: E402
    DEBATE_REQUEST,
    debate_perspectives,
    demo_facilitator,
    demo_perspective,
    register_stand_ins,
)
from graphs.debate import CONTRIBUTION_TASK, build_debate_graph  # noqa: E402
from models import HeuristicDemoModel, ScriptedChatModel, register_offline  # noqa: E402
from state.debate import FACILITATOR_ROLE, perspective_role  # noqa: E402
from tests.integration.graph_worker import drive, log_entry, log_tasks  # noqa: E402
from tests.integration.task_pause import RETURN, no_pause, pause_in_task  # noqa: E402


def logging_perspective(
    steps_log: str, on_call: Callable[[str], None] = no_pause
) -> Callable[..., ScriptedChatModel]:
    """The perspectives' stand-in, logging each contribution (``<name>-r<round>``)."""

    def for_perspective(**inputs: Any) -> ScriptedChatModel:
        contribution = demo_perspective(**inputs).replies[0]
        label = f"{inputs['perspective']}-r{inputs['round']}"

        def logged(messages: list[BaseMessage]) -> Any:
            on_call(label)
            log_entry(steps_log, contribution=label)
            return contribution

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_perspective


def logging_facilitator(steps_log: str) -> Callable[..., ScriptedChatModel]:
    """The facilitator's stand-in, logging each call."""

    def for_run(**inputs: Any) -> ScriptedChatModel:
        summary = demo_facilitator(**inputs).replies[0]

        def logged(messages: list[BaseMessage]) -> Any:
            log_entry(steps_log, facilitator_call=len(inputs["transcript"]))
            return summary

        return ScriptedChatModel(replies=[logged], cycle=True)

    return for_run


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in", default="")
    parser.add_argument("--round", type=int, default=1)
    parser.add_argument("--after", default="")
    args = parser.parse_args()

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        on_call: Callable[[str], None] = no_pause
        if args.pause_in:
            after = set(filter(None, args.after.split(",")))
            on_call = pause_in_task(f"{args.pause_in}-r{args.round}", after, saver, config)
        register_stand_ins()
        specs = debate_perspectives()
        for spec in specs:
            register_offline(
                perspective_role(spec.name), logging_perspective(args.steps_log, on_call)
            )
        register_offline(FACILITATOR_ROLE, logging_facilitator(args.steps_log))
        graph = build_debate_graph(specs, model=HeuristicDemoModel(), rounds=2, checkpointer=saver)
        on_task = log_tasks(
            args.steps_log,
            args.pause_before_task,
            counted=lambda name: name != CONTRIBUTION_TASK,  # graph nodes, not contributions
            details=lambda event: (
                {"perspective": event["result"][RETURN]["step"]}
                if event["name"] == CONTRIBUTION_TASK
                else {}
            ),
        )
        request = {"messages": [HumanMessage(DEBATE_REQUEST, id="request")]}
        drive(graph, config, request, on_task)
        final = graph.get_state(config).values
        result = {
            "answer": final["messages"][-1].text,
            "transcript": final["transcript"],
            "contributions": final["contributions"],
            "summary": final["summary"],
            "status": final["status"],
        }
        print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
