"""``agent-patterns worker|run|runs``: run threads on Celery workers (RabbitMQ + Postgres).

- ``worker [--concurrency N] [--queues gpu,eu] [--pool prefork|solo|threads] [--model SPEC]``:
  a Celery worker advancing the runs of the given queues (default: ``agent_patterns``);
  ``--model`` is the worker's model override (``AGENT_PATTERNS_WORKER_MODEL``);
- ``run GRAPH --thread T [--no-wait] [--queue Q] [--model SPEC] "request"``: enqueue a run;
  without ``--no-wait`` follow its progress and print the outcome: the final answer, or the
  approval it waits for (exit 1 when the run failed);
- ``runs show THREAD``: the thread's runs: status, worker, attempts, outcome or error.

``approvals decide`` enqueues the resume on the workers (instead of resuming in its own
process) when ``AGENT_PATTERNS_WORKERS=1`` (`workers_enabled`, `enqueue_decision`).
Everything reads ``DATABASE_URL`` (Postgres) and ``AGENT_PATTERNS_BROKER_URL`` (RabbitMQ).
Celery (the ``[workers]`` extra) is imported only by the commands that use it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from checkpointers.factory import parse_checkpointer_url
from checkpointers.run_status import RunEvent, RunRecord, RunStatusTable
from cli.errors import CliError
from graphs.registry import GRAPH_BUILDERS
from workers.overrides import WORKER_MODEL_ENV
from workers.settings import DEFAULT_QUEUE, database_url

__all__ = [
    "WORKERS_ENV",
    "add_worker_commands",
    "enqueue_decision",
    "main",
    "workers_enabled",
]

WORKERS_ENV = "AGENT_PATTERNS_WORKERS"
DEFAULT_WAIT_S = 300.0


def workers_enabled() -> bool:
    """True when ``AGENT_PATTERNS_WORKERS`` is 1/true/yes: resumes go to the workers."""
    return os.environ.get(WORKERS_ENV, "").strip().lower() in ("1", "true", "yes")


def _database(given: str | None) -> str:
    if given:
        os.environ["DATABASE_URL"] = given
    try:
        return database_url()
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _worker(args: argparse.Namespace, out: TextIO) -> int:
    """Start a Celery worker in this process (returns when it stops)."""
    _database(args.database)
    if args.model:
        os.environ[WORKER_MODEL_ENV] = args.model
    argv = [
        "worker",
        f"--concurrency={args.concurrency}",
        f"--queues={args.queues}",
        f"--pool={args.pool}",
        f"--loglevel={args.loglevel}",
        f"--hostname={args.hostname or f'agent-patterns-{os.getpid()}@%h'}",
        "--without-gossip",
        "--without-mingle",
    ]
    from ops.worker_jobs import celery_app  # the runs and the beat's jobs; the [workers] extra

    celery_app.worker_main(argv=argv)
    return 0


def _describe(event: RunEvent) -> str:
    if event.kind == "step":
        return f"  step {event.name}"
    if event.kind == "busy":
        return "  the thread is busy with another run; retrying"
    worker = event.detail.get("worker")
    if event.status == "running":
        return f"  running on {worker} (attempt {event.detail.get('attempts')})"
    return f"  {event.status}"


def write_outcome(record: RunRecord, out: TextIO) -> int:
    """Print where the run left its thread; 0 unless it failed."""
    thread = record.thread_id
    if record.status == "finished":
        out.write(f"Thread {thread} finished. Answer:\n{record.outcome or ''}\n")
    elif record.status == "waiting":
        out.write(
            f"Thread {thread} waits for approval: {record.outcome}\n"
            f"Decide with: {WORKERS_ENV}=1 agent-patterns approvals decide {thread} "
            '--accept --reviewer NAME --checkpointer "$DATABASE_URL"\n'
        )
    elif record.status == "failed":
        out.write(f"Run {record.run_id} of thread {thread} failed: {record.error}\n")
        return 1
    else:
        out.write(f"Run {record.run_id} of thread {thread} is {record.status}.\n")
    return 0


def _follow_and_report(url: str, thread: str, run_id: str, timeout_s: float, out: TextIO) -> int:
    from workers.api import follow

    try:
        for event in follow(thread, run_id, timeout_s=timeout_s, url=url):
            out.write(_describe(event) + "\n")
            out.flush()
    except TimeoutError as exc:
        raise CliError(
            f"{exc} after {timeout_s:g}s: see `agent-patterns runs show {thread}`"
        ) from exc
    runs = RunStatusTable(url)
    try:
        record = runs.get(run_id)
    finally:
        runs.close()
    assert record is not None
    return write_outcome(record, out)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from workers.api import submit_run  # Celery: the [workers] extra

    url = _database(args.database)
    context = {"model": args.model} if args.model else None
    run_id = submit_run(
        args.graph, args.thread, args.request, context=context, queue=args.queue, url=url
    )
    out.write(f"Run {run_id} of thread {args.thread} queued on {args.queue or DEFAULT_QUEUE}.\n")
    if args.no_wait:
        return 0
    return _follow_and_report(url, args.thread, run_id, args.timeout, out)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _runs_show(args: argparse.Namespace, out: TextIO) -> int:
    runs = RunStatusTable(_database(args.database))
    try:
        history = runs.history(args.thread)
    finally:
        runs.close()
    if not history:
        out.write(f"No runs of thread {args.thread}.\n")
        return 1
    out.write(f"Runs of thread {args.thread} (oldest first):\n")
    for r in history:
        worker = f"{r.worker} pid={r.worker_pid}" if r.worker else "-"
        detail = f"error: {r.error}" if r.error else (r.outcome or "")[:120].replace("\n", " ")
        out.write(
            f"  {r.run_id}  {r.graph_id}  {r.status:<8} queue={r.queue} worker={worker} "
            f"attempts={r.attempts} queued={_time(r.queued_at)} updated={_time(r.updated_at)}"
            f"  {detail}\n"
        )
    return 0


def enqueue_decision(
    thread_id: str,
    graph_id: str,
    resume: dict[str, Any],
    checkpointer: str | None,
    out: TextIO,
) -> int:
    """``approvals decide`` with workers on: enqueue the resume instead of running it here.

    Args:
        thread_id: the thread waiting for the decision.
        graph_id: its graph.
        resume: ``{interrupt id: decision}``.
        checkpointer: the ``--checkpointer`` the approval was read from (must be the workers'
            Postgres database; None reads ``CHECKPOINTER_URL``, then ``DATABASE_URL``).
        out: where to report.

    Raises:
        CliError: the checkpointer is not Postgres (workers only share Postgres).
    """
    given = checkpointer or os.environ.get("CHECKPOINTER_URL") or os.environ.get("DATABASE_URL")
    parsed = parse_checkpointer_url(given)
    if parsed.kind != "postgres":
        raise CliError(
            f"{WORKERS_ENV}=1: the resume runs on the workers, whose threads live in Postgres; "
            'pass --checkpointer "$DATABASE_URL"'
        )
    from workers.api import resume_run  # Celery: the [workers] extra

    run_id = resume_run(thread_id, resume, graph_id=graph_id, url=parsed.target)
    out.write(
        f"Resume of thread {thread_id} queued for the workers as run {run_id}; follow it with "
        f"agent-patterns runs show {thread_id}\n"
    )
    return 0


def add_worker_commands(commands: Any) -> None:
    """Register ``worker``, ``run`` and ``runs`` on the CLI's subparsers."""
    database_help = "Postgres URL of the checkpoints and run status (default: $DATABASE_URL)"
    worker = commands.add_parser("worker", help="run a Celery worker advancing threads")
    worker.add_argument("--concurrency", type=int, default=1, help="processes (or threads)")
    worker.add_argument(
        "--queues", default=DEFAULT_QUEUE, help=f"comma-separated queues (default {DEFAULT_QUEUE})"
    )
    worker.add_argument("--pool", choices=["prefork", "solo", "threads"], default="prefork")
    worker.add_argument("--model", help=f"model override for every run (${WORKER_MODEL_ENV})")
    worker.add_argument("--hostname", help="Celery node name (default agent-patterns-PID@host)")
    worker.add_argument("--loglevel", default="INFO")
    worker.add_argument("--database", help=database_help)
    worker.set_defaults(run=_worker)
    run = commands.add_parser("run", help="enqueue a run on the workers (and follow it)")
    run.add_argument("graph", choices=sorted(GRAPH_BUILDERS))
    run.add_argument("request", help="the user's message")
    run.add_argument("--thread", required=True)
    run.add_argument("--no-wait", action="store_true", help="enqueue and return")
    run.add_argument("--queue", help=f"queue / pool label (default {DEFAULT_QUEUE})")
    run.add_argument("--model", help="the run's model spec (wins over the worker's override)")
    run.add_argument("--timeout", type=float, default=DEFAULT_WAIT_S, help="seconds to wait")
    run.add_argument("--database", help=database_help)
    run.set_defaults(run=_run)
    runs = commands.add_parser("runs", help="the run-status table")
    verbs = runs.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("show", help="a thread's runs: status, worker, attempts")
    show.add_argument("thread")
    show.add_argument("--database", help=database_help)
    show.set_defaults(run=_runs_show)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cli.workers <worker|run|runs> ...`` (the same commands as ``agent-patterns``)."""
    parser = argparse.ArgumentParser(prog="agent-patterns")
    add_worker_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.run(args, sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
