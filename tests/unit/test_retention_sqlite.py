"""Retention on a real SQLite checkpoint file (the demo's saver): the Postgres rules hold."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from checkpointers.factory import open_checkpointer
from cli.__main__ import main as cli_main
from demo.effects import EFFECTS_LOG_ENV, read_effects
from graphs.registry import build_graph
from ops.archive import read_archive
from ops.retention import prune
from ops.retention_policy import RetentionConfig, RetentionPolicy

LOOKUP = "Where is my order A-1002?"
REFUND = "My order A-1001 arrived broken, please refund it."
CONTEXT = {"model": "demo"}


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


def _count(path: Path, thread: str) -> int:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread,))
        return int(row.fetchone()[0])


@pytest.fixture
def effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv(EFFECTS_LOG_ENV, str(path))
    return path


@pytest.mark.slow
def test_a_pruned_sqlite_thread_at_an_approval_resumes_and_refunds_once(
    tmp_path: Path, effects: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "checkpoints.sqlite"
    url = f"sqlite:///{path}"
    with open_checkpointer(url) as saver:
        graph: Any = build_graph("react", checkpointer=saver)
        for _ in range(30):  # past a snapshot of the delta-stored messages
            graph.invoke({"messages": [("user", LOOKUP)]}, _config("t"), context=CONTEXT)
        graph.invoke({"messages": [("user", REFUND)]}, _config("t"), context=CONTEXT)
        before = graph.get_state(_config("t"))
        rows = _count(path, "t")

        capsys.readouterr()
        assert (
            cli_main(["retention", "prune", "--keep", "2", "--dry-run", "--checkpointer", url]) == 0
        )
        assert capsys.readouterr().out.startswith("dry run: 1 threads: 1 pruned")
        assert _count(path, "t") == rows
        report = prune(url, RetentionConfig(RetentionPolicy(keep_last=2)))

        assert (
            report.checkpoints_deleted > 0
            and _count(path, "t") == rows - report.checkpoints_deleted
        )
        after = graph.get_state(_config("t"))
        assert after.values["messages"] == before.values["messages"]
        [gate] = after.interrupts
        decision = Command(resume={gate.id: {"type": "accept", "reviewer": "ana"}})
        graph.invoke(decision, _config("t"), context=CONTEXT)
        assert not graph.get_state(_config("t")).next
    assert len(read_effects("refund")) == 1


def test_an_old_finished_sqlite_thread_is_archived_then_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.sqlite"
    with open_checkpointer(url) as saver:
        graph: Any = build_graph("react", checkpointer=saver)
        graph.invoke({"messages": [("user", LOOKUP)]}, _config("done"), context=CONTEXT)
    policy = RetentionPolicy(finished_after=timedelta(days=1), archive_dir=tmp_path / "arch")
    later = datetime.now(UTC) + timedelta(days=2)

    report = prune(url, RetentionConfig(policy), now=later)

    assert report.threads_deleted == 1 and _count(tmp_path / "c.sqlite", "done") == 0
    tables = {table for table, _ in read_archive(Path(report.archives[0]))}
    assert tables == {"checkpoints", "writes"}
    with pytest.raises(ValueError, match="no checkpoint file"):
        prune(f"sqlite:///{tmp_path}/missing.sqlite")
    with pytest.raises(ValueError, match="Postgres or SQLite"):
        prune("memory")
