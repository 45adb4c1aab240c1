"""The fraud agent on a real event stream: RabbitMQ in, Postgres checkpoints and audit log.

Consumers are real processes (``python -m cli.events consume``); every test has its own
exchanges and queues (a unique name prefix, deleted afterwards) and its own database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kombu import Connection
from langchain_core.runnables import RunnableConfig

from checkpointers.factory import open_checkpointer
from cli.events import demo_items
from graphs.fraud_events import SERVED_OPTIONS, build_fraud_events_graph
from workers.events import EventTopology, broker_url, read_queue

pytestmark = [pytest.mark.postgres, pytest.mark.workers]

ROOT = Path(__file__).resolve().parents[2]
MAX_ATTEMPTS = 3


def _broker_problem() -> str | None:
    try:
        with Connection(broker_url(), connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means no broker
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture
def topology() -> Iterator[EventTopology]:
    """A private set of exchanges and queues for this test; deleted afterwards."""
    problem = _broker_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"RabbitMQ not reachable at {broker_url()}: {problem}")
        pytest.skip(f"RabbitMQ not reachable at {broker_url()}: {problem}")
    topo = EventTopology(prefix=f"test-{uuid.uuid4().hex[:10]}.", max_attempts=MAX_ATTEMPTS)
    with Connection(broker_url()) as conn:
        topo.declare(conn.channel())
    yield topo
    with Connection(broker_url()) as conn:
        topo.delete(conn.channel())


def consumer(
    topo: EventTopology, database_url: str, name: str, *, idle_exit: float | None
) -> subprocess.Popen[str]:
    """Start a consumer process; its stdout is one JSON line per message."""
    command = [sys.executable, "-m", "cli.events", "consume", "--prefix", topo.prefix,
               "--database-url", database_url, "--model", "demo", "--name", name,
               "--max-attempts", str(MAX_ATTEMPTS)]  # fmt: skip
    if idle_exit is not None:
        command += ["--idle-exit", str(idle_exit)]
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true", "LANGSMITH_TRACING": "false"}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def outcomes(process: subprocess.Popen[str], timeout_s: float = 240) -> list[dict[str, Any]]:
    """Wait for a consumer to exit; its outcome lines (the summary line left out)."""
    out, err = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, err[-3000:]
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [line for line in lines if "summary" not in line]


def publish(topo: EventTopology, items: list[Any]) -> None:
    from workers.events import publish_events

    assert publish_events(items, topology=topo) == len(items)


def audit_rows(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(
            "SELECT event_id, action, published_at IS NOT NULL FROM fraud_decision_audit"
        )
        return [
            {"event_id": event_id, "action": action, "published": published}
            for event_id, action, published in cursor.fetchall()
        ]


def audit_count(database_url: str) -> int:
    try:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM fraud_decision_audit").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def decisions_per_thread(database_url: str, event_ids: set[str]) -> dict[str, int]:
    """Each event thread's ``decisions_made`` counter, read from its checkpoint."""
    made = {}
    with open_checkpointer(database_url, setup=False) as saver:
        graph = build_fraud_events_graph(**SERVED_OPTIONS, checkpointer=saver)
        for event_id in event_ids:
            config: RunnableConfig = {"configurable": {"thread_id": event_id}}
            made[event_id] = graph.get_state(config).values.get("decisions_made", 0)
    return made


def published_decisions(topo: EventTopology) -> Counter[str]:
    """How many decision messages each event got on ``fraud.decisions``."""
    taken = read_queue(topo.decisions_queue.name)
    return Counter(json.loads(body)["event_id"] for _, body in taken)


def test_200_events_with_duplicates_and_poison_are_each_decided_once(
    topology: EventTopology, postgres_url: str
) -> None:
    items = demo_items(170, duplicates=15, poison=15, prefix="evt")
    assert len(items) == 200
    valid = {item["event_id"] for item in items[:170]}  # type: ignore[index]
    publish(topology, items)

    first = consumer(topology, postgres_url, "c1", idle_exit=4)
    second = consumer(topology, postgres_url, "c2", idle_exit=4)
    seen = outcomes(first) + outcomes(second)

    kinds = Counter(line["kind"] for line in seen)
    assert kinds["decided"] == 170
    assert kinds["duplicate"] == 15  # acknowledged without a second decision
    assert kinds["retried"] == 5 * (MAX_ATTEMPTS - 1)  # the outage events, before the DLQ
    assert kinds["dead"] == 15
    rows = audit_rows(postgres_url)
    assert sorted(row["event_id"] for row in rows) == sorted(valid)
    assert all(row["published"] for row in rows)
    assert {row["action"] for row in rows} == {"allow", "flag", "block"}
    assert published_decisions(topology) == Counter({event_id: 1 for event_id in valid})
    assert set(decisions_per_thread(postgres_url, valid).values()) == {1}

    dead = read_queue(topology.dead_queue.name)
    reasons = [headers["x-reason"] for headers, _ in dead]
    assert len(dead) == 15
    assert sum(reason.startswith("malformed event") for reason in reasons) == 10
    failing = [headers for headers, _ in dead if headers["x-reason"].startswith("failed")]
    assert len(failing) == 5
    assert all(headers["x-attempts"] == MAX_ATTEMPTS for headers in failing)
    assert all("reputation service is unavailable" in h["x-reason"] for h in failing)
    assert read_queue(topology.transactions_queue.name) == []  # nothing left unacknowledged


def test_a_consumer_killed_mid_stream_loses_no_event(
    topology: EventTopology, postgres_url: str
) -> None:
    items = demo_items(120, duplicates=5, poison=3, prefix="kill")
    valid = {item["event_id"] for item in items[:120]}  # type: ignore[index]
    publish(topology, items)

    victim = consumer(topology, postgres_url, "victim", idle_exit=None)
    deadline = time.monotonic() + 120
    while audit_count(postgres_url) < 30 and time.monotonic() < deadline:
        assert victim.poll() is None, victim.stderr.read() if victim.stderr else ""
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)  # mid-stream: a message in hand, unacknowledged
    victim.wait(timeout=30)
    decided_before = audit_count(postgres_url)
    assert 30 <= decided_before < 120

    survivor = consumer(topology, postgres_url, "survivor", idle_exit=4)
    outcomes(survivor)

    rows = audit_rows(postgres_url)
    assert sorted(row["event_id"] for row in rows) == sorted(valid)
    assert all(row["published"] for row in rows)
    assert set(decisions_per_thread(postgres_url, valid).values()) == {1}
    published = published_decisions(topology)
    assert set(published) == valid
    # The documented window: killed after the broker confirmed, before the audit row was
    # marked published, one decision is published again (readers de-duplicate on its id).
    assert sum(count - 1 for count in published.values()) <= 1
    assert len(read_queue(topology.dead_queue.name)) == 3
    assert read_queue(topology.transactions_queue.name) == []
