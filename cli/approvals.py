"""``agent-patterns approvals|audit|history``: work the approval queue from the command line.

- ``approvals list``: pending approvals across the threads of a checkpointer (thread, graph,
  interrupt, action, arguments, age, deadline);
- ``approvals decide THREAD --accept|--reject|--edit JSON|--respond TEXT --reviewer NAME``:
  answer one and resume the run (from this process) until it ends or waits again;
- ``approvals sweep``: touch every thread whose approval is past its deadline, so its policy
  (reject or escalate) applies;
- ``audit THREAD``: the thread's audit trail, effect-ledger entries, runs a control stopped
  and guardrail flags (content screened as a likely prompt injection);
- ``history THREAD [--show CHECKPOINT]``: the thread's steps, newest first (time travel).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from checkpointers.factory import DEFAULT_CHECKPOINTER_URL
from checkpointers.ledger import InMemoryLedger, default_ledger
from cli.errors import CliError
from cli.pending import (
    PendingApproval,
    UnreadableThread,
    pending_approvals,
    scan_approvals,
    thread_approvals,
)
from cli.render import STREAM_MODES, StepPrinter
from cli.threads import open_existing_checkpointer, thread_config, thread_graph_id
from cli.workers import enqueue_decision, workers_enabled
from graphs._pending import unique_interrupts
from graphs.registry import build_graph
from nodes.approval_gate import EXPIRE_MARKER
from nodes.injection_screen import thread_flags
from state.approval import InvalidDecisionError, parse_decision

__all__ = ["PendingApproval", "add_approval_commands", "pending_approvals"]
# `PendingApproval` and `pending_approvals` live in `cli.pending`; re-exported here, where
# callers have always imported them from.


def _age(requested_at: str | None) -> str:
    if not requested_at:
        return "?"
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(requested_at)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _report_unreadable(unreadable: list[UnreadableThread]) -> None:
    for thread in unreadable:
        reason = thread.error.splitlines()[0] if thread.error else "unknown error"
        print(f"warning: thread {thread.thread_id} could not be read: {reason}", file=sys.stderr)


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        queue = scan_approvals(saver)
    _report_unreadable(queue.unreadable)
    pending = queue.pending
    if not pending:
        where = " in the threads that could be read" if queue.unreadable else ""
        out.write(f"No approvals pending{where}.\n")
        return 0
    rows = [
        (
            p.thread_id,
            p.graph_id,
            p.interrupt_id[:8],
            _age(p.requested_at),
            f"{p.action} {json.dumps(p.args)}"
            + (" [EXPIRED]" if p.expired else " [ESCALATED]" if p.escalated else ""),
        )
        for p in pending
    ]
    header = ("THREAD", "GRAPH", "INTERRUPT", "AGE", "ACTION / ARGS")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=False)]
        out.write(f"{'  '.join(cells)}  {row[3].rjust(widths[3])}  {row[4]}\n")
    return 0


def _decision_from(args: argparse.Namespace) -> dict[str, Any]:
    decision: dict[str, Any] = {"reviewer": args.reviewer, "reason": args.reason}
    if args.accept:
        decision["type"] = "accept"
    elif args.reject:
        decision["type"] = "ignore"
    elif args.respond is not None:
        decision.update(type="response", args=args.respond)
    else:
        try:
            decision.update(type="edit", args=json.loads(args.edit))
        except json.JSONDecodeError as exc:
            raise InvalidDecisionError(f"--edit needs JSON arguments: {exc}") from exc
    parse_decision(decision)  # fail here, clearly, before touching the thread
    return decision


def _resume(graph: Any, config: RunnableConfig, resume: dict[str, Any], out: TextIO) -> Any:
    printer = StepPrinter(out)
    for namespace, mode, event in graph.stream(
        Command(resume=resume),
        config,
        stream_mode=STREAM_MODES,
        subgraphs=True,
        durability="sync",
    ):
        printer.on_event(str(mode), event, tuple(namespace))
    return graph.get_state(config)


def _decide(args: argparse.Namespace, out: TextIO) -> int:
    decision = _decision_from(args)
    with open_existing_checkpointer(args.checkpointer) as saver:
        mine = thread_approvals(saver, args.thread)  # UnknownThreadError: no such thread
        if args.interrupt:
            mine = [p for p in mine if p.interrupt_id.startswith(args.interrupt)]
        if not mine:
            out.write(f"Nothing is waiting for approval in thread {args.thread}.\n")
            return 1
        if len(mine) > 1 and not args.interrupt:
            out.write("Several approvals wait in this thread; choose one with --interrupt:\n")
            for p in mine:
                out.write(f"  {p.interrupt_id[:8]}  {p.action} {json.dumps(p.args)}\n")
            return 1
        target = mine[0]
        if workers_enabled():  # AGENT_PATTERNS_WORKERS=1: a worker resumes the thread
            resume = {target.interrupt_id: decision}
            return enqueue_decision(args.thread, target.graph_id, resume, args.checkpointer, out)
        graph = build_graph(target.graph_id, checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": args.thread}}
        state = _resume(graph, config, {target.interrupt_id: decision}, out)
        if state.interrupts:
            waiting = len(unique_interrupts(state))
            out.write(f"Thread {args.thread} waits again ({waiting} pending).\n")
        else:
            last = state.values["messages"][-1]
            out.write(f"Thread {args.thread} finished. Last message:\n{last.text}\n")
    return 0


def _sweep(args: argparse.Namespace, out: TextIO) -> int:
    touched = 0
    with open_existing_checkpointer(args.checkpointer) as saver:
        queue = scan_approvals(saver)
        _report_unreadable(queue.unreadable)
        for p in queue.pending:
            if not p.expired:
                continue
            out.write(f"Thread {p.thread_id} ({p.graph_id}): {p.action} expired\n")
            graph = build_graph(p.graph_id, checkpointer=saver)
            _resume(
                graph, thread_config(p.thread_id), {p.interrupt_id: {"type": EXPIRE_MARKER}}, out
            )
            touched += 1
    out.write(f"Swept {touched} expired approval(s).\n")
    return 0


def _thread_graph(saver: BaseCheckpointSaver, thread_id: str) -> Any:
    """The graph that wrote the thread, on `saver` (`cli.threads.thread_graph_id`)."""
    return build_graph(thread_graph_id(saver, thread_id), checkpointer=saver)


def _checkpoint_id(graph: Any, thread_id: str, wanted: str) -> str:
    """The thread's checkpoint whose id is `wanted` or starts with it.

    Raises:
        CliError: none matches, or a prefix matches several.
    """
    ids = [
        s.config["configurable"]["checkpoint_id"]
        for s in graph.get_state_history(thread_config(thread_id))
    ]
    matches = [checkpoint for checkpoint in ids if checkpoint.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if wanted in matches:
        return wanted
    problem = "matches several" if matches else "matches no"
    raise CliError(
        f"--show {wanted!r} {problem} checkpoint of thread {thread_id}: list them with "
        f"history {thread_id}"
    )


def _write_decisions(records: list[dict[str, Any]], out: TextIO) -> None:
    for r in records:
        edited = f" edited to {json.dumps(r['edited_args'])}" if r.get("edited_args") else ""
        reason = f" because {r['reason']}" if r.get("reason") else ""
        out.write(
            f"  {r['decided_at']}  {r['decision']:<8} {r['action']} "
            f"{json.dumps(r['args'])}{edited} by {r['reviewer']}{reason}\n"
        )


def _audit(args: argparse.Namespace, out: TextIO) -> int:
    """The thread's decisions (the ledger's, which are authoritative) and its effects."""
    with open_existing_checkpointer(args.checkpointer) as saver:
        graph = _thread_graph(saver, args.thread)
        state = graph.get_state({"configurable": {"thread_id": args.thread}})
        mirror = state.values.get("approvals", [])
        ledger = default_ledger(saver)
        durable = not isinstance(ledger, InMemoryLedger)
        bound = ledger.decisions(args.thread)
        records = bound if durable else mirror
        out.write(f"Audit trail of {args.thread} ({len(records)} decision(s)):\n")
        _write_decisions(records, out)
        bound_ids = {r["tool_call_id"] for r in bound}
        unbound = [r for r in mirror if r.get("tool_call_id") not in bound_ids]
        if durable and unbound:
            out.write(
                f"  WARNING: {len(unbound)} record(s) in the thread's state were never bound by "
                "the gate (written through the state API?); they approved nothing:\n"
            )
            _write_decisions(unbound, out)
        entries = ledger.entries(args.thread)
        out.write(f"Effect ledger ({len(entries)} side effect(s)):\n")
        if not durable:
            out.write(
                "  (in-memory ledger: lists only this process's effects; a Postgres or SQLite "
                "checkpointer keeps a durable ledger)\n"
            )
        for e in entries:
            out.write(
                f"  {e.started_at}  {e.status:<9} {e.tool} {json.dumps(e.args)} "
                f"attempts={e.attempts} result={(e.result or '')[:80]}\n"
            )
        _write_run_stops(graph, args.thread, out)
        _write_guardrail_flags(saver, args.thread, out)
    return 0


def _write_guardrail_flags(saver: BaseCheckpointSaver, thread: str, out: TextIO) -> None:
    """What the thread's guardrails flagged, oldest first.

    Likely prompt injections (`nodes.injection_screen`) and replies an output check changed
    (`nodes.output_guard`).
    """
    flags = thread_flags(saver, thread)
    out.write(f"Guardrail flags ({len(flags)}):\n")
    for flag in flags:
        if flag.get("kind") == "injection":
            excerpt = " ".join(str(flag.get("original") or "").split())[:100]
            detail = (
                f"{flag.get('label')} score={flag.get('score')} "
                f"rules={','.join(flag.get('rules') or [])} detector={flag.get('detector')}: "
                f"{excerpt!r}"
            )
        else:  # an output check (nodes.output_guard): which check did what to which reply
            detail = (
                f"check={flag.get('check')} action={flag.get('action')} "
                f"message={flag.get('message_id')}"
            )
        out.write(f"  {flag.get('flagged_at')}  {flag.get('kind')} {detail}\n")


def _write_run_stops(graph: Any, thread: str, out: TextIO) -> None:
    """Every run of the thread a control stopped (a budget, a terminal error), oldest first."""
    seen: dict[str, dict[str, Any]] = {}
    for snapshot in graph.get_state_history({"configurable": {"thread_id": thread}}):
        stop = snapshot.values.get("run_stop")
        if isinstance(stop, dict) and stop.get("at"):
            seen[f"{stop.get('run_id')}|{stop['at']}"] = stop
    stops = sorted(seen.values(), key=lambda stop: str(stop["at"]))
    out.write(f"Runs stopped by a control ({len(stops)}):\n")
    for stop in stops:
        run = stop.get("run_id")
        out.write(f"  {stop['at']}  {stop.get('kind')}  run {run}: {stop['reason']}\n")


def _history(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        graph = _thread_graph(saver, args.thread)
        config: RunnableConfig = {"configurable": {"thread_id": args.thread}}
        if args.show is not None:
            checkpoint_id = _checkpoint_id(graph, args.thread, args.show)
            config["configurable"]["checkpoint_id"] = checkpoint_id
            snapshot = graph.get_state(config)
            out.write(f"Checkpoint {checkpoint_id}: next={list(snapshot.next)}\n")
            for message in snapshot.values.get("messages", []):
                out.write(f"  [{message.type}] {message.text[:200]}\n")
            return 0
        out.write(f"{'STEP':>4}  {'SOURCE':<6} {'CHECKPOINT':<38} {'NEXT':<20} MESSAGES\n")
        for snapshot in graph.get_state_history(config):
            out.write(
                f"{snapshot.metadata.get('step', '?'):>4}  "
                f"{snapshot.metadata.get('source', ''):<6} "
                f"{snapshot.config['configurable']['checkpoint_id']:<38} "
                f"{','.join(snapshot.next) or '-':<20} "
                f"{len(snapshot.values.get('messages', []))}\n"
            )
    return 0


def add_approval_commands(commands: Any) -> None:
    """Register ``approvals``, ``audit`` and ``history`` on the CLI's subparsers."""
    checkpointer_help = (
        f"checkpointer URL (default: $CHECKPOINTER_URL or {DEFAULT_CHECKPOINTER_URL})"
    )
    approvals = commands.add_parser("approvals", help="list, decide and sweep approvals")
    verbs = approvals.add_subparsers(dest="verb", required=True)
    for name, func, help_text in (
        ("list", _list, "pending approvals across threads"),
        ("sweep", _sweep, "apply the deadline policy to expired approvals"),
    ):
        verb = verbs.add_parser(name, help=help_text)
        verb.add_argument("--checkpointer", help=checkpointer_help)
        verb.set_defaults(run=func)
    decide = verbs.add_parser("decide", help="answer one approval and resume the run")
    decide.add_argument("thread")
    decide.add_argument("--checkpointer", help=checkpointer_help)
    decide.add_argument("--interrupt", help="interrupt id (or prefix) when several wait")
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--accept", action="store_true", help="run the action as requested")
    choice.add_argument("--reject", action="store_true", help="do not run it")
    choice.add_argument("--edit", metavar="JSON", help="run it with these arguments")
    choice.add_argument("--respond", metavar="TEXT", help="do not run it; tell the agent this")
    decide.add_argument("--reviewer", required=True, help="who decides (audit trail)")
    decide.add_argument("--reason", help="why (audit trail)")
    decide.set_defaults(run=_decide)
    for name, func, help_text in (
        ("audit", _audit, "a thread's audit trail and effect ledger"),
        ("history", _history, "a thread's step history (time travel)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("thread")
        command.add_argument("--checkpointer", help=checkpointer_help)
        if name == "history":
            command.add_argument("--show", metavar="CHECKPOINT", help="print that checkpoint")
        command.set_defaults(run=func)


def run_approval_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the command `add_approval_commands` registered."""
    return int(args.run(args, out or sys.stdout))
