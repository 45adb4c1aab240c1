"""Kill a process in the middle of a plan on Postgres; a new process resumes the thread.

The fleet plan (six steps: three independent reads, a resize, then a verification and a
runbook update in parallel) runs in `plan_execute_worker`, which is SIGKILLed at super-step
boundaries of execution and inside the resize right after the fleet recorded it. A new process
resumes. Each case asserts: the result equals an uninterrupted run, every plan step completed
exactly once across the two processes, the executor never worked again on a step the first
process finished, and each side effect (resize, runbook update) happened once.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.crash_harness import finish, kill_when_paused, read_jsonl, start_worker
from tools.fleet import FLEET_PLAN

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

STEPS = sorted(step["id"] for step in FLEET_PLAN["steps"])
# Tasks an uninterrupted run starts: plan, approve_plan (interrupted), approve_plan, review_plan,
# dispatch, 3 x execute_step, dispatch, execute_step resize (interrupted at its own gate), resize,
# dispatch, queue_after + update_runbook (interrupted), update_runbook, dispatch, replan.
TASKS = 17
# Kill points where no other task is running: before these tasks start.
BOUNDARIES = [2, 5, 9, 10, 12, 16, 17]


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("plan_execute_worker", tmp, "--url", url, "--thread", "crash", *extra)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The plan uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-plan-execute")
    result = finish(_worker("memory", tmp))
    log = read_jsonl(tmp / "steps.jsonl")
    assert result["status"] == "finished"
    assert {r["status"] for r in result["step_results"].values()} == {"done"}
    assert sorted(e["step"] for e in log if e.get("name") == "execute_step") == STEPS
    return result


def _completed_steps(log: list[dict[str, Any]], pid: int | None = None) -> list[str]:
    return [
        e["step"]
        for e in log
        if e.get("name") == "execute_step" and (pid is None or e["pid"] == pid)
    ]


@pytest.mark.parametrize("kill_point", [f"before-task-{n}" for n in BOUNDARIES] + ["in-effect"])
def test_killed_plan_resumes_without_rerunning_finished_steps(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    extra = (
        ["--pause-in-effect"]
        if kill_point == "in-effect"
        else ["--pause-before-task", kill_point.rsplit("-", 1)[1]]
    )
    first = _worker(postgres_url, tmp_path, *extra)
    kill_when_paused(first)

    resumed = finish(_worker(postgres_url, tmp_path))

    assert resumed == clean_run, "the resumed run differs from an uninterrupted one"
    log = read_jsonl(tmp_path / "steps.jsonl")
    assert sorted(_completed_steps(log)) == STEPS, "a plan step was lost or repeated"
    finished_first = set(_completed_steps(log, first.pid))
    worked_on_again = {e["model_call"] for e in log if "model_call" in e and e["pid"] != first.pid}
    assert not finished_first & worked_on_again, "a finished step ran again after the crash"
    effects = Counter(e["kind"] for e in read_jsonl(tmp_path / "effects.jsonl"))
    assert effects == {"fleet_resize": 1, "runbook_update": 1}


def test_kill_points_split_the_work(postgres_url: str, tmp_path: Path) -> None:
    """Killed after the three reads: they are not redone, the rest runs in the new process."""
    first = _worker(postgres_url, tmp_path, "--pause-before-task", "10")
    kill_when_paused(first)
    finish(_worker(postgres_url, tmp_path))
    log = read_jsonl(tmp_path / "steps.jsonl")
    assert sorted(_completed_steps(log, first.pid)) == ["fleet", "queue_before", "runbook"]
    second = Counter(e["model_call"] for e in log if "model_call" in e and e["pid"] != first.pid)
    assert set(second) == {"resize", "queue_after", "update_runbook"}
