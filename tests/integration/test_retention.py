"""Retention on real Postgres: pruning keeps what approvals and resumes need; threads go whole.

A served ReAct graph (offline demo model) writes real threads; `ops.retention.prune` prunes
them; the thread is then resumed and must behave as if nothing had been pruned.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from checkpointers.factory import open_checkpointer
from demo.effects import EFFECTS_LOG_ENV, read_effects
from graphs.registry import build_graph
from ops.archive import read_archive
from ops.retention import prune
from ops.retention_policy import RetentionConfig, RetentionPolicy

pytestmark = [pytest.mark.postgres]

LOOKUP = "Where is my order A-1002?"
REFUND = "My order A-1001 arrived broken, please refund it."
CONTEXT = {"model": "demo"}


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


def _count(url: str, table: str, thread: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE thread_id = %s", (thread,))
        return int(row.fetchone()[0])  # type: ignore[index]


def _turns(graph: Any, thread: str, n: int) -> None:
    for _ in range(n):
        graph.invoke({"messages": [("user", LOOKUP)]}, _config(thread), context=CONTEXT)


@pytest.fixture
def effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv(EFFECTS_LOG_ENV, str(path))
    return path


@pytest.mark.slow
def test_a_pruned_thread_waiting_at_an_approval_resumes_and_finishes_once(
    postgres_url: str, effects: Path
) -> None:
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        _turns(graph, "waiting", 30)  # past a snapshot of the delta-stored messages
        graph.invoke({"messages": [("user", REFUND)]}, _config("waiting"), context=CONTEXT)
        before = graph.get_state(_config("waiting"))
        assert before.interrupts, "the refund waits at the approval gate"
        checkpoints = _count(postgres_url, "checkpoints", "waiting")

        report = prune(postgres_url, RetentionConfig(RetentionPolicy(keep_last=2)))

        assert report.threads_pruned == 1 and report.checkpoints_deleted > 0
        assert _count(postgres_url, "checkpoints", "waiting") < checkpoints
        after = graph.get_state(_config("waiting"))
        assert after.values["messages"] == before.values["messages"]  # the whole conversation
        assert [i.id for i in after.interrupts] == [i.id for i in before.interrupts]
        decision = {after.interrupts[0].id: {"type": "accept", "reviewer": "ana"}}
        done = graph.invoke(Command(resume=decision), _config("waiting"), context=CONTEXT)

        assert not graph.get_state(_config("waiting")).next
        assert "refund" in done["messages"][-1].text.lower()
        assert len(read_effects("refund")) == 1
        prune(postgres_url, RetentionConfig(RetentionPolicy(keep_last=2)))  # after it, too
        history = list(graph.get_state_history(_config("waiting")))
        marked = _marked_checkpoints(postgres_url, "waiting")
        kept = {s.config["configurable"]["checkpoint_id"] for s in history}
        assert marked and marked <= kept  # the approval's checkpoints survive both prunes
        assert graph.get_state(_config("waiting")).values["messages"] == done["messages"]


def _marked_checkpoints(url: str, thread: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT checkpoint_id FROM checkpoint_writes WHERE thread_id = %s "
            "AND channel IN ('__interrupt__', '__resume__')",
            (thread,),
        ).fetchall()
    return {r[0] for r in rows}


def test_dry_run_counts_exactly_and_changes_nothing(postgres_url: str) -> None:
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        _turns(graph, "dry", 5)
    sizes = [_count(postgres_url, t, "dry") for t in ("checkpoints", "checkpoint_writes")]
    config = RetentionConfig(RetentionPolicy(keep_last=3))

    dry = prune(postgres_url, config, dry_run=True)

    assert [_count(postgres_url, t, "dry") for t in ("checkpoints", "checkpoint_writes")] == sizes
    real = prune(postgres_url, config)
    assert (dry.checkpoints_deleted, dry.writes_deleted, dry.blobs_deleted) == (
        real.checkpoints_deleted,
        real.writes_deleted,
        real.blobs_deleted,
    )
    assert _count(postgres_url, "checkpoints", "dry") == sizes[0] - real.checkpoints_deleted


def test_finished_threads_older_than_the_age_are_archived_then_deleted(
    postgres_url: str, tmp_path: Path, effects: Path
) -> None:
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph("react", checkpointer=saver)
        _turns(graph, "old-done", 2)
        graph.invoke({"messages": [("user", REFUND)]}, _config("old-waiting"), context=CONTEXT)
        before = graph.get_state(_config("old-done")).values["messages"]
    rows = _count(postgres_url, "checkpoints", "old-done")
    policy = RetentionPolicy(
        keep_last=50, finished_after=timedelta(days=30), archive_dir=tmp_path / "arch"
    )
    later = datetime.now(UTC) + timedelta(days=31)

    assert prune(postgres_url, RetentionConfig(policy)).threads_deleted == 0  # not old yet
    report = prune(postgres_url, RetentionConfig(policy), now=later)

    assert report.threads_deleted == 1  # the waiting thread is not finished: kept
    assert _count(postgres_url, "checkpoints", "old-done") == 0
    assert _count(postgres_url, "checkpoints", "old-waiting") > 0
    [archive] = report.archives
    assert Path(archive).parent.name == "react"
    tables = [table for table, _ in read_archive(Path(archive))]
    assert tables.count("checkpoints") == rows and "checkpoint_writes" in tables
    with gzip.open(archive, "rt") as lines:
        assert all(json.loads(line)["table"] for line in lines)
    with open_checkpointer(postgres_url) as saver:
        assert saver.get_tuple(_config("old-done")) is None
    assert before  # it had a conversation before


def test_only_the_named_graph_is_pruned(postgres_url: str) -> None:
    with open_checkpointer(postgres_url) as saver:
        _turns(build_graph("react", checkpointer=saver), "react-t", 3)
    config = RetentionConfig(RetentionPolicy(keep_last=1))
    assert prune(postgres_url, config, graph_id="hitl").threads_seen == 0
    assert prune(postgres_url, config, graph_id="react", dry_run=True).threads_seen == 1


def test_the_cli_and_the_beat_task_run_the_same_prune(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.__main__ import main
    from ops.worker_jobs import retention_prune

    with open_checkpointer(postgres_url) as saver:
        _turns(build_graph("react", checkpointer=saver), "cli-t", 30)
    before = _count(postgres_url, "checkpoints", "cli-t")
    capsys.readouterr()
    args = ["retention", "prune", "--keep", "1", "--dry-run", "--json"]
    assert main([*args, "--checkpointer", postgres_url]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and dry["checkpoints_deleted"] > 0
    assert _count(postgres_url, "checkpoints", "cli-t") == before
    assert main(["retention", "prune", "--older-than", "soon", "--checkpointer", postgres_url]) == 2
    assert "an age is" in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("AGENT_PATTERNS_RETENTION", '{"default": {"keep_last": 1}}')
    done = retention_prune()  # what the beat entry runs on a worker

    assert done["checkpoints_deleted"] == dry["checkpoints_deleted"]
    assert _count(postgres_url, "checkpoints", "cli-t") == before - dry["checkpoints_deleted"]
