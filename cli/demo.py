"""``agent-patterns demo``: a pattern (ReAct by default) answering an order question, step by step.

It streams every step to the terminal and stops at the approval gate. With a terminal attached
it asks you to accept, edit, respond or reject; ``--approve auto|reject`` decides for scripts;
with neither it prints the pending action and the command that resumes the thread, and exits 0.
Threads live in a SQLite file by default, so a stopped demo resumes later, from a new process.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import uuid
from typing import Any, TextIO

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from checkpointers.factory import DEFAULT_CHECKPOINTER_URL, open_checkpointer
from cli.render import STREAM_MODES, StepPrinter, describe_interrupt
from graphs.registry import GRAPH_BUILDERS, build_graph

__all__ = ["DEFAULT_QUESTION", "add_demo_arguments", "run_demo"]

DEFAULT_QUESTION = "My order A-1001 arrived broken. Can you refund it?"


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the demo's command-line options."""
    parser.add_argument("question", nargs="?", help=f"what to ask (default: {DEFAULT_QUESTION!r})")
    parser.add_argument(
        "--approve",
        choices=["auto", "accept", "reject"],
        help="decide at the approval gate without asking: auto/accept runs the action, "
        "reject refuses it",
    )
    parser.add_argument(
        "--graph",
        default="react",
        choices=sorted(GRAPH_BUILDERS),
        help="which pattern to run (default: react)",
    )
    parser.add_argument("--thread", help="thread id to continue (default: a new thread)")
    parser.add_argument(
        "--cancel-pending",
        action="store_true",
        help="with --thread and a question: cancel the approval the thread waits on (recorded "
        "as superseded) and ask the question instead",
    )
    parser.add_argument(
        "--checkpointer",
        default=None,
        help=f"checkpointer URL: memory, sqlite:///path or postgresql://... "
        f"(default: $CHECKPOINTER_URL or {DEFAULT_CHECKPOINTER_URL})",
    )
    parser.add_argument("--model", default="", help="model spec: demo or openai:<model>")
    parser.add_argument("--reviewer", default=None, help="name recorded in the audit trail")
    parser.add_argument("--max-steps", type=int, default=8, help="model calls per turn")
    parser.add_argument(
        "--user",
        default="demo-user",
        help="user id whose memories memory_agent recalls and stores (in .agent-patterns/chroma "
        "or $MEMORY_STORE_URL)",
    )


def _decide_interactively(value: Any, reviewer: str, stdin: TextIO, out: TextIO) -> Any:
    out.write("Decide: [a]ccept, [e]dit arguments, [r]espond instead, [i]gnore (reject)? ")
    out.flush()
    choice = (stdin.readline() or "i").strip().lower()[:1]
    if choice == "a":
        return {"type": "accept", "reviewer": reviewer}
    if choice == "e":
        current = value[0]["action_request"]["args"] if isinstance(value, list) else {}
        out.write(f"New arguments as JSON (now {json.dumps(current)}): ")
        out.flush()
        text = stdin.readline().strip()
        try:
            args = json.loads(text) if text else current
        except json.JSONDecodeError:
            out.write("That is not JSON; the gate will ask again.\n")
            args = text
        return {"type": "edit", "args": args, "reviewer": reviewer}
    if choice == "r":
        out.write("Message for the agent: ")
        out.flush()
        return {"type": "response", "args": stdin.readline().strip(), "reviewer": reviewer}
    out.write("Reason for rejecting (optional): ")
    out.flush()
    reason = stdin.readline().strip() or None
    return {"type": "ignore", "reviewer": reviewer, "reason": reason}


def _resume_hint(thread_id: str, checkpointer_url: str | None, graph_id: str) -> str:
    options = f"--thread {thread_id}" + (f" --graph {graph_id}" if graph_id != "react" else "")
    if checkpointer_url:
        options += f" --checkpointer '{checkpointer_url}'"
    if checkpointer_url == "memory":
        return "(nothing: a memory checkpointer forgets the thread when this process exits)"
    return (
        f'make demo ARGS="{options} --approve auto"      (or --approve reject)\n'
        f"  or: agent-patterns demo {options} --approve auto"
    )


def run_demo(
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the demo; returns the process exit code."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    reviewer = args.reviewer or f"cli:{getpass.getuser()}"
    interactive = args.approve is None and stdin.isatty()
    context: dict[str, Any] = {"model": args.model, "max_steps": args.max_steps}
    store = None
    if args.graph == "memory_agent":  # the only pattern with long-term memory
        from memory import open_store

        store = open_store()
        context["user_id"] = args.user
    printer = StepPrinter(out)

    with open_checkpointer(args.checkpointer) as saver:
        graph = build_graph(args.graph, checkpointer=saver, store=store)
        thread_id = args.thread or f"demo-{uuid.uuid4().hex[:8]}"
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        if args.thread and saver.get_tuple(config) is None:
            # --thread continues a thread; a mistyped id must not start a new conversation.
            print(
                f"error: no thread {thread_id!r} in this checkpointer; "
                "omit --thread to start a new one",
                file=sys.stderr,
            )
            return 1
        pending = graph.get_state(config).interrupts if args.thread else ()
        payload: Any
        if pending and not args.question:
            out.write(f"Thread {thread_id} is waiting at the approval gate.\n")
            payload = None  # decided below, like any other stop at the gate
        elif args.thread and not args.question:
            # Re-running a resume command must not start a new turn (and a second refund).
            out.write(f"Thread {thread_id} has nothing waiting for approval.\n")
            _print_outcome(graph.get_state(config).values, thread_id, out)
            return 0
        else:
            question = args.question or DEFAULT_QUESTION
            out.write(f"Thread {thread_id}\n[user] {question}\n")
            payload = {"messages": [("user", question)], "cancel_pending": args.cancel_pending}

        while True:
            if payload is not None:
                for namespace, mode, event in graph.stream(
                    payload,
                    config,
                    context=context,
                    stream_mode=STREAM_MODES,
                    subgraphs=True,
                    durability="sync",
                ):
                    printer.on_event(str(mode), event, tuple(namespace))
            state = graph.get_state(config)
            if not state.interrupts:
                break
            if payload is None:
                for item in state.interrupts:
                    out.write(f"[approval_gate] pending (interrupt {item.id})\n")
                    out.write(describe_interrupt(item.value) + "\n")
            decisions: dict[str, Any] = {}
            for item in state.interrupts:
                if args.approve in ("auto", "accept"):
                    decisions[item.id] = {"type": "accept", "reviewer": reviewer}
                elif args.approve == "reject":
                    decisions[item.id] = {
                        "type": "ignore",
                        "reviewer": reviewer,
                        "reason": "rejected from the command line",
                    }
                elif interactive:
                    decisions[item.id] = _decide_interactively(item.value, reviewer, stdin, out)
                else:
                    out.write(
                        "\nStopped at the approval gate: nothing was run. To decide, resume with\n"
                        f"  {_resume_hint(thread_id, args.checkpointer, args.graph)}\n"
                    )
                    return 0
            payload = Command(resume=decisions)

        _print_outcome(state.values, thread_id, out)
    return 0


def _print_outcome(values: dict[str, Any], thread_id: str, out: TextIO) -> None:
    messages = values.get("messages", [])
    if not messages:
        out.write(f"Thread {thread_id} has no messages.\n")
        return
    out.write(f"\nThread {thread_id} finished. Last answer:\n{messages[-1].text}\n")
    for record in values.get("approvals", []):
        out.write(
            f"audit: {record['decision']} {record['action']} by {record['reviewer']} "
            f"at {record['decided_at']}\n"
        )
