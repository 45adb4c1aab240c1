"""Checkpoint storage in Postgres: bytes stored per conversation, and the saver's cost per turn.

One conversation on the ReAct graph (`ScriptedChatModel`, one trivial read-only tool, varied
text); each turn is a user message, a tool call, the tool's result and an answer (four
messages, five checkpoints). Each measurement runs in its own fresh database on
``DATABASE_URL``'s server (default the local one), dropped afterwards.

- **Stored bytes** (``pg_total_relation_size`` of the saver's tables: TOAST and indexes
  included) after 50, 100 and 200 turns, old ``messages`` channel (the whole list in every
  checkpoint, default pglz: threads before issue 20) against the new one (deltas,
  `state.messages_channel`, lz4 blob columns). Targets: new / old at 200 turns <= 0.1;
  new at 200 / new at 100 <= 2.2. ``--quick`` stops at 25, 50 and 100 turns and reports the
  same ratios without a verdict (the targets are for the full run).
- **Saver cost per turn** with 10, 100 and 1,000 messages in the thread: (turn with the
  Postgres saver - the same turn without one, the history sent as input) over a raw-SQL floor
  (psycopg inserting the bytes that turn committed, one commit per checkpoint or task's
  writes). Rounds branch from one seeded checkpoint (time travel), so every round sees the
  same history. The typical turn starts half a snapshot cycle after the last snapshot (the
  average replay chain); the worst one (reported alongside, as is the old channel's cost)
  one update short of it: it loads the longest chain and writes a full snapshot. Targets:
  <= 1.5 at 10 messages, cost(1,000) / cost(10) <= 2.

The run without a saver gets up to 1,000 messages as input, so the benchmark raises
``AGENT_PATTERNS_MAX_INPUT_MESSAGES`` for its own process.
"""

from __future__ import annotations

import os
import random
import statistics
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.channels import BinaryOperatorAggregate
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import START
from langgraph.graph.message import add_messages
from langgraph.types import StateUpdate
from pydantic import BaseModel

from checkpointers import open_checkpointer
from graphs.input_validation import MAX_INPUT_MESSAGES_ENV
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from scripts.bench.measure import Finding, interleaved, ratio
from state.messages_channel import SNAPSHOT_FREQUENCY
from tools.registry import agent_tool

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TURNS = (50, 100, 200)
QUICK_TURNS = (25, 50, 100)
HISTORY_SIZES = (10, 100, 1000)
TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations")
WORDS = (
    "order parcel refund invoice shipping courier warehouse address customer account payment "
    "card delivery tracking number status delayed arrived damaged return label replacement "
    "policy days week monday tuesday friday weekend store online support agent request ticket "
    "confirm cancel update email phone the a of to and in for on with is was will be your our "
    "we you it that this please thanks sorry today tomorrow yesterday soon within business"
).split()
QUESTION_WORDS, LOOKUP_WORDS, ANSWER_WORDS = 25, 60, 90
"""Words per user message, tool call and result, and answer (varied text: it compresses
about as well as prose, so TOAST compression does not flatter either channel)."""


class _EchoArgs(BaseModel):
    text: str


@agent_tool(args_schema=_EchoArgs, side_effects=False)
def echo(text: str) -> str:
    """Return the text unchanged (a trivial read-only tool)."""
    return text


def _text(seed: int, words: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def _question(turn: int) -> HumanMessage:
    return HumanMessage(_text(turn, QUESTION_WORDS))


def _lookup(messages: list[BaseMessage]) -> AIMessage:
    return tool_calls_reply(("echo", {"text": _text(-len(messages), LOOKUP_WORDS)}))


def _answer(messages: list[BaseMessage]) -> str:
    return _text(len(messages), ANSWER_WORDS)


def _graph(saver: Any, *, old_channel: bool = False) -> Any:
    """The ReAct graph; `old_channel` swaps in the pre-delta ``messages`` channel."""
    model = ScriptedChatModel(replies=[_lookup, _answer], cycle=True, index_by="turn")
    graph = build_react_graph(model, tools=[echo], checkpointer=saver)
    if old_channel:
        channel: BinaryOperatorAggregate[Any] = BinaryOperatorAggregate(list, add_messages)
        channel.key = "messages"
        graph.channels["messages"] = channel
    return graph


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


@contextmanager
def _fresh_database() -> Iterator[str]:
    """An empty database on the benchmark server; dropped afterwards."""
    name = f"bench_storage_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stored_bytes(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(to_regclass(t))) FROM unnest(%s::text[]) AS t",
            (list(TABLES),),
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _sizes(old_channel: bool, turns: tuple[int, ...]) -> dict[int, int]:
    """Stored bytes after each of `turns` turns of one conversation."""
    sizes: dict[int, int] = {}
    with _fresh_database() as url:
        if old_channel:  # today's tables: the saver's setup() only, default compression
            with psycopg.connect(url, autocommit=True) as conn:
                PostgresSaver(conn).setup()  # type: ignore[arg-type]
        with open_checkpointer(url, setup=not old_channel) as saver:
            graph = _graph(saver, old_channel=old_channel)
            done = 0
            for target in turns:
                for turn in range(done, target):
                    graph.invoke({"messages": [_question(turn)]}, _config("one"))
                done = target
                sizes[target] = _stored_bytes(url)
    return sizes


def _size_findings(turns: tuple[int, ...], verdict: bool) -> list[Finding]:
    old, new = _sizes(True, turns), _sizes(False, turns)
    table = ", ".join(f"{t} turns {old[t] / 1e6:.2f} -> {new[t] / 1e6:.2f} MB" for t in turns)
    longest, half = turns[-1], turns[-2]
    shrink, growth = new[longest] / old[longest], new[longest] / new[half]
    return [
        Finding(
            f"stored bytes after {longest} turns: new / old",
            shrink,
            target="<= 0.1" if verdict else "",
            met=shrink <= 0.1 if verdict else None,
            detail=f"old (whole list, pglz) -> new (deltas, lz4): {table}",
        ),
        Finding(
            f"stored bytes, new: {longest} turns / {half} turns",
            growth,
            target="<= 2.2" if verdict else "",
            met=growth <= 2.2 if verdict else None,
            detail=f"old: {old[longest] / old[half]:.2f}",
        ),
    ]


def _history(size: int) -> list[BaseMessage]:
    """`size` messages (even) of finished turns, with ids: a question and answer first when
    `size` is not a multiple of four, then turns of user, tool call, tool result, answer."""
    messages: list[BaseMessage] = []
    if size % 4:
        messages += [_question(-1), AIMessage(_answer(messages))]
    while len(messages) < size:
        call = _lookup(messages).tool_calls[0]
        call_id = call["id"] = f"call-{len(messages)}"
        messages += [
            _question(len(messages)),
            AIMessage("", tool_calls=[call]),
            ToolMessage(call["args"]["text"], tool_call_id=call_id),
        ]
        messages.append(AIMessage(_answer(messages)))
    for message in messages:
        message.id = str(uuid.uuid4())
    return messages


Payloads = list[bytes]
"""What one turn committed, one entry per commit (a checkpoint and its blobs, a task's writes)."""

_PAYLOADS = """
SELECT c.checkpoint_id AS k, 0 AS part,
       convert_to(c.checkpoint::text || c.metadata::text, 'UTF8')
         || coalesce((SELECT string_agg(b.blob, ''::bytea) FROM checkpoint_blobs b
                      WHERE b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
                        AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version),
                     ''::bytea) AS data
  FROM checkpoints c WHERE c.thread_id = %(thread)s AND c.checkpoint_id > %(after)s
UNION ALL
SELECT w.checkpoint_id || w.task_id AS k, 1 AS part,
       string_agg(convert_to(w.channel, 'UTF8') || coalesce(w.blob, ''::bytea), ''::bytea
                  ORDER BY w.idx) AS data
  FROM checkpoint_writes w WHERE w.thread_id = %(thread)s AND w.checkpoint_id > %(after)s
 GROUP BY w.checkpoint_id, w.task_id
"""


def _seed(graph: Any, history: list[BaseMessage], since_snapshot: int) -> RunnableConfig:
    """A thread holding `history`, `since_snapshot` updates after its last snapshot.

    One message per update, as in a live conversation, except the first update, which carries
    the surplus. The longer the chain since the snapshot, the more writes a load replays;
    at ``SNAPSHOT_FREQUENCY - 1`` the next turn also writes a full snapshot.
    """
    singles = min(len(history), since_snapshot) - 1
    head, tail = history[: len(history) - singles], history[len(history) - singles :]
    steps = [[StateUpdate({"messages": part}, START)] for part in [head, *([m] for m in tail)]]
    return graph.bulk_update_state(_config(uuid.uuid4().hex), steps)


def _turn_payloads(url: str, graph: Any, base: RunnableConfig, question: BaseMessage) -> Payloads:
    """Run one turn from `base` and read back what it committed (the floor's input)."""
    graph.invoke({"messages": [question]}, base)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            _PAYLOADS,
            {
                "thread": base["configurable"]["thread_id"],
                "after": base["configurable"]["checkpoint_id"],
            },
        ).fetchall()
    return [bytes(row[2]) for row in rows]


def _floor(url: str, payloads: Payloads) -> Callable[[], object]:
    """Raw psycopg: insert the same bytes with one commit per payload."""
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("CREATE TABLE IF NOT EXISTS floor (id bigserial PRIMARY KEY, data bytea)")

    def insert() -> None:
        for data in payloads:
            conn.execute("INSERT INTO floor (data) VALUES (%s)", (data,))

    return insert


Samples = dict[str, list[float]]


def _step_samples(url: str, saver: Any, size: int, rounds: int) -> Samples:
    """Seconds per round of one turn: new channel (typical and worst case), old channel, no
    saver, raw-SQL floor (of the typical turn).

    Every saver round branches from the same seeded checkpoint (time travel), so each one
    loads the same history and the same replay chain: half a snapshot cycle for the typical
    turn, one update short of a snapshot for the worst one.
    """
    history, question = _history(size), _question(size)
    os.environ[MAX_INPUT_MESSAGES_ENV] = str(size + 1)  # "none" gets the history as input
    new, old, bare = _graph(saver), _graph(saver, old_channel=True), _graph(None)
    base = _seed(new, history, SNAPSHOT_FREQUENCY // 2)
    worst = _seed(new, history, SNAPSHOT_FREQUENCY - 1)
    old_base = old.update_state(_config(uuid.uuid4().hex), {"messages": history}, START)
    candidates = {
        "floor": _floor(url, _turn_payloads(url, new, base, question)),
        "new": lambda: new.invoke({"messages": [question]}, base),
        "worst": lambda: new.invoke({"messages": [question]}, worst),
        "old": lambda: old.invoke({"messages": [question]}, old_base),
        "none": lambda: bare.invoke({"messages": [*history, question]}),
    }
    for warm_up in candidates.values():
        warm_up()
    samples = interleaved(candidates, rounds=rounds)
    for channel in ("new", "worst", "old"):
        samples[channel] = [a - b for a, b in zip(samples[channel], samples["none"], strict=True)]
    return samples


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:.1f} ms"


def _cost_findings(rounds: int) -> list[Finding]:
    costs: dict[int, Samples] = {}
    findings = []
    with _fresh_database() as url, open_checkpointer(url) as saver:
        for size in HISTORY_SIZES:
            costs[size] = samples = _step_samples(url, saver, size, rounds)
            measured = ratio(samples["new"], samples["floor"])
            target = size == HISTORY_SIZES[0]
            findings.append(
                Finding(
                    f"saver cost per turn at {size} messages: (saver - none) / raw-SQL floor",
                    measured,
                    target="<= 1.5" if target else "",
                    met=measured.median <= 1.5 if target else None,
                    detail=f"saver - none: new {_ms(samples['new'])}, old {_ms(samples['old'])}"
                    f" (new / old {ratio(samples['new'], samples['old']).median:.2f}), new on "
                    f"a snapshot turn {_ms(samples['worst'])}; floor {_ms(samples['floor'])}",
                )
            )
    first, last = HISTORY_SIZES[0], HISTORY_SIZES[-1]
    slope = ratio(costs[last]["new"], costs[first]["new"])
    old_slope = ratio(costs[last]["old"], costs[first]["old"]).median
    findings.append(
        Finding(
            f"saver cost per turn: {last} / {first} messages",
            slope,
            target="<= 2",
            met=slope.median <= 2,
            detail=f"old channel {old_slope:.2f}",
        )
    )
    return findings


def run(quick: bool) -> list[Finding]:
    """Stored bytes after 50/100/200 turns (old vs new channel) and saver cost per turn."""
    return [
        *_size_findings(QUICK_TURNS if quick else TURNS, verdict=not quick),
        *_cost_findings(rounds=5 if quick else 20),
    ]
