"""``agent-patterns breakers``: see and reset the circuit breakers of models and tools.

- ``breakers`` (or ``breakers list``): every breaker of the checkpointer's store: key, state,
  failures in the window, when it opened, the last error;
- ``breakers reset KEY``: close a breaker by forgetting it (the next call goes through).

The breakers live beside the checkpoints (`checkpointers.breakers.default_breaker_store`):
with a Postgres checkpointer every process shares them; with a SQLite or in-memory one they
live in each process's memory, so this command only sees its own (empty) set and says so.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, TextIO

from checkpointers.breakers import BreakerState, InMemoryBreakerStore, default_breaker_store
from checkpointers.factory import DEFAULT_CHECKPOINTER_URL
from cli.errors import CliError
from cli.threads import open_existing_checkpointer

__all__ = ["add_breaker_commands", "breaker_rows"]

_HEADER = ("KEY", "STATE", "FAILURES", "OPENED", "LAST ERROR")
_MEMORY_NOTE = (
    "(in-memory breakers: each process keeps its own, so none are visible from here; a "
    "Postgres checkpointer shares them across processes)\n"
)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def breaker_rows(states: list[BreakerState]) -> list[tuple[str, ...]]:
    """The listing's rows (without the header), one per breaker."""
    return [
        (
            s.key,
            s.state,
            str(s.failures),
            _when(s.opened_at),
            " ".join((s.last_error or "-").split())[:120],
        )
        for s in states
    ]


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with open_existing_checkpointer(args.checkpointer) as saver:
        store = default_breaker_store(saver)
        states = store.states()
    if not states:
        out.write("No circuit breakers recorded.\n")
        if isinstance(store, InMemoryBreakerStore):
            out.write(_MEMORY_NOTE)
        return 0
    rows = breaker_rows(states)
    widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(4)]
    for row in [_HEADER, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=False)]
        out.write(f"{'  '.join(cells)}  {row[4]}\n")
    return 0


def _reset(args: argparse.Namespace, out: TextIO) -> int:
    """Forget one breaker.

    Raises:
        CliError: there is no breaker with that key.
    """
    with open_existing_checkpointer(args.checkpointer) as saver:
        found = default_breaker_store(saver).reset(args.key)
    if not found:
        raise CliError(f"no circuit breaker {args.key!r}: list them with `agent-patterns breakers`")
    out.write(f"Circuit breaker {args.key} reset (closed).\n")
    return 0


def add_breaker_commands(commands: Any) -> None:
    """Register ``breakers`` (list) and ``breakers reset KEY`` on the CLI's subparsers."""
    checkpointer_help = (
        f"checkpointer URL (default: $CHECKPOINTER_URL or {DEFAULT_CHECKPOINTER_URL})"
    )
    breakers = commands.add_parser("breakers", help="list or reset the circuit breakers")
    breakers.add_argument("--checkpointer", help=checkpointer_help)
    breakers.set_defaults(run=_list)
    verbs = breakers.add_subparsers(dest="verb")
    listing = verbs.add_parser("list", help="every breaker (the default)")
    listing.add_argument("--checkpointer", default=argparse.SUPPRESS, help=checkpointer_help)
    listing.set_defaults(run=_list)
    reset = verbs.add_parser("reset", help="close a breaker (its next call goes through)")
    reset.add_argument("key", help="the breaker, e.g. model:openai:gpt-4o-mini or tool:refund")
    reset.add_argument("--checkpointer", default=argparse.SUPPRESS, help=checkpointer_help)
    reset.set_defaults(run=_reset)
