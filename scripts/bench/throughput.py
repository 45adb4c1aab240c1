"""Throughput: runs per second at 1, 8 and 32 concurrent threads, with and without the saver.

One process, one event loop: N asyncio tasks each ``ainvoke`` the ReAct graph on their own
thread ids (one model+tool round and the answer per run, the zero-latency `ScriptedChatModel`
replying by turn, one read-only tool), until the sample's runs are done. The saver is the
async Postgres saver (`checkpointers.open_async_checkpointer`) with its default pool, in a
fresh database created for the benchmark on ``DATABASE_URL``'s server (default the local
Postgres) and dropped afterwards; the graph with the saver uses the ledger it would get by
default (a `PostgresLedger` on the same database). "Without" is the same graph, no saver.

Target: with / without >= 0.5 at 8 concurrent threads; 1 and 32 are reported without one.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from psycopg import sql

from checkpointers import open_async_checkpointer
from checkpointers.ledger_postgres import PostgresLedger
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.runtime import PatternRuntime
from scripts.bench.measure import Finding, interleaved, ratio
from scripts.bench.overhead import echo

SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CONCURRENCY = (1, 8, 32)
TARGET_AT_8 = 0.5


def _database_url(name: str) -> str:
    """`SERVER_URL` pointing at database `name`."""
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def _fresh_database() -> AsyncIterator[str]:
    """A new, empty database on the server (its URL), dropped on exit."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(SERVER_URL, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _database_url(name)
    finally:
        async with await psycopg.AsyncConnection.connect(SERVER_URL, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            await conn.execute(drop.format(sql.Identifier(name)))


def _graph(saver: BaseCheckpointSaver | None, ledger: PostgresLedger | None) -> Any:
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("echo", {"text": "hi"})), "done"], index_by="turn"
    )
    runtime = PatternRuntime(checkpointer=saver, ledger=ledger)  # type: ignore[arg-type]
    return build_react_graph(model, [echo], runtime=runtime)


async def _batch(graph: Any, concurrency: int, runs: int, durability: str | None) -> None:
    """`runs` runs on distinct threads, `concurrency` of them in flight at a time."""
    remaining = iter(range(runs))

    async def worker() -> None:
        for _ in remaining:
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            extra = {"durability": durability} if durability else {}
            out = await graph.ainvoke({"messages": [("user", "say hi")]}, config, **extra)
            assert out["messages"][-1].text == "done", out["messages"][-1]

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _sample(
    loop: asyncio.AbstractEventLoop,
    graph: Any,
    concurrency: int,
    runs: int,
    durability: str | None = None,
) -> Callable[[], object]:
    """One sample: a batch of `runs` runs on the benchmark's event loop."""
    return lambda: loop.run_until_complete(_batch(graph, concurrency, runs, durability))


def _measure(loop: asyncio.AbstractEventLoop, graphs: dict[str, Any], quick: bool) -> list[Finding]:
    findings = []
    for concurrency in CONCURRENCY:
        runs = max(2 * concurrency, 16) * (1 if quick else 2)
        candidates = {
            name: _sample(loop, graph, concurrency, runs) for name, graph in graphs.items()
        }
        # the same saver writing once per run instead of every step (no per-step recovery)
        candidates["saver_exit"] = _sample(loop, graphs["saver"], concurrency, runs, "exit")
        for work in candidates.values():
            work()  # warm up: pool connections, first-call caches
        samples = interleaved(candidates, rounds=3 if quick else 7)
        measured = ratio(samples["none"], samples["saver"])  # runs/s with / runs/s without
        per_s = {name: runs / statistics.median(times) for name, times in samples.items()}
        met = measured.median >= TARGET_AT_8 if concurrency == 8 else None
        findings.append(
            Finding(
                f"throughput, {concurrency} concurrent threads: runs/s with saver / without",
                measured,
                target=f">= {TARGET_AT_8}" if concurrency == 8 else "",
                met=met,
                detail=f"with {per_s['saver']:.1f} runs/s, without {per_s['none']:.1f} runs/s",
            )
        )
        findings.append(
            Finding(
                f"throughput, {concurrency} concurrent threads: runs/s with saver, "
                "durability='exit' / without",
                ratio(samples["none"], samples["saver_exit"]),
                detail=f"with {per_s['saver_exit']:.1f} runs/s",
            )
        )
    return findings


async def _open(stack: list[Any]) -> dict[str, Any]:
    """Open the database, the saver and the ledger (their exits pushed onto `stack`)."""
    database = _fresh_database()
    url = await database.__aenter__()
    stack.append(database)
    opened = open_async_checkpointer(url)
    saver = await opened.__aenter__()
    stack.append(opened)
    ledger = PostgresLedger(url)
    stack.append(ledger)
    return {"saver": _graph(saver, ledger), "none": _graph(None, None)}


async def _close(stack: list[Any]) -> None:
    while stack:
        item = stack.pop()
        if isinstance(item, PostgresLedger):
            item.close()
        else:
            await item.__aexit__(None, None, None)


def run(quick: bool) -> list[Finding]:
    """Runs/s with the async Postgres saver vs without, at 1, 8 and 32 concurrent threads."""
    loop = asyncio.new_event_loop()
    stack: list[Any] = []
    try:
        graphs = loop.run_until_complete(_open(stack))
        return _measure(loop, graphs, quick)
    finally:
        loop.run_until_complete(_close(stack))
        loop.close()
