"""``agent-patterns demo``: run a pattern on its seed scenario (or your question), step by step.

``--graph`` picks the pattern (default ``react``); each has a seed scenario
(`demo.scenarios`), asked when no question is given. It streams every step to the terminal
and stops at the approval gate. With a terminal attached it asks you to accept, edit, respond
or reject; ``--approve auto|reject`` decides for scripts; with neither it prints the pending
action and the command that resumes the thread, and exits 0. Threads live in a SQLite file by
default, so a stopped demo resumes later, from a new process; a thread remembers its graph.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid
from typing import Any, TextIO

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from checkpointers.factory import DEFAULT_CHECKPOINTER_URL, open_checkpointer
from cli.errors import CliError
from cli.render import STREAM_MODES, StepPrinter, describe_interrupt
from cli.threads import open_existing_checkpointer, thread_config, thread_graph_id
from demo.scenarios import SCENARIOS
from graphs._pending import unique_interrupts
from graphs.registry import GRAPH_BUILDERS, build_graph

__all__ = ["add_demo_arguments", "run_demo"]

DEFAULT_GRAPH = "react"


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the demo's command-line options."""
    parser.add_argument(
        "question", nargs="?", help="what to ask (default: the pattern's seed scenario)"
    )
    parser.add_argument(
        "--approve",
        choices=["auto", "accept", "reject"],
        help="decide at the approval gate without asking: auto/accept runs the action, "
        "reject refuses it",
    )
    parser.add_argument(
        "--graph",
        default=None,
        choices=sorted(GRAPH_BUILDERS),
        help=f"which pattern to run (default: {DEFAULT_GRAPH}; with --thread, the thread's own)",
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


def _cli_command() -> str:
    """How to run this CLI again from here: the interpreter it runs on, relative if close."""
    python = sys.executable
    relative = os.path.relpath(python)
    return f"{relative if not relative.startswith('..') else python} -m cli"


def _resume_hint(thread_id: str, checkpointer_url: str | None) -> str:
    options = f"--thread {thread_id}"
    if checkpointer_url:
        options += f" --checkpointer '{checkpointer_url}'"
    if checkpointer_url == "memory":
        return "(nothing: a memory checkpointer forgets the thread when this process exits)"
    return (
        f'make demo ARGS="{options} --approve auto"      (or --approve reject)\n'
        f"  or: {_cli_command()} demo {options} --approve auto"
    )


def _question(args: argparse.Namespace, graph_id: str) -> str | None:
    """The question to ask: the user's, else (on a new thread) the pattern's scenario."""
    if args.question is not None and not args.question.strip():
        raise CliError(
            f"the question is empty: ask something, or leave it out to run the {graph_id} scenario"
        )
    if args.question is not None or args.thread:
        return args.question
    return SCENARIOS[graph_id].question


class _DemoRun:
    """One demo invocation: a thread of one graph, streamed, decided at the gate."""

    def __init__(
        self, args: argparse.Namespace, graph: Any, graph_id: str, stdin: TextIO, out: TextIO
    ) -> None:
        self.args, self.graph, self.graph_id = args, graph, graph_id
        self.stdin, self.out = stdin, out
        self.thread_id = args.thread or f"demo-{uuid.uuid4().hex[:8]}"
        self.config: RunnableConfig = thread_config(self.thread_id)
        self.printer = StepPrinter(out)
        self.reviewer = args.reviewer or f"cli:{getpass.getuser()}"
        self.interactive = args.approve is None and stdin.isatty()
        self.context: dict[str, Any] = {"model": args.model, "max_steps": args.max_steps}
        if graph_id == "memory_agent":
            self.context["user_id"] = args.user

    def first_payload(self) -> tuple[Any, bool]:
        """What to send first, and whether to go on (False: nothing to do on this thread)."""
        question = _question(self.args, self.graph_id)
        pending = unique_interrupts(self.graph.get_state(self.config)) if self.args.thread else ()
        if pending and not question:
            self.out.write(f"Thread {self.thread_id} is waiting at the approval gate.\n")
            return None, True  # decided below, like any other stop at the gate
        if self.args.thread and not question:
            # Re-running a resume command must not start a new turn (and a second refund).
            self.out.write(f"Thread {self.thread_id} has nothing waiting for approval.\n")
            self.finish(self.graph.get_state(self.config).values)
            return None, False
        if not self.args.thread and not self.args.question:
            self.out.write(f"{self.graph_id}: {SCENARIOS[self.graph_id].shows}.\n")
        self.out.write(f"Thread {self.thread_id} ({self.graph_id})\n[user] {question}\n")
        return {"messages": [("user", question)], "cancel_pending": self.args.cancel_pending}, True

    def stream(self, payload: Any) -> None:
        """Run to the next stop, printing every step."""
        for namespace, mode, event in self.graph.stream(
            payload,
            self.config,
            context=self.context,
            stream_mode=STREAM_MODES,
            subgraphs=True,
            durability="sync",
        ):
            self.printer.on_event(str(mode), event, tuple(namespace))

    def decisions(self, interrupts: Any, announce: bool) -> dict[str, Any] | None:
        """The answers to the waiting requests, or None when nobody can decide here."""
        if announce:
            for item in interrupts:
                self.out.write(f"[approval_gate] pending (interrupt {item.id})\n")
                self.out.write(describe_interrupt(item.value) + "\n")
        if self.args.approve is None and not self.interactive:
            self.out.write(
                "\nStopped at the approval gate: nothing was run. To decide, resume with\n"
                f"  {_resume_hint(self.thread_id, self.args.checkpointer)}\n"
            )
            return None
        answers: dict[str, Any] = {}
        for item in interrupts:
            if self.args.approve in ("auto", "accept"):
                answers[item.id] = {"type": "accept", "reviewer": self.reviewer}
            elif self.args.approve == "reject":
                reason = "rejected from the command line"
                answers[item.id] = {"type": "ignore", "reviewer": self.reviewer, "reason": reason}
            else:
                answers[item.id] = _decide_interactively(
                    item.value, self.reviewer, self.stdin, self.out
                )
        return answers

    def run(self) -> int:
        """Stream, stop at the gate, decide, resume, until the thread ends or waits."""
        payload, go_on = self.first_payload()
        if not go_on:
            return 0
        while True:
            if payload is not None:
                self.stream(payload)
            state = self.graph.get_state(self.config)
            if not state.interrupts:
                self.finish(state.values)
                return 0
            answers = self.decisions(unique_interrupts(state), announce=payload is None)
            if answers is None:
                return 0
            payload = Command(resume=answers)

    def finish(self, values: dict[str, Any]) -> None:
        """Say the thread finished, with its last answer unless it streamed above."""
        messages = values.get("messages", [])
        if not messages:
            self.out.write(f"Thread {self.thread_id} has no messages.\n")
            return
        last = messages[-1]
        if self.printer.showed(last):
            self.out.write(f"\nThread {self.thread_id} finished (its answer is above).\n")
        else:
            self.out.write(f"\nThread {self.thread_id} finished. Last answer:\n{last.text}\n")
        for record in values.get("approvals", []):
            self.out.write(
                f"audit: {record['decision']} {record['action']} by {record['reviewer']} "
                f"at {record['decided_at']}\n"
            )


def run_demo(
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the demo; returns the process exit code.

    Raises:
        CliError: an empty question, an unknown thread, or a thread of another graph.
    """
    opener = open_existing_checkpointer if args.thread else open_checkpointer
    with opener(args.checkpointer) as saver:
        if args.thread:
            graph_id = thread_graph_id(saver, args.thread, args.graph)
        else:
            graph_id = args.graph or DEFAULT_GRAPH
        _question(args, graph_id)  # an empty question fails before anything is built
        store = None
        if graph_id == "memory_agent":  # the only pattern with long-term memory
            from memory import open_store

            store = open_store()
        graph = build_graph(graph_id, checkpointer=saver, store=store)
        return _DemoRun(args, graph, graph_id, stdin or sys.stdin, out or sys.stdout).run()
