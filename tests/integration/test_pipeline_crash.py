"""Kill a process in the middle of the contract-review pipeline on Postgres; a new one resumes.

The pipeline (extract_obligations, assess_risks, an approval of the risks, then
draft_review_packet) runs in `pipeline_worker`, which is SIGKILLed before each graph node and
inside a stage while the stages before it are finished and saved. A new process resumes the
thread. Each case asserts: the result equals an uninterrupted run, every stage finished
exactly once across the two processes, and no stage the first process finished was worked on
again by the second.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from demo.contract_review import STAGE_NAMES
from tests.integration.crash_harness import (
    finish,
    kill_then_resume,
    read_jsonl,
    start_worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Graph nodes an uninterrupted run starts: extract_obligations, assess_risks, approve_stage
# (interrupted), approve_stage, review_stage, draft_review_packet, finish.
# Kill points before each node after the first:
BOUNDARIES = [2, 3, 4, 5, 6, 7]
IN_STAGE = ["assess_risks", "draft_review_packet"]
KILL_POINTS = [f"before-node-{n}" for n in BOUNDARIES] + [f"in-stage-{s}" for s in IN_STAGE]


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("pipeline_worker", tmp, "--url", url, "--thread", "crash", *extra)


def _finished(log: list[dict[str, Any]], pid: int | None = None) -> list[str]:
    return [e["finished_stage"] for e in log if "finished_stage" in e and pid in (None, e["pid"])]


def _pause_args(kill_point: str) -> list[str]:
    if kill_point.startswith("in-stage-"):
        return ["--pause-in-stage", kill_point.removeprefix("in-stage-")]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pipeline uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-pipeline")
    result = finish(_worker("memory", tmp))
    assert result["status"] == "finished"
    assert [s["name"] for s in result["stages"]] == list(STAGE_NAMES)
    assert result["answer"].startswith("Contract review packet")
    assert result["approvals"] == [["review_stage_output", "accept"]]
    assert sorted(_finished(read_jsonl(tmp / "steps.jsonl"))) == sorted(STAGE_NAMES)
    return result


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_pipeline_resumes_without_rerunning_finished_stages(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args(kill_point)
    )
    resumed = run.result

    assert resumed == clean_run, "the resumed run differs from an uninterrupted one"
    log = run.log
    assert sorted(_finished(log)) == sorted(STAGE_NAMES), "a stage was lost or repeated"
    finished_first = set(_finished(log, run.killed_pid))
    worked_again = set(run.by_resumed("model_call"))
    assert not finished_first & worked_again, "a finished stage ran again after the crash"


def test_a_kill_in_the_last_stage_keeps_the_earlier_ones(postgres_url: str, tmp_path: Path) -> None:
    """Killed while the packet is drafted: extraction and risks (and their approval) are kept."""
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path),
        tmp_path,
        *_pause_args("in-stage-draft_review_packet"),
    )
    result = run.result
    log = run.log
    assert _finished(log, run.killed_pid) == ["extract_obligations", "assess_risks"]
    second = set(run.by_resumed("model_call"))
    assert second == {"draft_review_packet"}
    assert result["approvals"] == [["review_stage_output", "accept"]]
