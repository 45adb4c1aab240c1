"""Circuit breakers shared through Postgres by two separate processes, and the CLI listing.

Each worker is its own Python process with its own Postgres checkpointer on the test's
database; it takes the run's breaker board (`nodes.breakers.breaker_board`) and obeys commands
on stdin (``fail``, ``succeed``, ``call``), answering one line each. The cool-down is passed
by moving the breaker's ``opened_at`` back in the table, not by sleeping.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from checkpointers import open_checkpointer
from checkpointers.breakers import default_breaker_store
from checkpointers.breakers_postgres import BREAKER_TABLE, PostgresBreakerStore
from cli.breakers import add_breaker_commands

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
KEY = "model:openai:gpt-4o-mini"
WORKER = """
import sys
from checkpointers import open_checkpointer
from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from nodes.breakers import breaker_board
from nodes.controls import CONTROLS_KEY, BreakerSettings, Controls
from nodes.error_classes import CircuitOpenError

url, key, name = sys.argv[1:4]
settings = BreakerSettings(failure_threshold=3, window_s=600.0, cooldown_s=30.0)
with open_checkpointer(url) as saver:
    controls = Controls(breaker=settings)
    config = {"configurable": {RUN_CHECKPOINTER_KEY: saver, CONTROLS_KEY: controls}}
    board = breaker_board(config)
    print(type(board.store).__name__, len(board.states()), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "fail":
            board.record_failure(key, f"HTTP 503 seen by {name}")
            print("ok", flush=True)
        elif command == "succeed":
            board.record_success(key)
            print("ok", flush=True)
        elif command == "call":
            try:
                board.before_call(key)
                print("through", flush=True)
            except CircuitOpenError as exc:
                print(f"refused {exc.retry_in_s}", flush=True)
"""


class Worker:
    """One worker process (see the module docs)."""

    def __init__(self, url: str, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, url, KEY, name],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.greeting = self.answer()

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"worker exited with {self.process.wait(timeout=10)}"
        return line.strip()

    def ask(self, command: str) -> str:
        self.send(command)
        return self.answer()

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workers(postgres_url: str) -> Iterator[tuple[Worker, Worker]]:
    a = Worker(postgres_url, "A")
    b = Worker(postgres_url, "B")
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _pass_the_cooldown(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE {BREAKER_TABLE} SET opened_at = opened_at - interval '31 seconds' "
            "WHERE key = %s AND state = 'open'",
            (KEY,),
        )


def _claim_together(a: Worker, b: Worker) -> dict[str, str]:
    """Both workers call at once; who got through (``through`` or ``refused ...``)."""
    a.send("call")
    b.send("call")
    return {"A": a.answer(), "B": b.answer()}


def _prober(answers: dict[str, str]) -> str:
    through = [name for name, answer in answers.items() if answer == "through"]
    assert len(through) == 1, answers
    assert all(answers[n].startswith("refused") for n in answers if n not in through)
    return through[0]


def test_two_processes_share_one_breaker(postgres_url: str, workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    assert a.greeting == b.greeting == "PostgresBreakerStore 0"
    assert a.ask("fail") == a.ask("fail") == "ok"
    assert b.ask("call") == "through"  # two failures: still closed
    assert b.ask("fail") == "ok"  # the third, from another process, opens it
    for worker in (a, b):
        refused = worker.ask("call")
        assert refused.startswith("refused ")
        assert 0 < float(refused.split()[1]) <= 30

    _pass_the_cooldown(postgres_url)
    holder, other = _pair(_prober(_claim_together(a, b)), a, b)
    assert other.ask("call").startswith("refused")  # the probe is under way
    assert holder.ask("fail") == "ok"  # the probe failed: open for another cool-down
    assert _states(postgres_url) == [("open", "HTTP 503 seen by " + _name(holder, a))]
    assert other.ask("call").startswith("refused")
    assert holder.ask("call").startswith("refused")

    _pass_the_cooldown(postgres_url)
    holder, other = _pair(_prober(_claim_together(a, b)), a, b)
    assert holder.ask("succeed") == "ok"  # the probe succeeded: closed for both
    for worker in (a, b, a, b):
        assert worker.ask("call") == "through"
    assert _states(postgres_url)[0][0] == "closed"


def _name(worker: Worker, a: Worker) -> str:
    return "A" if worker is a else "B"


def _pair(prober: str, a: Worker, b: Worker) -> tuple[Worker, Worker]:
    """(the worker holding the probe, the other one)."""
    return (a, b) if prober == "A" else (b, a)


def _states(url: str) -> list[tuple[str, str | None]]:
    """(state, last error) of every breaker, read by a third connection."""
    store = PostgresBreakerStore(url)
    try:
        return [(s.state, s.last_error) for s in store.states()]
    finally:
        store.close()


def test_the_cli_lists_and_resets_a_shared_breaker(
    postgres_url: str, workers: tuple[Worker, Worker]
) -> None:
    a, b = workers
    for worker in (a, b, b):
        assert worker.ask("fail") == "ok"
    assert a.ask("call").startswith("refused")
    try:
        code, text = _cli("breakers", "--checkpointer", postgres_url)
        assert code == 0
        header, row = text.splitlines()
        assert header.split()[:4] == ["KEY", "STATE", "FAILURES", "OPENED"]
        assert row.split()[:3] == [KEY, "open", "3"]
        assert row.endswith("HTTP 503 seen by B")
        code, text = _cli("breakers", "reset", KEY, "--checkpointer", postgres_url)
        assert (code, text) == (0, f"Circuit breaker {KEY} reset (closed).\n")
        assert a.ask("call") == b.ask("call") == "through"
        assert _cli("breakers", "--checkpointer", postgres_url)[1] == (
            "No circuit breakers recorded.\n"
        )
    finally:
        _close_cli_store(postgres_url)


def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_breaker_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    return args.run(args, out), out.getvalue()


def _close_cli_store(url: str) -> None:
    with open_checkpointer(url) as saver:
        store = default_breaker_store(saver)
    if isinstance(store, PostgresBreakerStore):
        store.close()
