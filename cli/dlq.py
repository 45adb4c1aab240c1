"""``agent-patterns dlq list|show|retry|fork|discard``: the dead-letter queue.

- ``dlq list [--status open] [--graph G] [--source worker] [--limit N]``: letters, newest
  first (id, status, source, graph, thread, attempts, error class, error);
- ``dlq show ID``: one letter in full (the raw body of a poison event included);
- ``dlq retry ID --by NAME [--model SPEC]``: continue the letter's thread from its last
  checkpoint in this process (on the thread's graph), optionally with another model; the
  letter is marked retried by NAME first, so it is never retried twice. A poison event's
  letter is retried by publishing its raw body to ``transactions`` again (``--prefix`` as
  for ``events``), so the consumer decides, audits and publishes it;
- ``dlq fork ID [--thread NEW]``: copy the thread as of its last checkpoint into a new thread;
- ``dlq discard ID --by NAME --reason TEXT``: close it, recording who and why;
- ``dlq sweep [--graph G]``: letter the failed runs nobody recorded (the server's runs,
  `ops.dead_letter_sweep`; the workers' beat does it every five minutes).

The letters live beside the checkpoints (`checkpointers.dead_letters`): ``--checkpointer``
(default ``$CHECKPOINTER_URL``) names them; workers and the event consumer write to
``DATABASE_URL``'s Postgres, so point ``--checkpointer`` there for theirs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any, TextIO

from checkpointers.dead_letters import (
    DEAD_LETTER_SOURCES,
    DEAD_LETTER_STATUSES,
    DeadLetter,
    DeadLetterError,
    default_dead_letters,
)
from checkpointers.factory import DEFAULT_CHECKPOINTER_URL
from cli.threads import open_existing_checkpointer
from ops.dead_letters import discard_letter, fork_letter, retry_letter

__all__ = ["add_dlq_commands", "letter_rows"]

_HEADER = ("ID", "STATUS", "SOURCE", "GRAPH", "THREAD", "ATTEMPTS", "CLASS", "ERROR")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def letter_rows(letters: list[DeadLetter]) -> list[tuple[str, ...]]:
    """The listing's rows (without the header), one per letter."""
    return [
        (
            x.id,
            x.status,
            x.source,
            x.graph_id or "-",
            x.thread_id or "-",
            str(x.attempts),
            x.error_class,
            " ".join(x.error.split())[:80],
        )
        for x in letters
    ]


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        letters = default_dead_letters(saver).list(
            status=args.status, graph_id=args.graph, source=args.source, limit=args.limit
        )
    if not letters:
        out.write("No dead letters.\n")
        return 0
    rows = letter_rows(letters)
    widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(len(_HEADER) - 1)]
    for row in [_HEADER, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        letter = default_dead_letters(saver).get(args.id)
    if letter is None:
        raise DeadLetterError(f"no dead letter {args.id!r}")
    fields = asdict(letter)
    for name in ("created_at", "resolved_at"):
        fields[name] = _when(fields[name]) if fields[name] else None
    out.write(json.dumps(fields, indent=2) + "\n")
    return 0


def _retry(args: argparse.Namespace, out: TextIO) -> int:
    from graphs.registry import build_graph
    from workers.event_stream import EventTopology

    with open_existing_checkpointer(args.checkpointer) as saver:
        store = default_dead_letters(saver)
        letter = store.get(args.id)
        if letter is None:
            raise DeadLetterError(f"no dead letter {args.id!r}")
        graph = build_graph(letter.graph_id or "react", checkpointer=saver)
        topology = EventTopology(prefix=args.prefix)
        values = retry_letter(
            graph, letter.id, by=args.by, model=args.model, store=store, topology=topology
        )
        done = store.get(letter.id)
    if letter.source == "event":
        reason = done.resolved_reason if done is not None else "republished"
        out.write(f"retried {letter.id} (event {letter.thread_id}): {reason}\n")
        return 0
    messages = values.get("messages") if isinstance(values, dict) else None
    answer = messages[-1].text if messages else ""
    out.write(f"retried {letter.id} (thread {letter.thread_id}) by {args.by}\n")
    out.write(f"last message: {' '.join(answer.split())[:300]}\n")
    return 0


def _fork(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        fork = fork_letter(saver, args.id, new_thread_id=args.thread)
    nodes = ", ".join(fork.next_nodes) or "nothing"
    out.write(f"forked {args.id} into thread {fork.thread_id} (next: {nodes})\n")
    return 0


def _discard(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        letter = discard_letter(
            default_dead_letters(saver), args.id, by=args.by, reason=args.reason
        )
    out.write(f"discarded {letter.id} by {letter.resolved_by}: {letter.resolved_reason}\n")
    return 0


def _sweep(args: argparse.Namespace, out: TextIO) -> int:
    from ops.dead_letter_sweep import sweep_failed_runs

    with open_existing_checkpointer(args.checkpointer) as saver:
        letters = sweep_failed_runs(saver, graph=args.graph)
    out.write(f"{len(letters)} failed run(s) dead-lettered\n")
    for letter in letters:
        out.write(f"{letter.id}  {letter.graph_id}  {letter.thread_id}  {letter.error[:80]}\n")
    return 0


def add_dlq_commands(commands: Any) -> None:
    """Register ``dlq list|show|retry|fork|discard`` on the CLI's subparsers."""
    helptext = f"checkpointer URL (default: $CHECKPOINTER_URL or {DEFAULT_CHECKPOINTER_URL})"
    dlq = commands.add_parser("dlq", help="the dead-letter queue: failed runs, poison events")
    verbs = dlq.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="dead letters, newest first")
    listing.add_argument("--status", choices=DEAD_LETTER_STATUSES, help="open, retried, ...")
    listing.add_argument("--graph", help="only this graph's letters")
    listing.add_argument("--source", choices=DEAD_LETTER_SOURCES, help="where it failed")
    listing.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    listing.set_defaults(run=_list)
    show = verbs.add_parser("show", help="one letter in full")
    show.set_defaults(run=_show)
    retry = verbs.add_parser("retry", help="continue the thread from its last checkpoint")
    retry.add_argument("--by", required=True, help="who retries (recorded)")
    retry.add_argument("--model", help="another model spec for the retry (e.g. demo)")
    retry.add_argument("--prefix", default="", help="an event letter: the exchanges' prefix")
    retry.set_defaults(run=_retry)
    fork = verbs.add_parser("fork", help="copy the thread into a new one")
    fork.add_argument("--thread", help="the new thread's id (default: a new UUID)")
    fork.set_defaults(run=_fork)
    discard = verbs.add_parser("discard", help="close a letter (a reason is required)")
    discard.add_argument("--by", required=True, help="who discards (recorded)")
    discard.add_argument("--reason", required=True, help="why (recorded)")
    discard.set_defaults(run=_discard)
    sweep = verbs.add_parser("sweep", help="letter the failed runs nobody recorded")
    sweep.add_argument("--graph", help="only this graph's threads")
    sweep.set_defaults(run=_sweep)
    for verb in (listing, show, retry, fork, discard, sweep):
        if verb not in (listing, sweep):
            verb.add_argument("id", help="the letter's id (dl-...)")
        verb.add_argument("--checkpointer", help=helptext)
