"""Crash matrix: SIGKILL a process running a pattern on Postgres, resume from a new one.

For the `react` and `hitl` graphs, a worker process (`durability="sync"`) is killed with
SIGKILL before every task after the first (each super-step boundary), while it waits at the
approval gate, and inside the refund tool right after the payment system recorded the refund.
A new process resumes the thread. Each case asserts: the result equals an uninterrupted run,
every completed step ran exactly once across the two processes, the refund happened exactly
once, and the effect ledger holds it once, completed.
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
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Tasks an uninterrupted run starts, and which of them is the gate's first (interrupted) try.
SCENARIOS = {
    # call_model, run_tools, call_model, run_tools, call_model, gate, gate, run_tools, call_model
    "react": {"tasks": 9, "gate": 6},
    # parse_request, investigate, recommend, check_policy, gate, gate, run_tools, draft_reply
    "hitl": {"tasks": 8, "gate": 5},
}


def _worker(graph: str, url: str, thread: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, EFFECTS_LOG_ENV: str(tmp / "effects.jsonl"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.integration.graph_worker", "--graph", graph]
    command += ["--url", url, "--thread", thread, "--steps-log", str(tmp / "steps.jsonl")]
    return subprocess.Popen(
        [*command, *extra],
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
    return dict(json.loads(line[len("RESULT ") :]))


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
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each scenario uninterrupted, on an in-memory checkpointer."""
    runs = {}
    for graph, shape in SCENARIOS.items():
        tmp = tmp_path_factory.mktemp(f"clean-{graph}")
        result = _finish(_worker(graph, "memory", "crash", tmp))  # same thread id: same refund id
        steps = [s["name"] for s in _lines(tmp / "steps.jsonl")]
        refunds = [e for e in _lines(tmp / "effects.jsonl") if e["kind"] == "refund"]
        assert len(refunds) == 1 and result["next"] == []
        assert len(steps) == shape["tasks"] - 1  # the gate's interrupted try is not a step
        assert [e["status"] for e in result["ledger"]] == ["completed"]
        runs[graph] = {"result": result, "steps": steps}
    return runs


def _completed_before(kill_point: str, gate_task: int) -> int:
    """Steps the first process completed before it was killed."""
    if kill_point == "at-gate":
        return gate_task - 1
    if kill_point == "in-effect":
        return gate_task  # everything up to the resumed gate; killed inside run_tools
    started = int(kill_point.rsplit("-", 1)[1]) - 1
    return started - 1 if started >= gate_task else started


CASES = [
    (graph, point)
    for graph, shape in SCENARIOS.items()
    for point in [f"before-task-{n}" for n in range(2, shape["tasks"] + 1)]
    + ["at-gate", "in-effect"]
]


@pytest.mark.parametrize(("graph", "kill_point"), CASES)
def test_killed_worker_resumes_with_the_same_result_and_one_refund(
    graph: str,
    kill_point: str,
    postgres_url: str,
    tmp_path: Path,
    clean_runs: dict[str, dict[str, Any]],
) -> None:
    extra = {
        "at-gate": ["--pause-at-gate"],
        "in-effect": ["--pause-in-effect"],
    }.get(kill_point, ["--pause-before-task", kill_point.rsplit("-", 1)[1]])
    first = _worker(graph, postgres_url, "crash", tmp_path, *extra)
    _kill_when_paused(first)

    resumed = _finish(_worker(graph, postgres_url, "crash", tmp_path))

    clean = clean_runs[graph]
    assert resumed == clean["result"], "the resumed run differs from an uninterrupted one"
    completed = _lines(tmp_path / "steps.jsonl")
    assert [s["name"] for s in completed] == clean["steps"], "a step was lost or repeated"
    by_first = [s["pid"] == first.pid for s in completed]
    before = _completed_before(kill_point, SCENARIOS[graph]["gate"])
    assert by_first == [True] * before + [False] * (len(by_first) - before)
    refunds = [e for e in _lines(tmp_path / "effects.jsonl") if e["kind"] == "refund"]
    assert len(refunds) == 1, f"the refund happened {len(refunds)} times"
    assert [e["status"] for e in resumed["ledger"]] == ["completed"]
