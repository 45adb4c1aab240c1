"""Runs the refund orchestrator in its own process so crash tests can SIGKILL it.

Usage: python -m tests.integration.orchestrator_worker --url URL --thread ID --steps-log PATH
--path approved|manual_review [--pause-before-task N | --pause-in-effect]

It runs one of the demo shop's example requests (`demo.refund_orchestrator.EXAMPLE_REQUESTS`)
on the served wiring (purchases, the shop's refund tool, the offline stand-ins on the demo
model, which are deterministic), or continues the thread when the checkpointer already has it;
it accepts the approval itself (manual review), logs each completed task to ``--steps-log``,
prints ``PAUSED`` and blocks at the pause point (before the N-th task starts, or inside
``issue_refund`` right after the payment was recorded), and at the end prints ``RESULT <json>``.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import HumanMessage  # noqa: E402

import demo.orders  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from demo.refund_orchestrator import EXAMPLE_REQUESTS  # noqa: E402
from graphs.orchestrator import SERVED_OPTIONS, build_orchestrator_graph  # noqa: E402
from tests.integration.graph_worker import (  # noqa: E402
    drive,
    log_tasks,
    pause_after_recording,
    report_result,
)


def main() -> int:
    """Run (or resume) the thread and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--path", default="manual_review", choices=sorted(EXAMPLE_REQUESTS))
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-in-effect", action="store_true")
    args = parser.parse_args()
    if args.pause_in_effect:
        demo.orders.record_effect = pause_after_recording(demo.orders.record_effect)

    with open_checkpointer(args.url) as saver:
        config: Any = {"configurable": {"thread_id": args.thread}}
        graph = build_orchestrator_graph(**SERVED_OPTIONS, checkpointer=saver)
        request = {"messages": [HumanMessage(EXAMPLE_REQUESTS[args.path], id="request")]}
        drive(graph, config, request, log_tasks(args.steps_log, args.pause_before_task))
        final = graph.get_state(config)
        route = final.values.get("route") or {}
        report_result(
            final,
            saver,
            args.thread,
            path=route.get("path"),
            outcome=final.values.get("outcome"),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
