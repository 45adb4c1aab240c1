"""``agent-patterns events consume | publish-demo | decisions``: the fraud agent's event stream.

- ``consume`` runs an event consumer (`workers.events.EventConsumer`): it decides every
  transaction event on RabbitMQ's ``transactions`` queue exactly once and publishes each
  decision to ``fraud.decisions`` and the audit log; one JSON line per message.
- ``publish-demo`` publishes demo events (`demo.fraud.demo_stream`), optionally with
  duplicates and poison messages (malformed bodies, an event whose enrichment always fails).
- ``decisions`` prints the audit log (newest first), or ``--dead`` the dead-letter queue
  (taking its messages).

Everything reads ``DATABASE_URL`` (Postgres) and ``AGENT_PATTERNS_BROKER_URL`` (RabbitMQ,
default the local server); ``--prefix`` names a separate set of exchanges and queues.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from cli.errors import CliError
from demo.fraud import OUTAGE_MERCHANT, demo_event, demo_stream
from workers.events import (
    DecisionAudit,
    EventTopology,
    Outcome,
    fraud_consumer,
    publish_events,
    read_queue,
)

__all__ = ["add_event_commands", "demo_items", "main"]


def _database_url(args: argparse.Namespace) -> str:
    url = args.database_url or os.environ.get("DATABASE_URL")
    if not url:
        raise CliError("set DATABASE_URL (or --database-url) to the Postgres database")
    return str(url)


def _topology(args: argparse.Namespace) -> EventTopology:
    return EventTopology(prefix=args.prefix, max_attempts=getattr(args, "max_attempts", 3))


def _consume(args: argparse.Namespace, out: TextIO) -> int:
    context: dict[str, Any] = {"model": args.model} if args.model else {}
    if args.approval_policy:
        context["approval_policy"] = args.approval_policy

    def report(outcome: Outcome) -> None:
        out.write(outcome.as_json() + "\n")
        out.flush()

    with fraud_consumer(
        _database_url(args), topology=_topology(args), context=context, name=args.name
    ) as consumer:
        counts = consumer.run(idle_exit_s=args.idle_exit, limit=args.limit, on_outcome=report)
    out.write(json.dumps({"summary": dict(counts)}, sort_keys=True) + "\n")
    return 0


def demo_items(
    count: int, *, duplicates: int = 0, poison: int = 0, prefix: str = "evt"
) -> list[bytes | str | dict[str, Any]]:
    """`count` distinct demo events, then `duplicates` repeats and `poison` bad messages.

    Poison messages alternate: a body that is not JSON, an event missing its fields, and an
    event at `demo.fraud.OUTAGE_MERCHANT` whose enrichment always fails.
    """
    events = demo_stream(count, prefix=prefix)
    items: list[bytes | str | dict[str, Any]] = list(events)
    items += [events[i % len(events)] for i in range(duplicates)] if events else []
    for number in range(poison):
        kind = number % 3
        if kind == 0:
            items.append(f"not an event #{number}".encode())
        elif kind == 1:
            items.append({"event_id": f"{prefix}-bad-{number}", "amount": "lots"})
        else:
            items.append(demo_event(f"{prefix}-outage-{number}", merchant=OUTAGE_MERCHANT))
    return items


def _publish_demo(args: argparse.Namespace, out: TextIO) -> int:
    items = demo_items(args.count, duplicates=args.duplicates, poison=args.poison)
    sent = publish_events(items, topology=_topology(args))
    out.write(f"published {sent} messages to {_topology(args).transactions.name}\n")
    return 0


def _decisions(args: argparse.Namespace, out: TextIO) -> int:
    if args.dead:
        for headers, body in read_queue(_topology(args).dead_queue.name):
            text = body.decode("utf-8", errors="replace")[:120]
            line = {"reason": headers.get("x-reason"), "attempts": headers.get("x-attempts")}
            out.write(json.dumps({**line, "body": text}) + "\n")
        return 0
    audit = DecisionAudit(_database_url(args))
    try:
        for row in audit.rows(args.limit):
            published = "published" if row["published_at"] else "NOT published"
            out.write(
                f"{row['decided_at']:%Y-%m-%d %H:%M:%S} {row['event_id']}: {row['action']} "
                f"({row['outcome']}, {published}) - {row['decision']['reasoning']}\n"
            )
    finally:
        audit.close()
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", default="", help="prefix of the exchange and queue names")
    parser.add_argument("--database-url", help="Postgres URL (default: $DATABASE_URL)")


def add_event_commands(commands: Any) -> None:
    """Register ``events consume|publish-demo|decisions`` on the CLI's subparsers."""
    events = commands.add_parser("events", help="the fraud agent's transaction event stream")
    verbs = events.add_subparsers(dest="verb", required=True)
    consume = verbs.add_parser("consume", help="decide every event on the transactions queue")
    _common(consume)
    consume.add_argument("--max-attempts", type=int, default=3, help="then dead-letter it")
    consume.add_argument("--idle-exit", type=float, help="stop after this many idle seconds")
    consume.add_argument("--limit", type=int, help="stop after this many messages")
    consume.add_argument("--model", help="model spec for the decider (default: context's)")
    consume.add_argument(
        "--approval-policy",
        choices=["side-effects", "always", "never"],
        help="whether a block waits for a person (default side-effects: it does)",
    )
    consume.add_argument("--name", help="this consumer's name in the audit log")
    consume.set_defaults(run=_consume)
    publish = verbs.add_parser("publish-demo", help="publish demo transaction events")
    _common(publish)
    publish.add_argument("--count", type=int, default=20, help="distinct valid events")
    publish.add_argument("--duplicates", type=int, default=0, help="repeated events")
    publish.add_argument("--poison", type=int, default=0, help="malformed or failing events")
    publish.set_defaults(run=_publish_demo)
    decisions = verbs.add_parser("decisions", help="the audit log of decisions")
    _common(decisions)
    decisions.add_argument("--limit", type=int, default=50, help="how many (newest first)")
    decisions.add_argument("--dead", action="store_true", help="take the dead-letter queue")
    decisions.set_defaults(run=_decisions)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``events ...`` on its own (``python -m cli.events consume ...``)."""
    parser = argparse.ArgumentParser(prog="agent-patterns")
    add_event_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["events", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.run(args, out or sys.stdout))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
