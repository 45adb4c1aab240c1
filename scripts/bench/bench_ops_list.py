"""How long the run monitor's list takes over hundreds of threads and thousands of checkpoints.

``python -m scripts.bench.bench_ops_list [--threads 250] [--busy 2500] [--repeat 5]``

Builds a Postgres database (``DATABASE_URL``'s server, a fresh database dropped afterwards)
with threads in every status: a tiny ReAct graph (scripted model, one side-effecting tool)
is run once per kind (waiting at the approval gate, failed in a node, finished, running,
stopped by a control), then each template is cloned in SQL into many threads (the saver's
three tables, copied row for row), some aged by two hours (stuck), some stamped with another
owner or graph, and one busy thread gets thousands of newer checkpoints. Prints the list's
latency (median of `--repeat`) next to the number of threads and checkpoints; nothing is
asserted here (`tests/integration/test_ops_monitor_postgres.py` checks the answers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from langgraph.checkpoint.base.id import uuid6
from langgraph.types import Command
from pydantic import BaseModel

from checkpointers import open_checkpointer
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from nodes.error_classes import CallError
from ops.run_list import list_runs
from tools.registry import agent_tool

__all__ = ["EFFECTS", "Population", "clone_thread", "make_templates", "populate", "pay_tool"]

EFFECTS: list[int] = []
"""What the benchmark's `pay` tool did (its outside system)."""


class PayArgs(BaseModel):
    """Arguments of `pay`."""

    amount: int


@agent_tool(args_schema=PayArgs, side_effects=True)
def pay_tool(amount: int) -> str:
    """Pay an amount (a side effect: recorded in `EFFECTS`)."""
    EFFECTS.append(amount)
    return f"paid {amount}"


def _graph(saver: Any, replies: list[Any]) -> Any:
    model = ScriptedChatModel(replies=replies)
    return build_react_graph(model, [pay_tool], checkpointer=saver)


def _accept(graph: Any, config: Any, **options: Any) -> None:
    pending = graph.get_state(config).interrupts[0].id
    decision = {"type": "accept", "reviewer": "bench"}
    graph.invoke(Command(resume={pending: decision}), config, **options)


def make_templates(saver: Any, prefix: str = "tpl") -> dict[str, str]:
    """One thread per kind, made by running the graph: kind -> thread id."""
    pay = tool_calls_reply(("pay_tool", {"amount": 5}))
    made: dict[str, str] = {}
    for kind in ("waiting", "failed", "finished", "running", "stopped"):
        thread = f"{prefix}-{kind}"
        config: Any = {"configurable": {"thread_id": thread}}
        replies: list[Any] = [pay, RuntimeError("model down"), "done"]
        if kind == "finished":
            replies = [pay, "done"]
        elif kind == "stopped":  # a terminal model error: a control stops the run cleanly
            replies = [pay, CallError("the model refused the request"), "done"]
        graph = _graph(saver, replies)
        graph.invoke({"messages": [("user", "pay 5")]}, config)
        if kind == "failed":
            try:
                _accept(graph, config)
            except RuntimeError:
                pass  # the model failed after the tool ran: an error write on the checkpoint
        elif kind in ("finished", "stopped"):
            _accept(graph, config)
        elif kind == "running":
            _accept(graph, config, interrupt_before=["run_tools"])
        made[kind] = thread
    return made


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


_CLONE = [
    """
    INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
                             type, checkpoint, metadata)
    SELECT %(new)s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type,
           CASE WHEN %(age_h)s > 0 THEN jsonb_set(checkpoint, '{ts}', to_jsonb(to_char(
                ((checkpoint->>'ts')::timestamptz - make_interval(hours => %(age_h)s))
                AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')))
                ELSE checkpoint END,
           metadata || %(meta)s::jsonb
      FROM checkpoints WHERE thread_id = %(src)s""",
    """
    INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT %(new)s, checkpoint_ns, channel, version, type, blob
      FROM checkpoint_blobs WHERE thread_id = %(src)s""",
    """
    INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx,
                                   channel, type, blob, task_path)
    SELECT %(new)s, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path
      FROM checkpoint_writes WHERE thread_id = %(src)s""",
]


def clone_thread(
    conn: psycopg.Connection[Any],
    source: str,
    target: str,
    *,
    age_hours: int = 0,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Copy a thread's rows under a new id (optionally aged, with extra checkpoint metadata)."""
    params = {
        "src": source,
        "new": target,
        "age_h": age_hours,
        "meta": json.dumps(metadata or {}),
    }
    for statement in _CLONE:
        conn.execute(statement, params)


def add_checkpoints(conn: psycopg.Connection[Any], thread: str, count: int) -> None:
    """Give `thread` `count` newer checkpoints (copies of its newest, each a step later)."""
    row = conn.execute(
        "SELECT checkpoint_id, type, checkpoint, metadata FROM checkpoints WHERE thread_id = %s "
        "AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1",
        (thread,),
    ).fetchone()
    assert row is not None
    parent, kind, checkpoint, metadata = row
    rows = []
    for _ in range(count):
        ident = str(uuid6())
        body = {**checkpoint, "id": ident, "ts": _now()}
        rows.append((thread, ident, parent, kind, json.dumps(body), json.dumps(metadata)))
        parent = ident
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
            "parent_checkpoint_id, type, checkpoint, metadata) VALUES (%s, '', %s, %s, %s, %s, %s)",
            rows,
        )


@dataclass
class Population:
    """What `populate` made: the expected status of each thread, and its other facts."""

    expected: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    graphs: dict[str, str] = field(default_factory=dict)
    oldest_waiting: str = ""
    busy: str = ""
    checkpoints: int = 0

    @property
    def counts(self) -> Counter[str]:
        """Expected threads per status."""
        return Counter(self.expected.values())


_MIX = (  # (template, status it shows, share of the threads, hours aged)
    ("waiting", "waiting", 0.3, 0),
    ("failed", "failed", 0.15, 0),
    ("finished", "finished", 0.25, 0),
    ("running", "running", 0.1, 0),
    ("running", "stuck", 0.1, 2),
    ("stopped", "failed", 0.1, 0),
)


def populate(url: str, threads: int = 250, busy_checkpoints: int = 2500) -> Population:
    """Fill the database at `url` with `threads` threads in every status (see the module docs).

    The first waiting thread is the oldest; the busy thread (finished, written last) holds
    `busy_checkpoints` newer checkpoints. Every 7th thread belongs to ``bob`` (the rest to
    ``ana``) and every 11th is tagged with graph ``hitl``.
    """
    with open_checkpointer(url) as saver:
        templates = make_templates(saver)
    population = Population()
    plan = [
        (tpl, status, hours)
        for tpl, status, share, hours in _MIX
        for _ in range(round(share * threads))
    ]
    with psycopg.connect(url, autocommit=False) as conn:
        for index, (template, status, hours) in enumerate(plan[:threads]):
            thread = f"t{index:04d}-{status}"
            owner = "bob" if index % 7 == 0 else "ana"
            graph = "hitl" if index % 11 == 0 else "react"
            clone_thread(
                conn,
                templates[template],
                thread,
                age_hours=hours + (3 if index == 0 else 0),
                metadata={"owner": owner, "graph_id": graph},
            )
            population.expected[thread] = status
            population.owners[thread], population.graphs[thread] = owner, graph
        population.oldest_waiting = next(
            t for t, s in population.expected.items() if s == "waiting"
        )
        population.busy = "t-busy"
        clone_thread(conn, templates["finished"], population.busy, metadata={"owner": "ana"})
        add_checkpoints(conn, population.busy, busy_checkpoints)
        population.expected[population.busy] = "finished"
        population.owners[population.busy], population.graphs[population.busy] = "ana", "react"
        conn.execute("DELETE FROM checkpoints WHERE thread_id LIKE 'tpl-%'")
        conn.commit()
        found = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
        population.checkpoints = int(found[0]) if found else 0
    return population


@contextmanager
def _database() -> Iterator[str]:
    admin = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"ap_bench_ops_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    """Build the population, time the list, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=250)
    parser.add_argument("--busy", type=int, default=2500, help="checkpoints of the busy thread")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with _database() as url:
        population = populate(url, args.threads, args.busy)
        with open_checkpointer(url) as saver:
            list_runs(saver, limit=1000)  # warm the pool and the side tables
            timings = {}
            cases: list[tuple[str, dict[str, Any]]] = [
                ("all", {}),
                ("status=waiting", {"status": "waiting"}),
                ("owner=bob", {"owner": "bob"}),
            ]
            for label, options in cases:
                samples = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    page = list_runs(saver, limit=1000, **options)
                    samples.append(time.perf_counter() - started)
                timings[label] = (statistics.median(samples), page.total)
    print(
        f"run list over {len(population.expected)} threads / {population.checkpoints} "
        f"checkpoints (busiest thread {args.busy + 5}):"
    )
    for label, (seconds, total) in timings.items():
        print(f"  {label:<16} {seconds * 1000:8.1f} ms  ({total} runs)")


if __name__ == "__main__":
    main()
