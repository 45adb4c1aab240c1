"""Runs a pattern's graph in its own process so crash tests can SIGKILL it at a chosen point.

Usage: python -m tests.integration.graph_worker --graph react|hitl --url URL --thread ID
--steps-log PATH [--pause-before-task N | --pause-at-gate | --pause-in-effect]

It starts the thread (or continues it if the checkpointer already has it), approves every
approval request itself, logs each task that completed to ``--steps-log`` as a JSON line, and
prints ``PAUSED`` then blocks when it reaches the pause point, waiting to be killed:
``--pause-in-effect`` pauses inside the side-effecting tool right after the outside system
recorded the effect (the worst moment to die). At the end it prints ``RESULT <json>`` with the
final conversation, the audit trail and the effect ledger.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage  # noqa: E402
from langgraph.types import Command  # noqa: E402

import tools.orders  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from checkpointers.ledger import default_ledger  # noqa: E402
from graphs.registry import build_graph  # noqa: E402

QUESTIONS = {
    "react": "My order A-1001 arrived broken, please refund it.",
    "hitl": "Refund order A-1002 please, it is late.",
}


def summarise(message: BaseMessage) -> dict[str, Any]:
    """The parts of a message that must match between an interrupted and a clean run."""
    summary: dict[str, Any] = {"type": message.type, "content": message.text}
    if isinstance(message, AIMessage):
        summary["tool_calls"] = [(c["name"], c["args"], c["id"]) for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        summary["tool_call_id"] = message.tool_call_id
        summary["status"] = message.status
    return summary


def pause() -> None:
    print("PAUSED", flush=True)
    while True:  # wait for SIGKILL
        time.sleep(60)


def pause_after_recording(record_effect: Any) -> Any:
    def wrapper(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        record = record_effect(kind, payload)
        pause()
        return record

    return wrapper


def report_result(final: Any, saver: Any, thread: str, **extra: Any) -> None:
    """Print ``RESULT <json>``: what must match between an interrupted and a clean run."""
    result = {
        "messages": [summarise(m) for m in final.values["messages"]],
        "approvals": [
            {k: v for k, v in r.items() if k not in ("decided_at", "requested_at")}
            for r in final.values["approvals"]
        ],
        "next": list(final.next),
        "ledger": [
            {"tool": e.tool, "status": e.status, "tool_call_id": e.tool_call_id}
            for e in default_ledger(saver).entries(thread)
        ],
        **extra,
    }
    print("RESULT " + json.dumps(result, sort_keys=True), flush=True)


def accept_all(interrupts: Any) -> Command:
    return Command(resume={i.id: {"type": "accept", "reviewer": "worker"} for i in interrupts})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--graph", default="react", choices=sorted(QUESTIONS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--steps-log", required=True)
    parser.add_argument("--pause-before-task", type=int, default=0)
    parser.add_argument("--pause-at-gate", action="store_true")
    parser.add_argument("--pause-in-effect", action="store_true")
    args = parser.parse_args()
    if args.pause_in_effect:
        tools.orders.record_effect = pause_after_recording(tools.orders.record_effect)

    with open_checkpointer(args.url) as saver:
        graph = build_graph(args.graph, checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread}}
        started = 0
        state = graph.get_state(config)
        payload: Any
        if not state.values.get("messages"):
            payload = {"messages": [("user", QUESTIONS[args.graph])]}
        elif state.interrupts:
            payload = accept_all(state.interrupts)
        elif state.next:
            payload = None
        else:
            payload = "done"
        while payload != "done":
            for event in graph.stream(payload, config, stream_mode="tasks", durability="sync"):
                if "input" in event:
                    started += 1
                    if started == args.pause_before_task:
                        pause()
                elif event.get("error") is None and not event.get("interrupts"):
                    with open(args.steps_log, "a", encoding="utf-8") as log:
                        log.write(json.dumps({"pid": os.getpid(), "name": event["name"]}) + "\n")
            state = graph.get_state(config)
            if not state.interrupts:
                break
            if args.pause_at_gate:
                pause()
            payload = accept_all(state.interrupts)
        report_result(graph.get_state(config), saver, args.thread)
    return 0


if __name__ == "__main__":
    sys.exit(main())
