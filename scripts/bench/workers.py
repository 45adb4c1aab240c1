"""Scaling out: react runs per second on 1, 2 and 4 workers, and the event stream's latency.

**Runs per second.** A standard-library OpenAI-compatible server on 127.0.0.1 (a free port)
answers every chat completion after `MODEL_DELAY_S` with a fixed text (plain JSON, or
Server-Sent Events when asked to stream), so a ``react`` run is one slow model call. Four
worker processes (``python -m cli worker``, pool ``solo``: one process each, one run at a
time) run on a fresh Postgres database with ``AGENT_PATTERNS_WORKER_MODEL=openai:slow``
pointing at that server. They consume nested unique queues: worker 1 consumes the ``x1``,
``x2`` and ``x4`` queues, worker 2 ``x2`` and ``x4``, workers 3 and 4 only ``x4``, so a batch
submitted to ``x1`` runs on one process, to ``x2`` on two, to ``x4`` on four. Each round
submits a batch (`workers.api.submit_run`) to each queue, in a shuffled order, and waits for
every run (`workers.api.wait_for`): rate = runs / wall time from the first submit until the
last run is seen finished. Reported: each rate and the scaling ratios 2 vs 1 and 4 vs 1
(ideal 2.0 and 4.0), paired per round.

**Event latency.** One consumer process (``python -m cli.events consume`` with a unique
``--prefix`` and the ``demo`` model) on its own database; demo events are published one at
a time (each after the previous one's decision, so the figure is latency, not queueing) and
the latency of each is the audit row's ``published_at`` (the decision confirmed on
``fraud.decisions``; Postgres clock, same machine) minus the time just before the publish.
``decided_at`` gives the part up to the audit write. Reported: p50 and p95.

Everything is cleaned up: workers and the consumer stopped, queues, exchanges and the
databases dropped.

    .venv/bin/python -m scripts.bench.workers [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from kombu import Connection, Producer

from demo.fraud import demo_stream
from scripts.bench.measure import Finding, interleaved, ratio
from scripts.bench.storage import _fresh_database
from tests.integration.workers_harness import (
    ROOT,
    WorkerProcess,
    delete_queues,
    start_worker,
    unique_queue,
    worker_command,
)
from workers.api import submit_run, wait_for
from workers.events import ROUTING_KEY, EventTopology, broker_url

__all__ = ["run"]

MODEL_DELAY_S = 0.5
ANSWER = "Your order A-1001 ships tomorrow."
RUN_TIMEOUT_S = 180.0
EVENT_TIMEOUT_S = 60.0
WORKER_COUNTS = (1, 2, 4)


# --- the slow OpenAI-compatible model -------------------------------------------------------


def _completion(model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": ANSWER}
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": usage,
    }


def _stream_events(model: str) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "model": model}
    base |= {"object": "chat.completion.chunk", "created": int(time.time())}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    return [
        chunk({"role": "assistant", "content": ANSWER}),
        chunk({}, "stop"),
        {**base, "choices": [], "usage": usage},
    ]


class _SlowHandler(BaseHTTPRequestHandler):
    """Every chat completion: sleep `MODEL_DELAY_S`, then the fixed answer."""

    protocol_version = "HTTP/1.1"
    calls: list[float]  # set per server (see `slow_model_server`)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        time.sleep(MODEL_DELAY_S)
        self.calls.append(time.time())
        model = str(body.get("model", "slow"))
        stream = bool(body.get("stream"))
        if stream:
            data = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in _stream_events(model))
            data += b"data: [DONE]\n\n"
        else:
            data = json.dumps(_completion(model)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True


@contextmanager
def slow_model_server() -> Iterator[tuple[str, list[float]]]:
    """A sleeping OpenAI-compatible server: its base URL and the times of its answers."""
    calls: list[float] = []
    handler = type("Handler", (_SlowHandler,), {"calls": calls})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", calls
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# --- runs per second on 1, 2, 4 workers -----------------------------------------------------


def _start_workers(
    stack: ExitStack, url: str, base_url: str, queues: dict[int, str], tmp: Path
) -> list[WorkerProcess]:
    """Four solo workers on nested queues (worker i consumes every queue of >= i workers)."""
    env = {
        "OPENAI_BASE_URL": base_url,
        "AGENT_PATTERNS_WORKER_MODEL": "openai:slow",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    # start_worker drops OPENAI_API_KEY from the environment (tests use no keys): `env` puts
    # the fake server's key back in front of the worker command (it execs: same pid).
    command = ["env", "OPENAI_API_KEY=test", *worker_command()]
    workers = []
    for number in range(1, max(WORKER_COUNTS) + 1):
        mine = [queues[n] for n in WORKER_COUNTS if n >= number]
        worker = start_worker(url, mine, tmp / f"w{number}", env=env, command=command)
        stack.callback(worker.stop)
        workers.append(worker)
    return workers


def _batch(url: str, queue: str, runs: int) -> Callable[[], None]:
    """Submit `runs` react runs (new threads) to `queue` and wait until every one finished."""

    def work() -> None:
        submitted = []
        for _ in range(runs):
            thread_id = f"bench-{uuid.uuid4().hex[:12]}"
            run_id = submit_run(
                "react", thread_id, "Where is my order A-1001?", queue=queue, url=url
            )
            submitted.append((thread_id, run_id))
        for thread_id, run_id in submitted:
            record = wait_for(thread_id, run_id, timeout_s=RUN_TIMEOUT_S, url=url)
            if record.status != "finished":
                raise RuntimeError(f"run {run_id} ended {record.status}: {record.error}")

    return work


def _delete_broker_objects(names: list[str]) -> None:
    """Delete the queues and the same-named direct exchanges Celery declared for them."""
    delete_queues(*names)
    with Connection(broker_url()) as conn:
        for name in names:
            channel = conn.channel()
            try:
                channel.exchange_delete(name)
            finally:
                channel.close()


def _worker_findings(quick: bool) -> list[Finding]:
    runs, rounds = (8, 1) if quick else (24, 3)
    queues = {n: unique_queue(f"ap_bench_x{n}") for n in WORKER_COUNTS}
    with ExitStack() as stack:  # unwinds: workers, queues, files, model server, database
        url = stack.enter_context(_fresh_database())
        base_url, calls = stack.enter_context(slow_model_server())
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-workers-"))
        stack.callback(_delete_broker_objects, list(queues.values()))
        _start_workers(stack, url, base_url, queues, Path(tmp))
        _batch(url, queues[4], 16)()  # warm-up: each worker builds its graph and connections
        calls_before = len(calls)
        samples = interleaved(
            {str(n): _batch(url, queues[n], runs) for n in WORKER_COUNTS}, rounds=rounds
        )
        per_run = (len(calls) - calls_before) / (runs * rounds * len(WORKER_COUNTS))
    return _rate_findings(samples, runs, per_run)


def _rate_findings(samples: dict[str, list[float]], runs: int, per_run: float) -> list[Finding]:
    ceiling = 1 / (per_run * MODEL_DELAY_S)
    findings = [
        Finding(
            f"react runs/s, {n} solo worker process(es), {runs} runs per batch",
            runs / statistics.median(samples[str(n)]),
            unit="runs/s",
            detail=f"ceiling {n * ceiling:.2f} runs/s ({per_run:.1f} model calls of "
            f"{MODEL_DELAY_S * 1000:.0f} ms per run); batch seconds "
            + ", ".join(f"{s:.2f}" for s in samples[str(n)]),
        )
        for n in WORKER_COUNTS
    ]
    for n in WORKER_COUNTS[1:]:
        findings.append(
            Finding(
                f"scaling: runs/s with {n} workers / with 1 (ideal {n:.1f})",
                ratio(samples["1"], samples[str(n)]),
            )
        )
    return findings


# --- event latency, publish to decision -----------------------------------------------------


def _decision_times(url: str, event_id: str, timeout_s: float) -> tuple[float, float]:
    """Wait for the event's published decision; its ``decided_at`` and ``published_at``."""
    deadline = time.monotonic() + timeout_s
    sql = "SELECT decided_at, published_at FROM fraud_decision_audit WHERE event_id = %s"
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            try:
                row = conn.execute(sql, (event_id,)).fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row is not None and row[1] is not None:
                decided, published = row
                assert isinstance(decided, datetime) and isinstance(published, datetime)
                return decided.timestamp(), published.timestamp()
            time.sleep(0.005)
    raise TimeoutError(f"no published decision for {event_id} after {timeout_s} s")


def _start_consumer(url: str, topology: EventTopology, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "cli.events", "consume", "--prefix", topology.prefix,
               "--database-url", url, "--model", "demo", "--name", "bench"]  # fmt: skip
    env = {**os.environ, "LANGSMITH_TRACING": "false", "PYTHONPATH": str(ROOT)}
    with log.open("wb") as sink:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _delete_topology(topology: EventTopology) -> None:
    with Connection(broker_url()) as conn:
        topology.delete(conn.channel())


def _latencies(
    url: str, topology: EventTopology, events: list[dict[str, Any]]
) -> list[tuple[float, float]]:
    """Publish each event after the previous one's decision; (to decided, to published) s."""
    result = []
    with Connection(broker_url(), transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        topology.declare(channel)
        producer = Producer(channel, exchange=topology.transactions, routing_key=ROUTING_KEY)
        for event in events:
            body = json.dumps(event).encode()
            sent = time.time()
            producer.publish(body, content_type="application/json", content_encoding="binary",
                             delivery_mode=2)  # fmt: skip
            decided, published = _decision_times(url, event["event_id"], EVENT_TIMEOUT_S)
            result.append((decided - sent, published - sent))
    return result


def _event_findings(quick: bool) -> list[Finding]:
    count = 10 if quick else 40
    topology = EventTopology(prefix=f"bench-{uuid.uuid4().hex[:10]}.")
    with ExitStack() as stack:  # unwinds: consumer, exchanges and queues, files, database
        url = stack.enter_context(_fresh_database())
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-events-"))
        stack.callback(_delete_topology, topology)
        consumer = _start_consumer(url, topology, Path(tmp) / "consumer.log")
        stack.callback(_stop, consumer)
        events = demo_stream(count + 3, prefix=f"bench-{uuid.uuid4().hex[:6]}")
        try:
            _latencies(url, topology, events[:3])  # warm-up: the consumer starts and builds
            samples = _latencies(url, topology, events[3:])
        except TimeoutError as exc:
            _stop(consumer)
            tail = (Path(tmp) / "consumer.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}; consumer log:\n{tail}") from exc
    return _percentile_findings(samples)


def _percentile_findings(samples: list[tuple[float, float]]) -> list[Finding]:
    findings = []
    for index, what in ((1, "decision published"), (0, "decision audited")):
        ms = sorted(sample[index] * 1000 for sample in samples)
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        for label, value in (("p50", statistics.median(ms)), ("p95", cuts[94])):
            findings.append(
                Finding(
                    f"event latency, publish -> {what}, {label} (1 consumer, demo model)",
                    value,
                    unit="ms",
                    detail=f"n={len(ms)}, min {ms[0]:.1f}, max {ms[-1]:.1f} ms",
                )
            )
    return findings


def run(quick: bool) -> list[Finding]:
    """Runs/s on 1, 2 and 4 workers with their scaling ratios; event latency p50/p95."""
    return _worker_findings(quick) + _event_findings(quick)


if __name__ == "__main__":
    for finding in run(quick="--quick" in sys.argv):
        print(finding.line(), flush=True)
