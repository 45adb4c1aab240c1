"""Kill a process while a saga undoes a failed plan on Postgres; a new process finishes it.

The fleet saga (`demo.fleet.SAGA_PLAN`: resize to 14, update the runbook, a capacity check
that fails) runs in `saga_worker`, which accepts every approval itself and is SIGKILLed before
each node of the saga (the compensation proposals, their gates, the tool node, the report)
and inside each compensating tool right after it recorded its effect. A new process resumes.
Each case asserts: the result equals an uninterrupted run (both effects undone, newest first),
and across the two processes every effect, compensations included, happened exactly once.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from graphs._saga import SAGA_NODES
from tests.integration.crash_harness import finish, kill_then_resume, read_jsonl, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EFFECTS = Counter({("fleet_resize", 14): 1, ("fleet_resize", 10): 1, ("runbook_update", 1): 2})


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("saga_worker", tmp, "--url", url, "--thread", "saga", *extra)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[int]]:
    """The saga uninterrupted, on an in-memory checkpointer, and its saga nodes' start numbers."""
    tmp = tmp_path_factory.mktemp("clean-saga")
    result = finish(_worker("memory", tmp))
    assert result["saga"] == {
        "status": "compensated",
        "planned": [
            ["update_runbook", "restore_runbook", "undone"],
            ["resize_fleet", "restore_fleet_size", "undone"],
        ],
    }
    assert _effects(tmp) == EFFECTS
    starts = [e["start"] for e in read_jsonl(tmp / "steps.jsonl") if e.get("name") in SAGA_NODES]
    # per effect: compensate, the gate (interrupted, then resumed), the tool node; then a last
    # compensate (nothing left) and the report
    assert len(starts) == len(SAGA_START_POINTS)
    return result, starts


def _effects(tmp: Path) -> Counter[tuple[str, int]]:
    """The effects recorded across processes: the resizes by count, runbook updates counted."""
    found: Counter[tuple[str, int]] = Counter()
    for effect in read_jsonl(tmp / "effects.jsonl"):
        found[(effect["kind"], effect["count"] if "count" in effect else 1)] += 1
    return found


SAGA_START_POINTS = range(10)
"""Indices into the clean run's saga node starts."""


@pytest.mark.parametrize("index", SAGA_START_POINTS)
def test_killed_before_a_saga_node_resumes_and_undoes_each_effect_once(
    index: int, postgres_url: str, tmp_path: Path, clean_run: tuple[dict[str, Any], list[int]]
) -> None:
    expected, starts = clean_run
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path),
        tmp_path,
        "--pause-before-node",
        str(starts[index]),
    )
    assert run.result == expected
    assert _effects(tmp_path) == EFFECTS


@pytest.mark.parametrize("kind", ["runbook_update", "fleet_resize"])
def test_killed_inside_a_compensation_does_not_undo_twice(
    kind: str, postgres_url: str, tmp_path: Path, clean_run: tuple[dict[str, Any], list[int]]
) -> None:
    expected, _ = clean_run
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, "--pause-in-undo", kind
    )
    assert run.result == expected
    assert _effects(tmp_path) == EFFECTS
    assert run.by_killed("done")  # the first process did real work before it was killed
