"""Runs a pattern's graph in its own process so crash tests can SIGKILL it at a chosen point.

Usage: python -m tests.integration.graph_worker --graph react|hitl --url URL --thread ID
--steps-log PATH [--pause-before-task N | --pause-at-gate | --pause-in-effect]

It starts the thread (or continues it if the checkpointer already has it), approves every
approval request itself, logs each task that completed to ``--steps-log`` as a JSON line, and
prints ``PAUSED`` then blocks when it reaches the pause point, waiting to be killed:
``--pause-in-effect`` pauses inside the side-effecting tool right after the outside system
recorded the effect (the worst moment to die). At the end it prints ``RESULT <json>`` with the
final conversation, the audit trail, the effect ledger and the usage totals (state and table).
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
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage  # noqa: E402
from langgraph.types import Command  # noqa: E402

import demo.orders  # noqa: E402
from checkpointers.factory import open_checkpointer  # noqa: E402
from checkpointers.ledger import default_ledger  # noqa: E402
from graphs.registry import build_graph  # noqa: E402
from nodes.usage import usage_log  # noqa: E402

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
    def wrapper(kind: str, payload: dict[str, Any], **options: Any) -> dict[str, Any]:
        record = record_effect(kind, payload, **options)
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
        "usage": final.values.get("usage"),
        "usage_table": usage_log(saver).totals(thread_id=thread),
        **extra,
    }
    print("RESULT " + json.dumps(result, sort_keys=True), flush=True)


def accept_all(interrupts: Any) -> Command:
    return Command(resume={i.id: {"type": "accept", "reviewer": "worker"} for i in interrupts})


def log_entry(steps_log: str, **entry: Any) -> None:
    """Append ``{"pid": <this process>, **entry}`` to the steps log, one JSON line."""
    with open(steps_log, "a", encoding="utf-8") as log:
        log.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")


TaskHandler = Callable[[tuple[str, ...], dict[str, Any]], None]
"""Sees each streamed task event with its namespace (``()`` for the graph's own tasks)."""


def log_tasks(
    steps_log: str,
    pause_before_task: int = 0,
    *,
    counted: Callable[[str], bool] = lambda name: True,
    details: Callable[[dict[str, Any]], dict[str, Any]] = lambda event: {},
) -> TaskHandler:
    """Log every task that completed; pause when the N-th counted task starts.

    Args:
        steps_log: where completed tasks are logged (``{"pid", "name", **details}``).
        pause_before_task: pause (print ``PAUSED``, wait to be killed) at this start; 0: never.
        counted: which task names count as starts.
        details: more fields for a completed task's log line, from its event.
    """
    started = 0

    def on_task(namespace: tuple[str, ...], event: dict[str, Any]) -> None:
        nonlocal started
        if "input" in event:
            if counted(event["name"]):
                started += 1
                if started == pause_before_task:
                    pause()
        elif event.get("error") is None and not event.get("interrupts"):
            log_entry(steps_log, name=event["name"], **details(event))

    return on_task


DURABILITY = "sync"
"""Each step is saved before the next starts, so a kill loses at most the running step."""


def drive(
    graph: Any,
    config: Any,
    request: Any,
    on_task: TaskHandler,
    *,
    pause_at_gate: bool = False,
    subgraphs: bool = False,
    context: Any = None,
) -> None:
    """Run the thread to its end, accepting every approval it asks for.

    A new thread starts with `request`; a thread already in the checkpointer continues: its
    pending approvals are accepted, an interrupted step resumes, a finished one is left alone.

    Args:
        graph: the compiled graph, on the checkpointer under test.
        config: the thread's config.
        request: the input of a new thread.
        on_task: sees every streamed task event (`log_tasks`, or a worker's own).
        pause_at_gate: pause (wait to be killed) each time the run waits for an approval.
        subgraphs: stream the tasks of subgraphs too (namespaces name their path).
        context: the run's context.
    """
    state = graph.get_state(config)
    payload: Any
    if not state.values.get("messages"):
        payload = request
    elif state.interrupts:
        payload = accept_all(state.interrupts)
    elif state.next:
        payload = None
    else:
        return
    while True:
        for item in graph.stream(
            payload,
            config,
            context=context,
            stream_mode="tasks",
            subgraphs=subgraphs,
            durability=DURABILITY,
        ):
            namespace, event = item if subgraphs else ((), item)
            on_task(namespace, event)
        state = graph.get_state(config)
        if not state.interrupts:
            return
        if pause_at_gate:
            pause()
        payload = accept_all(state.interrupts)


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
        demo.orders.record_effect = pause_after_recording(demo.orders.record_effect)

    with open_checkpointer(args.url) as saver:
        graph = build_graph(args.graph, checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread}}
        request = {"messages": [("user", QUESTIONS[args.graph])]}
        on_task = log_tasks(args.steps_log, args.pause_before_task)
        drive(graph, config, request, on_task, pause_at_gate=args.pause_at_gate)
        report_result(graph.get_state(config), saver, args.thread)
    return 0


if __name__ == "__main__":
    sys.exit(main())
