"""``agent-patterns runs list|show|timeline|retry|fork``: the run monitor on the command line.

- ``runs list [--status S] [--graph G] [--user U] [--since T] [--before T] [--limit N]``:
  threads by status (running, stuck, waiting, failed, dead_lettered, finished), newest first;
  a waiting run shows the action, its age and the approval's deadline;
- ``runs show THREAD``: one run: status, times, error, the pending request in full with
  hitl's evidence, usage, the worker runs;
- ``runs timeline THREAD``: steps, tool calls, approvals, model calls, worker runs,
  fallbacks, stops and errors, oldest first, with durations;
- ``runs retry THREAD [--model SPEC] [--checkpoint ID]``: continue a failed or stuck run from
  its last good checkpoint, in this process (side effects that ran are not repeated);
- ``runs fork THREAD --checkpoint ID [--set key=json ...] [--thread NEW]``: copy the thread as
  of a checkpoint into a new thread with an edited state (no approvals inherited).

Every command takes ``--json`` (the API's dicts, as `ops.monitor` returns them) and
``--db URL``; without it the checkpointer is ``$CHECKPOINTER_URL``, then ``$DATABASE_URL``,
then the demo's SQLite file. ``runs`` also keeps ``runs show``'s worker-table listing (the
worker runs are part of the detail).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from cli.errors import CliError
from cli.threads import open_existing_checkpointer
from graphs.errors import UnknownThreadError
from ops.fork import ForkError, fork_thread
from ops.monitor import run_detail
from ops.retry import RetryError, retry_run
from ops.run_list import list_runs
from ops.status_rules import STATUSES
from ops.timeline import checkpoint_chain, run_timeline

__all__ = ["add_run_monitor_commands", "parse_time", "parse_sets"]

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(value: str, now: datetime | None = None) -> datetime:
    """``2026-12-06T10:00:00Z``, ``2026-12-06`` or an age ago (``30m``, ``2h``, ``7d``).

    Raises:
        CliError: neither an ISO time nor an age.
    """
    now = now or datetime.now(UTC)
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(seconds=float(relative[1]) * _UNITS[relative[2]])
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"{value!r} is not a time: use ISO 8601 (2026-12-06T10:00Z) or an age (30m, 2h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``--set key=json`` pairs as a dict (a value that is not JSON is taken as text).

    Raises:
        CliError: an item without ``=`` or with an empty key.
    """
    values: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--set needs key=json, got {item!r}")
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return values


def _url(args: argparse.Namespace) -> str | None:
    return (
        getattr(args, "db", None)
        or getattr(args, "database", None)
        or os.environ.get("CHECKPOINTER_URL")
        or os.environ.get("DATABASE_URL")
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _dump(data: Any, out: TextIO) -> int:
    out.write(json.dumps(data, indent=2, default=str) + "\n")
    return 0


def _what(run: dict[str, Any]) -> str:
    if run["status"] == "waiting" and run["waiting_for"]:
        parts = []
        for r in run["waiting_for"]:
            deadline = f" deadline {r['deadline']}" if r.get("deadline") else ""
            flag = " [EXPIRED]" if r.get("expired") else ""
            asked = f"({_age(r['age_s'])}{deadline}){flag}"
            parts.append(f"{r['action']} {json.dumps(r['args'])} {asked}")
        return "; ".join(parts)
    if run["error"]:
        return str(run["error"]).splitlines()[0][:120]
    return ("next: " + ", ".join(run["next_nodes"])) if run["next_nodes"] else ""


def _list(args: argparse.Namespace, out: TextIO) -> int:
    since = parse_time(args.since) if args.since else None
    before = parse_time(args.before) if args.before else None
    with open_existing_checkpointer(_url(args)) as saver:
        page = list_runs(
            saver,
            status=args.status,
            graph=args.graph,
            owner=args.user,
            since=since,
            before=before,
            limit=args.limit,
            offset=args.offset,
            stuck_after=timedelta(seconds=args.stuck_after),
        ).to_dict()
    if args.json:
        return _dump(page, out)
    counts = ", ".join(f"{s} {page['counts'][s]}" for s in STATUSES if page["counts"].get(s))
    out.write(f"{page['total']} run(s){': ' + counts if counts else ''}\n")
    header = ("THREAD", "GRAPH", "STATUS", "AGE", "OWNER", "WHAT")
    rows = [
        (r["thread_id"], r["graph_id"], r["status"], _age(r["age_s"]), r["owner"] or "-", _what(r))
        for r in page["runs"]
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows] if rows else []:
        cells = [cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)]
        out.write("  ".join(cells) + "  " + row[5] + "\n")
    shown = page["offset"] + len(page["runs"])
    if shown < page["total"]:
        out.write(f"... {page['total'] - shown} more: --offset {shown}\n")
    return 0


def _write_detail(detail: dict[str, Any], out: TextIO) -> None:
    for key in ("thread_id", "graph_id", "owner", "status", "created_at", "updated_at"):
        out.write(f"{key + ':':<12} {detail[key]}\n")
    out.write(f"{'age:':<12} {_age(detail['age_s'])}\n")
    if detail["next_nodes"]:
        out.write(f"{'next:':<12} {', '.join(detail['next_nodes'])}\n")
    if detail["error"]:
        out.write(f"{'error:':<12} {detail['error']}\n")
    if detail["usage"]:
        u = detail["usage"]
        out.write(f"{'usage:':<12} {u['calls']} model call(s), {u['total_tokens']} tokens, ")
        out.write(f"${u['cost_usd'] if u['cost_usd'] is not None else '?'}\n")
    for request in detail["pending"]:
        deadline = request.get("deadline") or "none"
        out.write(
            f"pending:     {request['action']} {json.dumps(request['args'])} "
            f"(interrupt {request['interrupt_id']}, asked {_age(request['age_s'])} ago, "
            f"deadline {deadline})\n"
        )
        for line in str(request.get("description") or "").splitlines():
            out.write(f"    {line}\n")
    if detail["evidence"]:
        out.write("evidence:\n")
        for key, value in detail["evidence"].items():
            out.write(f"    {key}: {json.dumps(value, default=str)[:400]}\n")
    if detail["dead_letter"]:
        out.write(f"dead letter: {json.dumps(detail['dead_letter'], default=str)}\n")
    for r in detail["worker_runs"]:
        worker = f"{r['worker']} pid={r['worker_pid']}" if r["worker"] else "-"
        out.write(
            f"worker run:  {r['run_id']}  {r['status']:<8} worker={worker} "
            f"attempts={r['attempts']} updated={r['updated_at']}"
            f"{'  error: ' + r['error'] if r['error'] else ''}\n"
        )


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(_url(args)) as saver:
        try:
            detail = run_detail(saver, args.thread)
        except UnknownThreadError:
            out.write(f"No thread {args.thread} in this checkpointer.\n")
            return 1
    if args.json:
        return _dump(detail, out)
    _write_detail(detail, out)
    return 0


def _event_line(event: dict[str, Any]) -> str:
    kind = event["kind"]
    what = {
        "step": lambda e: ", ".join(e["nodes"]) + f" (step {e['step']})",
        "tool_call": lambda e: (
            f"{e['tool']} {json.dumps(e['args'])} {e['status']} attempts={e['attempts']}"
        ),
        "approval": lambda e: (
            f"{e['decision']} {e['tool']} by {e['reviewer']}"
            + (f" because {e['reason']}" if e.get("reason") else "")
        ),
        "model_call": lambda e: (
            f"{e['role']} {e['model']} {e['total_tokens']} tokens"
            + (f" ${e['cost_usd']}" if e.get("cost_usd") is not None else "")
            + (f" attempts={e['attempts']}" if e["attempts"] > 1 else "")
        ),
        "worker_run": lambda e: (
            f"{e['run_id']} {e['status']} worker={e['worker']} "
            f"attempts={e['attempts']}" + (f" error: {e['error']}" if e.get("error") else "")
        ),
        "fallback": lambda e: f"{e.get('from_model')} -> {e.get('to_model')}",
        "stop": lambda e: f"{e.get('stop_kind')}: {e.get('reason')}",
    }.get(kind, lambda e: f"{', '.join(e.get('nodes') or [])}: {e.get('error') or e.get('value')}")
    duration = f" [{event['duration_s']:.3f}s]" if event.get("duration_s") is not None else ""
    when = str(event.get("at") or "?")[:23]
    return f"{when}  {kind:<10} {what(event)}{duration}"


def _timeline(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(_url(args)) as saver:
        timeline = run_timeline(saver, args.thread).to_dict()
    if args.json:
        return _dump(timeline, out)
    out.write(
        f"Timeline of {timeline['thread_id']} ({timeline['graph_id']}): {timeline['steps']} "
        f"step(s), {timeline['retries']} retr{'y' if timeline['retries'] == 1 else 'ies'}\n"
    )
    for event in timeline["events"]:
        out.write(_event_line(event) + "\n")
    return 0


def _retry(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(_url(args)) as saver:
        try:
            result = retry_run(saver, args.thread, args.model, checkpoint_id=args.checkpoint)
        except RetryError as exc:
            raise CliError(str(exc)) from exc
    data = result.to_dict()
    if args.json:
        return _dump(data, out)
    out.write(
        f"Retried {data['thread_id']} from checkpoint {data['from_checkpoint_id']}: "
        f"{data['status_before']} -> {data['status']}\n"
    )
    return 0 if data["status"] in ("finished", "waiting") else 1


def _checkpoint(saver: Any, thread_id: str, wanted: str) -> str:
    ids = [str(item.checkpoint["id"]) for item in checkpoint_chain(saver, thread_id)]
    matches = [i for i in ids if i.startswith(wanted)]
    if wanted in ids or len(matches) != 1:
        return wanted  # exact, or left to fork_thread to refuse
    return matches[0]


def _fork(args: argparse.Namespace, out: TextIO) -> int:
    values = parse_sets(args.set)
    with open_existing_checkpointer(_url(args)) as saver:
        checkpoint = _checkpoint(saver, args.thread, args.checkpoint)
        try:
            result = fork_thread(
                saver, args.thread, checkpoint, values, new_thread_id=args.new_thread
            )
        except ForkError as exc:
            raise CliError(str(exc)) from exc
    data = result.to_dict()
    if args.json:
        return _dump(data, out)
    out.write(
        f"Forked {data['source_thread_id']} at {data['source_checkpoint_id']} into "
        f"{data['thread_id']} (next: {', '.join(data['next_nodes']) or 'nothing'}; "
        f"{data['copied_effects']} completed effect(s) inherited, no approvals)\n"
    )
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.add_argument(
        "--db",
        "--checkpointer",
        dest="db",
        help="checkpointer URL (default: $CHECKPOINTER_URL, then $DATABASE_URL)",
    )


def _runs_verbs(commands: Any) -> Any:
    """The ``runs`` command's verbs (created here if the workers' commands did not)."""
    runs = commands.choices.get("runs") or commands.add_parser("runs", help="the run monitor")
    for action in runs._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return runs.add_subparsers(dest="verb", required=True)


def add_run_monitor_commands(commands: Any) -> None:
    """Register ``runs list|show|timeline|retry|fork`` (``runs show`` becomes the detail)."""
    verbs = _runs_verbs(commands)
    listing = verbs.add_parser("list", help="runs across threads by status")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--graph", help="only this graph id")
    listing.add_argument("--user", help="only this owner's threads")
    listing.add_argument("--since", help="updated at or after: ISO time or an age (2h)")
    listing.add_argument("--before", help="updated before: ISO time or an age (2h)")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--stuck-after", type=float, default=600.0, help="seconds (600)")
    listing.set_defaults(run=_list)
    show = verbs.choices.get("show") or verbs.add_parser("show", help="one run in detail")
    if "thread" not in {a.dest for a in show._actions}:
        show.add_argument("thread")
    show.set_defaults(run=_show)
    timeline = verbs.add_parser("timeline", help="a run's steps, calls and approvals in order")
    timeline.add_argument("thread")
    retry = verbs.add_parser("retry", help="continue a failed run from its last good checkpoint")
    retry.add_argument("thread")
    retry.add_argument("--model", help="another model spec for the retry")
    retry.add_argument("--checkpoint", help="start from this checkpoint instead")
    retry.set_defaults(run=_retry)
    fork = verbs.add_parser("fork", help="copy a thread as of a checkpoint into a new thread")
    fork.add_argument("thread")
    fork.add_argument("--checkpoint", required=True, help="checkpoint id (or a unique prefix)")
    fork.add_argument("--set", action="append", metavar="KEY=JSON", help="edit a state field")
    fork.add_argument("--thread", dest="new_thread", help="the new thread's id")
    fork.set_defaults(run=_fork)
    timeline.set_defaults(run=_timeline)
    for parser in (listing, show, timeline, retry, fork):
        _common(parser)
