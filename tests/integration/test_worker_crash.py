"""Crash matrix on the workers: SIGKILL the worker running a thread; the other finishes it.

Each case starts two real ``agent-patterns worker`` processes (`pausing_worker`: the real
worker plus test-only hooks) on one Postgres database and one RabbitMQ queue of their own (a
vhost per case), submits a `react` and a `hitl` thread through `workers.api`, and lets both
workers armed with the same pause point: whichever reaches it first claims it, prints
``PAUSED`` and blocks; the test SIGKILLs that worker's whole process group (the Celery parent
and its pool process) at once. The kill points: inside the react thread's second model call,
inside the hitl thread's refund tool right after the payment system recorded the refund, and
while the react thread's approval gate stops to wait for a person; and once more inside the
model call with the paused run's task published a second time before the kill (a broker's
duplicate delivery): the other worker must find the thread locked while the first one lives,
and the copy that runs last must do nothing. The test approves every approval the threads ask
for through `resume_run`, as a reviewer would.

Each case asserts: both threads end as in an uninterrupted run on the workers (conversation,
audit trail, effect ledger, spend), every side effect happened exactly once (the effects log
equals the uninterrupted run's), no completed step ran twice, the surviving worker finished
the killed run (the run-status table shows its second attempt), and no thread ever had steps
running in two workers at once (the step log, ordered across processes, never shows a step
starting while another process has one open on that thread; a killed process's open step
closes at its kill marker, written just before the SIGKILL while the process is blocked at
its pause point, and nothing it logs may follow that marker).

A run delivered again after a later run moved its thread on (its worker died after recording
it done, before acknowledging it) does nothing: any checkpoint of the thread carrying its run id
means it was applied (`workers.advance`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from demo.effects import EFFECTS_LOG_ENV
from tests.conftest import fresh_database
from tests.integration.crash_harness import ROOT, read_jsonl
from tests.integration.graph_worker import summarise
from tests.integration.worker_pause import CLAIM_ENV, PAUSE_ENV, STEPS_ENV, append_line

pytestmark = [pytest.mark.postgres, pytest.mark.workers, pytest.mark.slow]

RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
THREADS = {
    "crash-react": ("react", "My order A-1001 arrived broken, please refund it."),
    "crash-hitl": ("hitl", "Refund order A-1002 please, it is late."),
}
"""Thread id -> (graph, request). Fixed ids: a refund's id derives from its thread's id."""
CASES = {
    "in-model-call": ("model:crash-react:2", False),
    "in-model-call-with-a-second-delivery-locked-out": ("model:crash-react:2", True),
    "in-refund-after-payment": ("effect:crash-hitl", False),
    "at-gate": ("gate:crash-react", False),
}
"""Case -> (pause point, whether the paused run's task is delivered a second time meanwhile)."""
RUN_TIMEOUT_S = 60.0
ACCEPT = {"type": "accept", "reviewer": "worker-test"}


def _rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection((RABBIT_HOST, RABBIT_PORT), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _require_rabbitmq() -> None:
    if _rabbitmq_reachable():
        return
    message = f"RabbitMQ not reachable at {RABBIT_HOST}:{RABBIT_PORT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the worker tests may not be skipped)")
    pytest.skip(message)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def rabbit_vhost() -> Iterator[str]:
    """A broker URL on a vhost of its own (deleted afterwards), so no test sees another's work."""
    name = f"ap_test_{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)


@dataclass
class Cluster:
    """Two workers on one database and one queue, with the logs the checks read."""

    url: str
    broker: str
    tmp: Path
    queue: str = field(default_factory=lambda: f"crash_{uuid.uuid4().hex[:8]}")
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def steps_log(self) -> Path:
        return self.tmp / "steps.jsonl"

    @property
    def effects_log(self) -> Path:
        return self.tmp / "effects.jsonl"

    @property
    def claim(self) -> Path:
        return self.tmp / "pause.claim"

    def start_worker(self, pause: str) -> None:
        """Start one worker (its own process group), armed with `pause` ('' for none)."""
        index = len(self.workers)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.url,
            "AGENT_PATTERNS_BROKER_URL": self.broker,
            EFFECTS_LOG_ENV: str(self.effects_log),
            STEPS_ENV: str(self.steps_log),
            PAUSE_ENV: pause,
            CLAIM_ENV: str(self.claim),
        }
        command = [sys.executable, "-m", "tests.integration.pausing_worker"]
        options = ["--queues", self.queue, "--hostname", f"crash{index}@%h", "--loglevel", "INFO"]
        with open(self.tmp / f"worker{index}.log", "wb") as log:
            proc = subprocess.Popen(
                [*command, *options],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(proc)

    def logs(self) -> str:
        """The workers' output, for failure messages."""
        parts = []
        for index in range(len(self.workers)):
            text = (self.tmp / f"worker{index}.log").read_text(errors="replace")
            parts.append(f"--- worker{index}\n{text[-4000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """SIGKILL every worker still running (its whole group: the pool too)."""
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@contextmanager
def running_cluster(url: str, tmp: Path, pause: str, workers: int = 2) -> Iterator[Cluster]:
    """`workers` workers armed with `pause`, on `url` and a vhost of their own."""
    with rabbit_vhost() as broker:
        cluster = Cluster(url=url, broker=broker, tmp=tmp)
        try:
            for _ in range(workers):
                cluster.start_worker(pause)
            yield cluster
        finally:
            cluster.stop()


class Killer(threading.Thread):
    """Waits for a worker to claim the pause point, then SIGKILLs that worker's group.

    With `deliver_twice`, before the kill it publishes the paused run's task again (as a
    broker delivering a message twice would) and waits until the other worker reports the
    thread locked (``busy``): the second delivery may not run while the first is alive.
    """

    def __init__(self, cluster: Cluster, *, deliver_twice: bool = False) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.deliver_twice = deliver_twice
        self.killed: dict[str, int] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        try:
            while not self.done.is_set() and time.monotonic() < deadline:
                claim = self._read_claim()
                if claim is not None:
                    if self.deliver_twice:
                        self._deliver_again("crash-react")
                    self._kill(claim)
                    return
                time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _read_claim(self) -> dict[str, int] | None:
        try:
            return dict(json.loads(self.cluster.claim.read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            return None  # not claimed yet, or claimed but not written yet

    def _deliver_again(self, thread: str) -> None:
        """Publish the thread's running run once more; return when it found the thread locked."""
        from checkpointers.run_status import RunStatusTable

        runs = RunStatusTable(self.cluster.url)
        try:
            record = runs.latest(thread)
            assert record is not None and record.status == "running", record
            publish_first_run_again(self.cluster, thread, record.run_id)
            events = runs.follow(thread, record.run_id, timeout_s=RUN_TIMEOUT_S)
            assert any(event.kind == "busy" for event in events), "never found the thread locked"
        finally:
            runs.close()

    def _kill(self, claim: dict[str, int]) -> None:
        # The marker goes first: the paused process is blocked from here until it dies, and the
        # checks flag anything it would still log after its marker.
        append_line(str(self.cluster.steps_log), {"event": "killed", "pid": claim["pid"]})
        group = claim["pgid"]
        proc = next(p for p in self.cluster.workers if p.pid == group)
        os.killpg(group, signal.SIGKILL)
        proc.wait(timeout=30)
        self.killed = claim


def publish_first_run_again(cluster: Cluster, thread: str, run_id: str) -> None:
    """Publish the task of `thread`'s first run (`run_id`) once more, as the client did."""
    from workers.api import run_input
    from workers.app import make_celery_app
    from workers.tasks import TASK_NAME

    graph_id, request = THREADS[thread]
    args = [graph_id, thread, {"input": run_input(request)}, {}, [cluster.queue]]
    app = make_celery_app(cluster.broker)
    try:
        app.send_task(TASK_NAME, args=args, task_id=run_id, queue=cluster.queue)
    finally:
        app.close()


def wait_delivered(url: str, run_id: str, deliveries: int) -> None:
    """Wait until the run was started `deliveries` times and is done."""
    from checkpointers.run_status import RunStatusTable

    runs = RunStatusTable(url)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            record = runs.get(run_id)
            if record is not None and record.attempts >= deliveries and record.done:
                return
            time.sleep(0.1)
    finally:
        runs.close()
    pytest.fail(f"run {run_id} was not delivered {deliveries} times")


def _pending_interrupts(url: str, thread: str, graph_id: str) -> list[str]:
    from checkpointers.factory import open_checkpointer
    from graphs.registry import build_graph

    with open_checkpointer(url) as saver:
        graph = build_graph(graph_id, checkpointer=saver)
        state = graph.get_state({"configurable": {"thread_id": thread}})
        return [i.id for i in state.interrupts]


def drive_thread(cluster: Cluster, app: Any, thread: str, first_deliveries: int = 1) -> None:
    """Submit the thread's request, approve each approval it waits for, until it finishes.

    Args:
        cluster: the workers.
        app: the Celery app on their broker.
        thread: one of `THREADS`.
        first_deliveries: how many deliveries of the first run to wait for before resuming.
    """
    from workers.api import resume_run, submit_run, wait_for

    graph_id, request = THREADS[thread]
    run_id = submit_run(graph_id, thread, request, queue=cluster.queue, url=cluster.url, app=app)
    wait_delivered(cluster.url, run_id, first_deliveries)
    for _ in range(5):
        record = wait_for(thread, run_id, timeout_s=RUN_TIMEOUT_S, url=cluster.url)
        assert record.status != "failed", f"{thread} failed: {record.error}\n{cluster.logs()}"
        if record.status == "finished":
            return
        pending = _pending_interrupts(cluster.url, thread, graph_id)
        assert pending, f"{thread} is {record.status} but waits for nothing"
        resume = {interrupt: ACCEPT for interrupt in pending}
        run_id = resume_run(thread, resume, url=cluster.url, app=app)
    pytest.fail(f"{thread} did not finish after 5 runs")


def drive_all(cluster: Cluster, first_deliveries: dict[str, int] | None = None) -> None:
    """Drive every thread at once (one client thread each), re-raising the first failure.

    Args:
        cluster: the workers.
        first_deliveries: per thread, the deliveries of its first run to wait for (default 1).
    """
    from workers.app import make_celery_app

    app = make_celery_app(cluster.broker)
    errors: list[BaseException] = []

    def drive(thread: str) -> None:
        try:
            drive_thread(cluster, app, thread, (first_deliveries or {}).get(thread, 1))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    clients = [threading.Thread(target=drive, args=(t,), daemon=True) for t in THREADS]
    try:
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=4 * RUN_TIMEOUT_S)
    finally:
        app.close()
    if errors:
        raise errors[0]
    assert not any(c.is_alive() for c in clients), f"a client hung\n{cluster.logs()}"


def thread_result(url: str, thread: str) -> dict[str, Any]:
    """What must match an uninterrupted run: conversation, audit trail, ledger, spend."""
    from checkpointers.factory import open_checkpointer
    from checkpointers.ledger import default_ledger
    from graphs.registry import build_graph
    from nodes.usage import usage_log

    with open_checkpointer(url) as saver:
        graph = build_graph(THREADS[thread][0], checkpointer=saver)
        final = graph.get_state({"configurable": {"thread_id": thread}})
        return {
            "messages": [summarise(m) for m in final.values["messages"]],
            "approvals": [
                {k: v for k, v in r.items() if k not in ("decided_at", "requested_at")}
                for r in final.values["approvals"]
            ],
            "next": list(final.next),
            "ledger": [
                (e.tool, e.status, e.tool_call_id) for e in default_ledger(saver).entries(thread)
            ],
            "usage": final.values.get("usage"),
            "usage_table": usage_log(saver).totals(thread_id=thread),
        }


def effects(path: Path) -> list[dict[str, Any]]:
    """The side effects recorded, without their times, in a stable order."""
    records = [{k: v for k, v in e.items() if k != "at"} for e in read_jsonl(path)]
    return sorted(records, key=lambda e: json.dumps(e, sort_keys=True))


def completed_steps(steps: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each thread's completed steps (nodes that ended), in order."""
    done: dict[str, list[str]] = {thread: [] for thread in THREADS}
    for step in steps:
        if step["event"] == "end":
            done[step["thread"]].append(step["node"])
    return done


def assert_never_two_workers_at_once(steps: list[dict[str, Any]]) -> None:
    """No step of a thread starts while another process has a step of it open."""
    open_steps: dict[str, dict[int, int]] = {thread: {} for thread in THREADS}
    killed: set[int] = set()
    for index, step in enumerate(steps):
        assert step["pid"] not in killed, f"line {index}: {step} after its process was killed"
        if step["event"] == "killed":
            killed.add(step["pid"])
            for by_pid in open_steps.values():
                by_pid.pop(step["pid"], None)
            continue
        by_pid = open_steps[step["thread"]]
        if step["event"] == "start":
            others = [pid for pid, count in by_pid.items() if count and pid != step["pid"]]
            assert not others, f"line {index}: {step} while {others} run {step['thread']}"
            by_pid[step["pid"]] = by_pid.get(step["pid"], 0) + 1
        else:
            by_pid[step["pid"]] -= 1


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both threads run on two workers with no kill: what every case must reproduce."""
    tmp = tmp_path_factory.mktemp("workers-clean")
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database())
        cluster = stack.enter_context(running_cluster(url, tmp, pause=""))
        drive_all(cluster)
        results = {thread: thread_result(url, thread) for thread in THREADS}
    refunds = [e for e in read_jsonl(cluster.effects_log) if e["kind"] == "refund"]
    assert sorted(e["order_id"] for e in refunds) == ["A-1001", "A-1002"]
    for result in results.values():
        assert result["next"] == [] and [e[1] for e in result["ledger"]] == ["completed"]
    steps = read_jsonl(cluster.steps_log)
    assert_never_two_workers_at_once(steps)
    return {
        "results": results,
        "effects": effects(cluster.effects_log),
        "steps": completed_steps(steps),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_killed_worker_s_thread_is_finished_by_the_other_exactly_once(
    case: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    pause, deliver_twice = CASES[case]
    with running_cluster(postgres_url, tmp_path, pause) as cluster:
        killer = Killer(cluster, deliver_twice=deliver_twice)
        killer.start()
        try:
            # A second delivery may run after the first one was taken over: resume after both.
            drive_all(cluster, {"crash-react": 3} if deliver_twice else None)
        finally:
            killer.done.set()
            killer.join(timeout=60)
        if killer.error is not None:
            raise killer.error
        assert killer.killed is not None, f"no worker reached {pause}\n{cluster.logs()}"
        survivors = [p for p in cluster.workers if p.poll() is None]
        assert len(survivors) == 1, "the other worker died too"
        results = {thread: thread_result(postgres_url, thread) for thread in THREADS}

    for thread, result in results.items():
        clean = clean_run["results"][thread]
        assert result["usage_table"] == clean["usage_table"], f"{thread}: spend counted twice"
        assert result == clean, f"{thread} differs from an uninterrupted run"
    assert effects(cluster.effects_log) == clean_run["effects"], "a side effect was not once"
    steps = read_jsonl(cluster.steps_log)
    assert completed_steps(steps) == clean_run["steps"], "a step was lost or repeated"
    assert_never_two_workers_at_once(steps)
    deliveries = 3 if deliver_twice else 2
    _assert_the_survivor_took_over(postgres_url, killer.killed["pid"], deliveries)


def _assert_the_survivor_took_over(url: str, killed_pid: int, deliveries: int) -> None:
    """Every run is done; the killed run was delivered again and finished elsewhere."""
    from checkpointers.run_status import RunStatusTable

    runs = RunStatusTable(url)
    try:
        history = [record for thread in THREADS for record in runs.history(thread)]
    finally:
        runs.close()
    assert all(r.status in ("waiting", "finished") for r in history), history
    retried = [r for r in history if r.attempts > 1]
    assert len(retried) == 1, f"expected one redelivered run: {history}"
    assert retried[0].attempts == deliveries and retried[0].worker_pid != killed_pid
    assert all(r.attempts == 1 for r in history if r is not retried[0])


def test_a_late_second_delivery_of_a_done_run_changes_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """A broker may deliver a run again after the thread moved on (acks_late: its worker died
    after recording the run done but before acknowledging it); that delivery must do nothing."""
    from checkpointers.run_status import RunStatusTable
    from workers.app import make_celery_app

    thread = "crash-react"
    with running_cluster(postgres_url, tmp_path, pause="", workers=1) as cluster:
        app = make_celery_app(cluster.broker)
        try:
            drive_thread(cluster, app, thread)
        finally:
            app.close()
        before = thread_result(postgres_url, thread)
        runs = RunStatusTable(postgres_url)
        try:
            first = runs.history(thread)[0]
        finally:
            runs.close()
        publish_first_run_again(cluster, thread, first.run_id)
        wait_delivered(postgres_url, first.run_id, 2)
        after = thread_result(postgres_url, thread)
    assert after == before, "the late delivery changed the thread"
