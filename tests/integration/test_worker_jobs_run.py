"""A worker the CLI starts runs the beat's jobs (registered by `ops.worker_jobs`).

The beat sends a scheduled job by name only (`workers.beat`); here the test sends the sweep's
name, as the beat would, to a real worker on real RabbitMQ and Postgres, and the failed run
nobody recorded becomes a dead letter.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig

from checkpointers.dead_letters import DeadLetter, postgres_dead_letters
from checkpointers.factory import open_checkpointer
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel
from nodes.controls import Controls, RetrySettings
from nodes.runtime import PatternRuntime
from tests.integration.workers_harness import Workers, running_workers, unique_queue
from workers.beat import SWEEP_TASK

pytestmark = [pytest.mark.postgres, pytest.mark.workers]

WAIT_S = 90.0
RETRY = RetrySettings(max_attempts=2, initial_delay_s=0, jitter=0)


@pytest.fixture
def workers() -> Iterator[Workers]:
    with running_workers() as started:
        yield started


def _letters(url: str, thread: str) -> list[DeadLetter]:
    return postgres_dead_letters(url).list(thread_id=thread)


def test_the_cli_worker_runs_the_scheduled_sweep(
    postgres_url: str, workers: Workers, tmp_path: Path
) -> None:
    from workers.app import celery_app

    thread = "swept-by-a-worker"
    with open_checkpointer(postgres_url) as saver:
        model = ScriptedChatModel(replies=[TimeoutError("model timed out")], cycle=True)
        runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=RETRY))
        graph = build_react_graph(model, runtime=runtime)
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        with pytest.raises(TimeoutError):  # no wrapper recorded it: only the sweep can
            graph.invoke({"messages": [("user", "Where is A-1?")]}, config)
    assert _letters(postgres_url, thread) == []
    queue = unique_queue()
    worker = workers.start(postgres_url, [queue], tmp_path / "w")

    celery_app.send_task(SWEEP_TASK, queue=queue)  # what the beat sends every 5 minutes

    deadline = time.monotonic() + WAIT_S
    while not _letters(postgres_url, thread) and time.monotonic() < deadline:
        time.sleep(0.2)
    [letter] = _letters(postgres_url, thread)
    assert (letter.source, letter.status) == ("in_process", "open")
    assert "TimeoutError" in letter.error
    assert "Received unregistered task" not in worker.output()
