"""Checkpoint table sizes before and after a retention prune, on a 200-turn thread in Postgres.

One conversation of 200 turns on the ReAct graph (the storage benchmark's scripted model and
tool, `scripts.bench.storage`: four messages and five checkpoints a turn) in a fresh
database; then ``VACUUM FULL`` and ``pg_total_relation_size`` of ``checkpoints``,
``checkpoint_blobs`` and ``checkpoint_writes`` (TOAST and indexes included); then
`ops.retention.prune` with ``keep_last`` 20, ``VACUUM FULL`` again and the sizes again. The
thread is loaded after the prune and must hold the whole conversation (800 messages + 200
questions' answers), and a further turn must still run on it.

Both ``messages`` channels are measured: the delta channel (`state.messages_channel`, what
threads use now: a checkpoint's conversation is rebuilt from the last snapshot, so the chain
back to it is kept) and the old full-copy channel (threads written before issue 20: each
checkpoint stands alone, so only the latest 20 stay).

Run: ``.venv/bin/python -m scripts.bench.bench_retention [--turns 200] [--keep 20]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver

from checkpointers import open_checkpointer
from ops.retention import prune
from ops.retention_policy import RetentionConfig, RetentionPolicy
from scripts.bench.storage import _config, _fresh_database, _graph, _question

TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def _sizes(url: str) -> dict[str, int]:
    """Each table's total size after ``VACUUM FULL`` (and the row counts)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM FULL {', '.join(TABLES)}")
        sizes = {
            table: int(conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0])  # type: ignore[index]
            for table in TABLES
        }
        for table in TABLES:
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            sizes[f"{table} rows"] = int(rows[0])  # type: ignore[index]
    return sizes


def _measure(turns: int, keep: int, old_channel: bool) -> dict[str, Any]:
    with _fresh_database() as url:
        if old_channel:
            with psycopg.connect(url, autocommit=True) as conn:
                PostgresSaver(conn).setup()  # type: ignore[arg-type]
        with open_checkpointer(url, setup=not old_channel) as saver:
            graph = _graph(saver, old_channel=old_channel)
            for turn in range(turns):
                graph.invoke({"messages": [_question(turn)]}, _config("one"))
            before_messages = graph.get_state(_config("one")).values["messages"]
            before = _sizes(url)
            started = time.perf_counter()
            report = prune(url, RetentionConfig(RetentionPolicy(keep_last=keep)))
            seconds = time.perf_counter() - started
            after = _sizes(url)
            after_messages = graph.get_state(_config("one")).values["messages"]
            assert after_messages == before_messages, "the pruned thread lost messages"
            graph.invoke({"messages": [_question(turns)]}, _config("one"))
            grown = len(graph.get_state(_config("one")).values["messages"])
            assert grown == len(before_messages) + 4, "a turn after the prune did not run"
    return {"before": before, "after": after, "report": report, "seconds": seconds}


def _print(label: str, result: dict[str, Any]) -> None:
    before, after = result["before"], result["after"]
    print(f"\n{label}: prune took {result['seconds']:.2f} s; {result['report'].summary()}")
    print(f"{'table':<20}{'before':>12}{'after':>12}{'after/before':>14}{'rows':>16}")
    total_b = total_a = 0
    for table in TABLES:
        b, a = before[table], after[table]
        total_b, total_a = total_b + b, total_a + a
        rows = f"{before[table + ' rows']}->{after[table + ' rows']}"
        print(f"{table:<20}{b / 1024:>10.0f}kB{a / 1024:>10.0f}kB{a / b:>14.3f}{rows:>16}")
    print(
        f"{'total':<20}{total_b / 1024:>10.0f}kB{total_a / 1024:>10.0f}kB{total_a / total_b:>14.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--keep", type=int, default=20)
    args = parser.parse_args(argv)
    for old in (False, True):
        label = "old full-copy messages channel" if old else "delta messages channel (current)"
        _print(
            f"{args.turns} turns, keep_last={args.keep}, {label}",
            _measure(args.turns, args.keep, old),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
