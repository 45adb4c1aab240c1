"""Retention: policies (config, ages), the kept-checkpoint rule, archives, the beat entry."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ops.archive import archive_path, read_archive, write_archive
from ops.retention import keep_set, thread_has_work
from ops.retention_policy import RetentionPolicy, load_retention_config, parse_age
from ops.retention_task import RETENTION_TASK, beat_entry


def _chain(n: int, counters: dict[int, dict[str, list[int]]] | None = None) -> list[dict]:
    """Checkpoints c00..c<n-1> of one namespace, each the parent of the next."""
    counters = counters or {}
    return [
        {"ns": "", "id": f"c{i:02d}", "parent": f"c{i - 1:02d}" if i else None,
         "counters": counters.get(i)}
        for i in range(n)
    ]  # fmt: skip


def test_the_latest_n_and_marked_checkpoints_with_what_they_produced_are_kept() -> None:
    kept = keep_set(_chain(10), {("", "c03")}, keep_last=2)
    assert kept == {("", "c09"), ("", "c08"), ("", "c03"), ("", "c04")}


def test_a_kept_checkpoint_keeps_its_delta_chain_back_to_the_snapshot() -> None:
    # messages snapshotted at c04 (no counter there); c05..c09 replay writes since then
    delta = {i: {"messages": [i - 4, i - 4]} for i in range(5, 10)}
    delta |= {i: {"messages": [i + 1, i + 1]} for i in range(4)}
    kept = keep_set(_chain(10, delta), set(), keep_last=1)
    assert kept == {("", f"c{i:02d}") for i in range(4, 10)}
    marked = keep_set(_chain(10, delta), {("", "c01")}, keep_last=1)
    assert {("", "c00"), ("", "c01"), ("", "c02")} <= marked  # c02 replays back to c00


def test_namespaces_are_kept_on_their_own() -> None:
    rows = [*_chain(3), *({**r, "ns": "agent:1"} for r in _chain(3))]
    assert keep_set(rows, set(), keep_last=1) == {("", "c02"), ("agent:1", "c02")}


def test_a_thread_has_work_while_a_node_is_triggered_or_its_input_waits() -> None:
    assert thread_has_work({"channel_values": {"branch:to:call_model": None}})
    assert thread_has_work({"channel_values": {}}, {"source": "input"})
    assert thread_has_work({"channel_values": {"__pregel_tasks": []}})
    assert not thread_has_work({"channel_values": {"messages": []}}, {"source": "loop"})


def test_ages_and_policies_are_checked() -> None:
    assert parse_age("30d") == timedelta(days=30) and parse_age("2w") == timedelta(weeks=2)
    for bad in ("30", "d", "-1d", "3 years"):
        with pytest.raises(ValueError, match="an age is"):
            parse_age(bad)
    with pytest.raises(ValueError, match="at least 1"):
        RetentionPolicy(keep_last=0)
    with pytest.raises(ValueError, match="unknown retention setting"):
        RetentionPolicy().overridden({"keep": 3})


def test_the_config_gives_each_graph_its_policy_over_the_default(tmp_path: Path) -> None:
    data = {
        "default": {"keep_last": 10, "finished_after": "90d"},
        "graphs": {"hitl": {"keep_last": 50, "archive_dir": str(tmp_path)}},
    }
    path = tmp_path / "retention.json"
    path.write_text(json.dumps(data))
    for source in (str(path), json.dumps(data)):
        config = load_retention_config(source)
        hitl, react = config.policy_for("hitl"), config.policy_for("react")
        assert (hitl.keep_last, hitl.finished_after, hitl.archive_dir) == (
            50,
            timedelta(days=90),
            tmp_path,
        )
        assert (react.keep_last, react.archive_dir) == (10, None)
    flags = load_retention_config(str(path)).overridden({"keep_last": 3})
    assert flags.policy_for("hitl").keep_last == 3 and flags.policy_for(None).keep_last == 3
    assert load_retention_config("").policy_for("x") == RetentionPolicy()
    with pytest.raises(ValueError, match="no retention config file"):
        load_retention_config(str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match="unknown retention config key"):
        load_retention_config('{"defaults": {}}')


def test_an_archive_gives_the_rows_back_exactly(tmp_path: Path) -> None:
    path = archive_path(tmp_path, "react", "../../etc/passwd thread")
    assert path.parent == tmp_path / "react" and ".." not in path.name
    rows = {"checkpoint_blobs": [{"channel": "messages", "blob": b"\x00\xff", "n": 1}]}
    assert write_archive(path, rows) == 1
    assert list(read_archive(path)) == [("checkpoint_blobs", rows["checkpoint_blobs"][0])]


def test_the_beat_runs_the_prune_daily_unless_switched_off() -> None:
    assert beat_entry({}) == {
        "agent-patterns-retention": {"task": RETENTION_TASK, "schedule": 86_400.0}
    }
    assert beat_entry({"AGENT_PATTERNS_RETENTION_EVERY_S": "0"}) == {}
    with pytest.raises(ValueError, match="seconds"):
        beat_entry({"AGENT_PATTERNS_RETENTION_EVERY_S": "daily"})
