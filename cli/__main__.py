"""Command-line entry point: ``python -m cli <command>`` (installed as ``agent-patterns``)."""

from __future__ import annotations

import os

# Before LangGraph is imported: strict checkpoint deserialisation; tracing only when asked.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ.setdefault("LANGSMITH_TRACING", "false")

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from cli.approvals import add_approval_commands, run_approval_command  # noqa: E402
from cli.breakers import add_breaker_commands  # noqa: E402
from cli.budgets import add_budget_commands  # noqa: E402
from cli.demo import add_demo_arguments, run_demo  # noqa: E402
from cli.dlq import add_dlq_commands  # noqa: E402
from cli.errors import explain  # noqa: E402
from cli.events import add_event_commands  # noqa: E402
from cli.knowledge import add_knowledge_commands  # noqa: E402
from cli.metrics import add_metrics_command  # noqa: E402
from cli.ops_runs import add_run_monitor_commands  # noqa: E402
from cli.retention import add_retention_commands  # noqa: E402
from cli.workers import add_worker_commands  # noqa: E402

__all__ = ["build_parser", "main"]


def build_parser(**options: object) -> argparse.ArgumentParser:
    """The CLI's argument parser with every command (`options` go to `ArgumentParser`)."""
    parser = argparse.ArgumentParser(prog="agent-patterns", description=__doc__, **options)  # type: ignore[arg-type]
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="ReAct agent on an order question, offline by default")
    add_demo_arguments(demo)
    add_approval_commands(commands)
    add_breaker_commands(commands)
    add_budget_commands(commands)
    add_worker_commands(commands)
    add_run_monitor_commands(commands)  # after the workers' `runs`: adds its verbs
    add_event_commands(commands)
    add_knowledge_commands(commands)
    add_metrics_command(commands)
    add_dlq_commands(commands)
    add_retention_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run a command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args)
        return run_approval_command(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = explain(exc)  # a mistake the user can fix: one line, no traceback
        if message is None:
            raise  # a bug: keep the traceback
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
