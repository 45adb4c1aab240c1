"""Crash and resume: SIGKILL a process running the ReAct graph on Postgres, resume elsewhere.

For every super-step boundary of the demo refund scenario (and while waiting at the approval
gate) a worker process is killed with SIGKILL right after the previous step was checkpointed
(`durability="sync"`). A new process resumes the thread. The test asserts the result equals an
uninterrupted run, every completed step ran exactly once across the two processes, and the
refund (the side effect) happened exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.effects import EFFECTS_LOG_ENV

ROOT = Path(__file__).resolve().parents[2]
TASKS_IN_CLEAN_RUN = 9  # model, tools, model, tools, model, gate, gate (resumed), tools, model

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _worker(
    url: str, thread: str, steps: Path, effects: Path, *extra: str
) -> subprocess.Popen[str]:
    env = {**os.environ, EFFECTS_LOG_ENV: str(effects), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.react_worker",
            "--url",
            url,
            "--thread",
            thread,
            "--steps-log",
            str(steps),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err[-3000:]}"
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _kill_when_paused(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "PAUSED":
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            return
    _, err = proc.communicate()
    pytest.fail(f"worker ended without reaching the pause point:\n{err[-3000:]}")


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same scenario, uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean")
    result = _finish(_worker("memory", "clean", tmp / "steps.jsonl", tmp / "effects.jsonl"))
    steps = [s["name"] for s in _lines(tmp / "steps.jsonl")]
    refunds = [e for e in _lines(tmp / "effects.jsonl") if e["kind"] == "refund"]
    assert len(refunds) == 1 and result["next"] == []
    assert (
        len(steps) == TASKS_IN_CLEAN_RUN - 1
    )  # the gate's first, interrupted attempt is not a completed step
    return {"result": result, "steps": steps}


GATE_TASK = 6  # the approval gate's first (interrupted) attempt is the sixth task


def _completed_before(kill_point: str) -> int:
    """Steps the first process completed before it was killed."""
    if kill_point == "at-gate":
        return GATE_TASK - 1
    started = int(kill_point.rsplit("-", 1)[1]) - 1
    return started - 1 if started >= GATE_TASK else started


KILL_POINTS = [f"before-task-{n}" for n in range(2, TASKS_IN_CLEAN_RUN + 1)] + ["at-gate"]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_worker_resumes_with_same_result_and_one_refund(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    steps, effects = tmp_path / "steps.jsonl", tmp_path / "effects.jsonl"
    extra = (
        ["--pause-at-gate"]
        if kill_point == "at-gate"
        else ["--pause-before-task", kill_point.rsplit("-", 1)[1]]
    )
    first = _worker(postgres_url, "crash", steps, effects, *extra)
    _kill_when_paused(first)

    resumed = _finish(_worker(postgres_url, "crash", steps, effects))

    assert resumed == clean_run["result"]
    completed = _lines(steps)
    assert [s["name"] for s in completed] == clean_run["steps"], "a step was lost or repeated"
    by_first = [s["pid"] == first.pid for s in completed]
    expected_before_kill = _completed_before(kill_point)
    assert by_first == [True] * expected_before_kill + [False] * (
        len(by_first) - expected_before_kill
    )
    refunds = [e for e in _lines(effects) if e["kind"] == "refund"]
    assert len(refunds) == 1, f"refund ran {len(refunds)} times"
