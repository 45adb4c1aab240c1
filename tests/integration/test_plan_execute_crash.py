"""Kill a process in the middle of a plan on Postgres; a new process resumes the thread.

The fleet plan (six steps: three independent reads, a resize, then a verification and a
runbook update in parallel) runs in `plan_execute_worker`, which is SIGKILLed before each graph
node, in the middle of execution (a step running while others have finished and are saved) and
inside the resize right after the fleet recorded it. A new process resumes. Each case asserts:
the result equals an uninterrupted run, every plan step completed exactly once across the two
processes, the executor never worked again on a step the first process finished, and each side
effect (resize, runbook update) happened once.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from demo.fleet import FLEET_PLAN
from tests.integration.crash_harness import (
    finish,
    kill_then_resume,
    read_jsonl,
    start_worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

STEPS = sorted(step["id"] for step in FLEET_PLAN["steps"])
# Graph nodes an uninterrupted run starts: plan, approve_plan (interrupted), approve_plan,
# review_plan, execute (the reads run, resize pauses at the executor's gate), execute (resize,
# queue_after; update_runbook pauses at the gate), execute (update_runbook), replan.
# Kill points before each node after the first:
BOUNDARIES = [2, 3, 4, 5, 6, 7, 8]
# Kill points inside a running step, once the other steps named finished and were saved:
# a read while the two other reads are saved (first execute), and the runbook update while
# the verification is saved (second execute, the reads and the resize saved before it).
IN_STEP = {"runbook": "fleet,queue_before", "update_runbook": "queue_after"}
KILL_POINTS = (
    [f"before-node-{n}" for n in BOUNDARIES] + [f"in-step-{s}" for s in IN_STEP] + ["in-effect"]
)


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
    assert sorted(_completed_steps(log)) == STEPS
    return result


def _completed_steps(log: list[dict[str, Any]], pid: int | None = None) -> list[str]:
    return [e["finished_step"] for e in log if "finished_step" in e and pid in (None, e["pid"])]


def _pause_args(kill_point: str) -> list[str]:
    if kill_point == "in-effect":
        return ["--pause-in-effect"]
    if kill_point.startswith("in-step-"):
        step = kill_point.removeprefix("in-step-")
        return ["--pause-in-step", step, "--after", IN_STEP[step]]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_plan_resumes_without_rerunning_finished_steps(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args(kill_point)
    )
    resumed = run.result

    assert resumed == clean_run, "the resumed run differs from an uninterrupted one"
    log = run.log
    assert sorted(_completed_steps(log)) == STEPS, "a plan step was lost or repeated"
    finished_first = set(_completed_steps(log, run.killed_pid))
    worked_on_again = set(run.by_resumed("model_call"))
    assert not finished_first & worked_on_again, "a finished step ran again after the crash"
    effects = Counter(e["kind"] for e in read_jsonl(tmp_path / "effects.jsonl"))
    assert effects == {"fleet_resize": 1, "runbook_update": 1}


def test_a_kill_mid_execution_keeps_the_finished_steps(postgres_url: str, tmp_path: Path) -> None:
    """Killed while the runbook read runs: the two finished reads are not redone."""
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args("in-step-runbook")
    )
    log = run.log
    assert sorted(_completed_steps(log, run.killed_pid)) == ["fleet", "queue_before"]
    second = Counter(run.by_resumed("model_call"))
    assert set(second) == {"runbook", "resize", "queue_after", "update_runbook"}


def test_a_kill_in_a_later_execution_keeps_every_earlier_step(
    postgres_url: str, tmp_path: Path
) -> None:
    """Killed in the runbook update: the reads, the resize and the verification are kept."""
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args("in-step-update_runbook")
    )
    log = run.log
    assert set(_completed_steps(log, run.killed_pid)) == set(STEPS) - {"update_runbook"}
    second = Counter(run.by_resumed("model_call"))
    assert set(second) == {"update_runbook"}
