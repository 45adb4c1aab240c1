"""Runs the swarm in its own process so the crash test can SIGKILL it mid-handoff.

Usage: python -m tests.integration.swarm_worker --url URL --thread ID --steps-log PATH
[--pause-before TASK | --pause-at-gate | --pause-in-effect]

The swarm runs the support departments on the offline demo model (deterministic: a new
process gets the replies an uninterrupted run would). The question starts at shipping, which
looks the order up and hands off to billing, whose refund waits at the approval gate; the
worker approves it. Tasks stream with ``subgraphs=True`` and are named by path: ``billing``
is the swarm's task that runs the billing agent, ``billing/call_model`` the model call inside
it. ``--pause-before TASK`` prints ``PAUSED`` and blocks when that task (its first time)
starts, waiting to be killed; each completed task is logged to ``--steps-log`` as a JSON line.
At the end it prints ``RESULT <json>``: the conversation, handoffs, active agent, approvals and
the effect ledger.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import demo.orders  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from graphs.registry import build_graph  # noqa: E402
from tests.integration.graph_worker import (  # noqa: E402
    drive,
    log_entry,
    pause,
    pause_after_recording,
    report_result,
    summarise,
)

QUESTION = "My order A-1001 arrived broken, please refund it."
CONTEXT = {"model": "demo"}


def task_path(namespace: tuple[str, ...], name: str) -> str:
    """``billing/call_model`` for the model call inside the billing agent."""
    return "/".join([*(part.split(":")[0] for part in namespace), name])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before", default="")
    parser.add_argument("--pause-at-gate", action="store_true")
    parser.add_argument("--pause-in-effect", action="store_true")
    args = parser.parse_args()
    if args.pause_in_effect:
        demo.orders.record_effect = pause_after_recording(demo.orders.record_effect)

    with open_checkpointer(args.url) as saver:
        graph = build_graph("swarm", checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread}}

        def on_task(namespace: tuple[str, ...], event: dict[str, Any]) -> None:
            path = task_path(namespace, event["name"])
            if "input" in event:
                if path == args.pause_before:
                    pause()
            elif event.get("error") is None and not event.get("interrupts"):
                log_entry(args.steps_log, name=path)

        request = {"messages": [("user", QUESTION)]}
        drive(
            graph,
            config,
            request,
            on_task,
            pause_at_gate=args.pause_at_gate,
            subgraphs=True,
            context=CONTEXT,
        )
        final = graph.get_state(config)
        report_result(
            final,
            saver,
            args.thread,
            messages=[summarise(m) | {"name": m.name} for m in final.values["messages"]],
            handoffs=final.values["handoffs"],
            active_agent=final.values["active_agent"],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
