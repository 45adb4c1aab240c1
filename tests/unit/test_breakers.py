"""Circuit breakers in memory: open, fail fast, one half-open probe, close or re-open."""

from __future__ import annotations

import argparse
import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from checkpointers.breakers import (
    InMemoryBreakerStore,
    default_breaker_store,
    process_breaker_store,
)
from checkpointers.breakers_postgres import PostgresBreakerStore
from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from cli.breakers import add_breaker_commands
from cli.errors import CliError
from nodes.breakers import BreakerBoard, breaker_board, breaker_key
from nodes.controls import CONTROLS_KEY, BreakerSettings, Controls
from nodes.error_classes import CircuitOpenError, classify

KEY = "model:openai:gpt-4o-mini"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _board(clock: FakeClock, **settings: Any) -> BreakerBoard:
    values = {"failure_threshold": 3, "window_s": 60.0, "cooldown_s": 30.0, **settings}
    return BreakerBoard(InMemoryBreakerStore(clock=clock), BreakerSettings(**values))


def _state(board: BreakerBoard, key: str = KEY) -> str:
    return next(s.state for s in board.states() if s.key == key)


def _open(board: BreakerBoard) -> None:
    for n in range(board.settings.failure_threshold):
        board.record_failure(KEY, f"HTTP 503 #{n}")


def test_breaker_keys_name_the_kind_and_the_endpoint() -> None:
    assert breaker_key("model", "openai:gpt-4o-mini") == KEY
    assert breaker_key("tool", " refund ") == "tool:refund"
    with pytest.raises(ValueError, match="kind"):
        breaker_key("agent", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name"):
        breaker_key("tool", "  ")


def test_it_opens_at_the_threshold_and_then_fails_fast(clock: FakeClock) -> None:
    board = _board(clock)
    board.record_failure(KEY, "HTTP 503")
    board.record_failure(KEY, "HTTP 503")
    board.before_call(KEY)  # two failures: still closed
    assert _state(board) == "closed"
    board.record_failure(KEY, "HTTP 502 bad gateway")
    assert _state(board) == "open"
    clock.advance(10)
    with pytest.raises(CircuitOpenError) as raised:
        board.before_call(KEY)
    assert raised.value.key == KEY
    assert raised.value.retry_in_s == pytest.approx(20.0)
    assert classify(raised.value) == "fallback"
    only = board.states()[0]
    assert (only.failures, only.last_error, only.opened_at) == (
        3,
        "HTTP 502 bad gateway",
        clock.now - timedelta(seconds=10),
    )


def test_failures_older_than_the_window_do_not_count(clock: FakeClock) -> None:
    board = _board(clock, window_s=60.0)
    board.record_failure(KEY, "old")
    board.record_failure(KEY, "old")
    clock.advance(61)
    board.record_failure(KEY, "new")
    assert _state(board) == "closed"
    assert board.states()[0].failures == 1
    clock.advance(30)  # the first "new" failure is still inside the window
    board.record_failure(KEY, "new")
    board.record_failure(KEY, "new")
    assert _state(board) == "open"


def test_a_success_resets_the_count_of_a_closed_breaker(clock: FakeClock) -> None:
    board = _board(clock)
    board.record_failure(KEY, "x")
    board.record_failure(KEY, "x")
    board.record_success(KEY)
    board.record_failure(KEY, "x")
    assert _state(board) == "closed"
    assert board.states()[0].failures == 1


def test_after_the_cooldown_exactly_one_caller_gets_the_probe(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    clock.advance(30)
    board.before_call(KEY)  # the probe
    assert _state(board) == "half_open"
    with pytest.raises(CircuitOpenError):
        board.before_call(KEY)
    with pytest.raises(CircuitOpenError):
        board.before_call(KEY)


def test_concurrent_threads_claim_one_probe(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    clock.advance(31)
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def claim() -> None:
        start.wait()
        try:
            board.before_call(KEY)
            outcomes.append("probe")
        except CircuitOpenError:
            outcomes.append("refused")

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["probe"] + ["refused"] * 7


def test_the_probes_success_closes_the_breaker(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    clock.advance(30)
    board.before_call(KEY)
    board.record_success(KEY)
    closed = board.states()[0]
    assert (closed.state, closed.failures, closed.opened_at) == ("closed", 0, None)
    board.before_call(KEY)
    board.before_call(KEY)


def test_the_probes_failure_opens_it_for_another_cooldown(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    clock.advance(30)
    board.before_call(KEY)
    clock.advance(2)
    board.record_failure(KEY, "still down")
    reopened = board.states()[0]
    assert (reopened.state, reopened.opened_at, reopened.probe_started_at) == (
        "open",
        clock.now,
        None,
    )
    with pytest.raises(CircuitOpenError) as raised:
        board.before_call(KEY)
    assert raised.value.retry_in_s == pytest.approx(30.0)
    clock.advance(30)
    board.before_call(KEY)  # the next probe
    assert _state(board) == "half_open"


def test_a_probe_never_reported_can_be_claimed_again(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    clock.advance(30)
    board.before_call(KEY)  # claimed by a process that then dies
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        board.before_call(KEY)
    clock.advance(1)
    board.before_call(KEY)  # claimed again
    with pytest.raises(CircuitOpenError):
        board.before_call(KEY)


def test_late_successes_do_not_close_an_open_breaker(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    board.record_success(KEY)  # a call made before it opened
    assert _state(board) == "open"


def test_disabled_settings_let_everything_through_and_record_nothing(clock: FakeClock) -> None:
    board = _board(clock, enabled=False)
    for _ in range(10):
        board.record_failure(KEY, "down")
        board.before_call(KEY)
    board.record_success(KEY)
    assert board.states() == []


def test_reset_forgets_a_breaker(clock: FakeClock) -> None:
    board = _board(clock)
    _open(board)
    assert board.reset(KEY) is True
    board.before_call(KEY)
    assert board.reset(KEY) is False


def test_the_run_board_takes_its_settings_from_the_controls() -> None:
    settings = BreakerSettings(failure_threshold=7, cooldown_s=5.0)
    config: RunnableConfig = {
        "configurable": {
            CONTROLS_KEY: Controls(breaker=settings),
            RUN_CHECKPOINTER_KEY: InMemorySaver(),
        }
    }
    board = breaker_board(config)
    assert board.settings is settings
    assert board.store is process_breaker_store()
    assert breaker_board({}).settings == BreakerSettings()
    assert breaker_board().store is process_breaker_store()  # outside a run


def test_the_store_follows_the_checkpointer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert default_breaker_store(None) is process_breaker_store()
    assert default_breaker_store(InMemorySaver()) is process_breaker_store()
    unknown: BaseCheckpointSaver = type("OtherSaver", (BaseCheckpointSaver,), {})()
    assert default_breaker_store(unknown) is process_breaker_store()
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert isinstance(default_breaker_store(unknown), PostgresBreakerStore)  # not connected
    assert default_breaker_store(InMemorySaver()) is process_breaker_store()


def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_breaker_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    return args.run(args, out), out.getvalue()


def test_the_cli_lists_and_resets_the_process_breakers() -> None:
    store = process_breaker_store()
    store.reset("tool:flaky_cli_test")
    code, text = _cli("breakers", "--checkpointer", "memory")
    assert code == 0 and "tool:flaky_cli_test" not in text
    store.record_failure("tool:flaky_cli_test", "HTTP 500 boom", threshold=1, window_s=60)
    code, text = _cli("breakers", "list", "--checkpointer", "memory")
    row = next(line for line in text.splitlines() if line.startswith("tool:flaky_cli_test"))
    assert code == 0 and text.startswith("KEY")
    assert row.split()[1:3] == ["open", "1"] and row.endswith("HTTP 500 boom")
    code, text = _cli("breakers", "reset", "tool:flaky_cli_test", "--checkpointer", "memory")
    assert code == 0 and "reset" in text
    assert all(s.key != "tool:flaky_cli_test" for s in store.states())


def test_the_cli_refuses_an_unknown_key_and_explains_an_empty_memory_store() -> None:
    with pytest.raises(CliError, match="no circuit breaker 'tool:nope'"):
        _cli("breakers", "reset", "tool:nope", "--checkpointer", "memory")
    for state in process_breaker_store().states():
        process_breaker_store().reset(state.key)
    code, text = _cli("breakers", "--checkpointer", "memory")
    assert code == 0
    assert text.startswith("No circuit breakers recorded.") and "in-memory breakers" in text
