"""``agent-patterns retention prune``: apply the retention policies to the checkpoints.

::

    agent-patterns retention prune [--graph G] [--keep N] [--older-than 30d] [--archive DIR]
                                   [--dry-run] [--checkpointer postgresql://...]

The policies come from ``AGENT_PATTERNS_RETENTION`` (`ops.retention_policy`: per graph,
default keep 20 and never delete threads); the flags replace those settings for every graph
in this run: ``--keep`` the checkpoints kept per thread, ``--older-than`` deletes finished
threads whose latest checkpoint is older, ``--archive`` writes what is deleted to JSONL.gz
files first. ``--dry-run`` prints what would be deleted (exact counts) and changes nothing.
The checkpoints are ``--checkpointer``, else ``$CHECKPOINTER_URL`` or ``$DATABASE_URL`` (the
first Postgres or SQLite URL), else the demo's SQLite file. The workers' beat runs the same
prune (`ops.retention_task`).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from typing import Any, TextIO

from checkpointers.factory import DEFAULT_CHECKPOINTER_URL
from cli.errors import CliError
from ops.retention import prune
from ops.retention_policy import RETENTION_ENV, load_retention_config, parse_age

__all__ = ["add_retention_commands", "retention_url"]


def retention_url(given: str | None) -> str:
    """The checkpoints to prune (see the module docs).

    Raises:
        CliError: `given` is neither a Postgres URL nor a SQLite file.
    """
    for url in (given, os.environ.get("CHECKPOINTER_URL"), os.environ.get("DATABASE_URL")):
        if url and url.startswith(("postgresql://", "postgres://", "sqlite:///")):
            return url
    if given:
        raise CliError(f"retention prunes Postgres or SQLite checkpoints, not {given!r}")
    return DEFAULT_CHECKPOINTER_URL


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if args.keep is not None:
        values["keep_last"] = args.keep
    if args.older_than is not None:
        values["finished_after"] = parse_age(args.older_than)
    if args.archive is not None:
        values["archive_dir"] = args.archive
    return values


def _prune(args: argparse.Namespace, out: TextIO) -> int:
    config = load_retention_config(args.config).overridden(_overrides(args))
    report = prune(
        retention_url(args.checkpointer), config, graph_id=args.graph, dry_run=args.dry_run
    )
    if args.json:
        out.write(json.dumps(asdict(report), sort_keys=True) + "\n")
    else:
        out.write(("dry run: " if args.dry_run else "") + report.summary() + "\n")
        for path in report.archives:
            out.write(f"archived {path}\n")
    return 0


def add_retention_commands(commands: Any) -> None:
    """Register ``retention prune`` on the CLI's subparsers."""
    retention = commands.add_parser("retention", help="prune old checkpoints and threads")
    verbs = retention.add_subparsers(dest="verb", required=True)
    run = verbs.add_parser("prune", help="apply the retention policies now")
    run.add_argument("--graph", help="only this graph's threads")
    run.add_argument("--keep", type=int, help="checkpoints kept per thread (default 20)")
    run.add_argument("--older-than", help="delete finished threads older than this (e.g. 30d)")
    run.add_argument("--archive", help="write deleted rows to JSONL.gz files in this folder")
    run.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    run.add_argument("--config", help=f"policies as JSON or a JSON file (default ${RETENTION_ENV})")
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument(
        "--checkpointer", help="Postgres URL (default $CHECKPOINTER_URL/$DATABASE_URL)"
    )
    run.set_defaults(run=_prune)
