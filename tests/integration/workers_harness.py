"""Start and stop real worker processes (``python -m cli worker``) for the worker tests.

Each worker runs as a subprocess on the test's Postgres database (``DATABASE_URL``) and the
local RabbitMQ, consuming only the queues it is given (use `unique_queue` per test, and
`delete_queues` afterwards, so tests never see each other's messages). Its stdout and stderr
go to a log file (`WorkerProcess.log`); `start_worker` returns once Celery reports the
worker ready. The default pool is ``solo``: the worker is ONE process, whose pid is the one
the run-status table records (``worker_pid``), so a test can SIGKILL exactly the process
that runs a thread.

    with running_workers() as workers:
        a = workers.start(url, [queue], tmp_path / "a")
        run_id = submit_run("react", "t1", "...", queue=queue, url=url)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from demo.effects import EFFECTS_LOG_ENV

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0


def worker_command() -> list[str]:
    """``python -m cli worker``, or ``python -m cli.workers worker`` until the CLI lists it."""
    from cli.__main__ import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if getattr(a, "choices", None))
    if "worker" in (commands.choices or {}):
        return [sys.executable, "-m", "cli", "worker"]
    return [sys.executable, "-m", "cli.workers", "worker"]


def unique_queue(prefix: str = "ap_test") -> str:
    """A queue name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def delete_queues(*names: str) -> None:
    """Delete the named queues (and their messages) from the broker, and the exchanges of the
    same name Celery declares for them; missing ones are fine."""
    from kombu import Connection

    from workers.app import broker_url

    with Connection(broker_url()) as conn:
        for name in names:
            for delete in ("queue_delete", "exchange_delete"):
                channel = conn.channel()
                try:
                    getattr(channel, delete)(name)
                except Exception:  # noqa: BLE001 - already gone: nothing to clean
                    pass
                finally:
                    channel.close()


@dataclass
class WorkerProcess:
    """One running worker subprocess."""

    proc: subprocess.Popen[bytes]
    queues: list[str]
    log: Path
    effects_log: Path

    @property
    def pid(self) -> int:
        """The worker's process id (with the solo pool: the one that runs the tasks)."""
        return self.proc.pid

    def output(self) -> str:
        """Everything the worker logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker (no cleanup, no ack: its task is redelivered)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL after `STOP_GRACE_S`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(
    database_url: str,
    queues: Sequence[str],
    tmp: Path,
    *,
    env: Mapping[str, str] | None = None,
    pool: str = "solo",
    concurrency: int = 1,
    command: Sequence[str] | None = None,
) -> WorkerProcess:
    """Start a worker on `queues` and wait until it is ready.

    Args:
        database_url: the test's Postgres database.
        queues: the queues it consumes.
        tmp: a directory for its log (``worker.log``) and payment log (``effects.jsonl``).
        env: more environment (``AGENT_PATTERNS_WORKER_MODEL`` ...).
        pool: Celery pool (``solo``: one process; see the module docs).
        concurrency: processes/threads of the pool.
        command: the program to run instead of `worker_command` (e.g. a module that patches a
            tool to pause, then calls ``cli.workers.main``); the worker options are appended.

    Raises:
        RuntimeError: it exited or was not ready within `READY_TIMEOUT_S` (with its log).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "worker.log"
    effects = tmp / "effects.jsonl"
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        EFFECTS_LOG_ENV: str(effects),
        "PYTHONPATH": str(ROOT),
        "LANGSMITH_TRACING": "false",
        **(env or {}),
    }
    environ.pop("OPENAI_API_KEY", None)
    options = [f"--queues={','.join(queues)}", f"--pool={pool}", f"--concurrency={concurrency}"]
    argv = [*(command or worker_command()), *options]
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=sink, stderr=sink)
    worker = WorkerProcess(proc, list(queues), log, effects)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while " ready." not in worker.output():
        if proc.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker did not start:\n{worker.output()[-3000:]}")
        time.sleep(0.1)
    return worker


@dataclass
class Workers:
    """The workers a test started (`running_workers`), stopped and their queues deleted at exit."""

    started: list[WorkerProcess] = field(default_factory=list)

    def start(
        self, database_url: str, queues: Sequence[str], tmp: Path, **options: object
    ) -> WorkerProcess:
        """`start_worker`, remembered for the cleanup."""
        worker = start_worker(database_url, queues, tmp, **options)  # type: ignore[arg-type]
        self.started.append(worker)
        return worker


@contextmanager
def running_workers() -> Iterator[Workers]:
    """Yield a `Workers`; at exit stop every worker and delete every queue they consumed."""
    workers = Workers()
    try:
        yield workers
    finally:
        for worker in workers.started:
            worker.stop()
        delete_queues(*{q for worker in workers.started for q in worker.queues})
