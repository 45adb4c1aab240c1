"""Kill a process while a parallel run's branches are running on Postgres; a new one resumes.

The incident triage (three specialists at once, then the commander) runs in
`parallel_worker`, which is SIGKILLed inside a branch while the other branches have finished
and are saved, and before each graph node. A new process resumes. Each case asserts: the
result equals an uninterrupted run, every branch finished exactly once across the two
processes, and no branch the first process finished was worked on again.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.integration.crash_harness import (
    finish,
    kill_then_resume,
    read_jsonl,
    start_worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BRANCHES = ["deployments", "logs", "metrics"]
# Kill points inside a running branch, once the branches named finished and were saved:
IN_BRANCH = {"metrics": "logs,deployments", "logs": "deployments"}
# Kill point before the second graph node (aggregate): every branch saved, none to rerun.
KILL_POINTS = [f"in-branch-{b}" for b in IN_BRANCH] + ["before-node-2"]


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("parallel_worker", tmp, "--url", url, "--thread", "crash", *extra)


def _finished(log: list[dict[str, Any]], pid: int | None = None) -> list[str]:
    return [e["finished_branch"] for e in log if "finished_branch" in e and pid in (None, e["pid"])]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The triage uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-parallel")
    result = finish(_worker("memory", tmp))
    assert result["status"] == "answered"
    assert {r["status"] for r in result["branch_results"].values()} == {"done"}
    assert sorted(_finished(read_jsonl(tmp / "steps.jsonl"))) == BRANCHES
    return result


def _pause_args(kill_point: str) -> list[str]:
    if kill_point.startswith("in-branch-"):
        branch = kill_point.removeprefix("in-branch-")
        return ["--pause-in-branch", branch, "--after", IN_BRANCH[branch]]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_fan_out_resumes_without_rerunning_finished_branches(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args(kill_point)
    )
    resumed = run.result

    assert resumed == clean_run, "the resumed run differs from an uninterrupted one"
    log = run.log
    assert sorted(_finished(log)) == BRANCHES, "a branch was lost or repeated"
    finished_first = set(_finished(log, run.killed_pid))
    if kill_point.startswith("in-branch-"):  # killed mid-branch, the `after` ones finished
        branch = kill_point.removeprefix("in-branch-")
        assert set(IN_BRANCH[branch].split(",")) <= finished_first
        assert branch not in finished_first
    worked_on_again = set(run.by_resumed("model_call"))
    assert not finished_first & worked_on_again, "a finished branch ran again after the crash"
