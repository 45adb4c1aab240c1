"""One long-term store for every worker: a memory learned through one worker is recalled
through another (a real Chroma server, two real worker processes on their own queues)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpointers.factory import open_checkpointer
from graphs.registry import build_graph
from tests.integration.chroma_server import running_chroma_server
from tests.integration.workers_harness import delete_queues, running_workers, unique_queue
from workers.api import submit_run, wait_for
from workers.resources import shared_store

pytestmark = [pytest.mark.postgres, pytest.mark.workers, pytest.mark.slow]

WAIT_S = 90.0


def test_a_memory_learned_through_one_worker_is_recalled_through_another(
    postgres_url: str, tmp_path: Path
) -> None:
    first_queue, second_queue = unique_queue(), unique_queue()
    demo = {"model": "demo", "user_id": "dana"}
    try:
        (tmp_path / "chroma").mkdir()
        with running_chroma_server(tmp_path / "chroma") as chroma, running_workers() as workers:
            env = {"MEMORY_STORE_URL": f"chroma+http://{chroma.url.split('://', 1)[1]}"}
            env["MEMORY_EMBEDDINGS"] = "hash"
            first = workers.start(postgres_url, [first_queue], tmp_path / "a", env=env)
            second = workers.start(postgres_url, [second_queue], tmp_path / "b", env=env)
            learn = "I prefer email over phone calls. Where is my order A-1001?"
            run = submit_run(
                "memory_agent", "dana-1", learn, context=demo, queue=first_queue, url=postgres_url
            )
            learned = wait_for("dana-1", run, timeout_s=WAIT_S, url=postgres_url)
            ask = "Can you email me about order A-1002?"
            run = submit_run(
                "memory_agent", "dana-2", ask, context=demo, queue=second_queue, url=postgres_url
            )
            asked = wait_for("dana-2", run, timeout_s=WAIT_S, url=postgres_url)
    finally:
        delete_queues(first_queue, second_queue)

    assert learned.status == asked.status == "finished", (learned.error, asked.error)
    assert (learned.worker_pid, asked.worker_pid) == (first.pid, second.pid)
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("memory_agent", checkpointer=saver)
        values = graph.get_state({"configurable": {"thread_id": "dana-2"}}).values
    assert [m["text"] for m in values["recalled_memories"]] == ["I prefer email over phone calls."]


def test_a_worker_refuses_a_store_that_is_a_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEMORY_STORE_URL", str(tmp_path / "chroma"))
    with pytest.raises(RuntimeError, match="Chroma server"):
        shared_store()
