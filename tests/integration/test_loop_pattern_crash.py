"""Kill a process in the middle of a loop on Postgres; a new process resumes the thread.

The supplier-CSV loop (round 1 fails the judge, round 2 passes) runs in `loop_pattern_worker`,
which is SIGKILLed before each graph node after the first and inside round 2's body (round 1
finished and saved). A new process resumes. Each case asserts: the result equals an
uninterrupted run, each round's body finished exactly once across the two processes, and the
resumed process never worked again on a round the first one finished.

(`test_loop_crash` is another test: the ReAct tool loop's crash behaviour.)
"""

from __future__ import annotations

import subprocess
from collections import Counter
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

# Graph nodes an uninterrupted run starts: begin, body (1), check (1), body (2), check (2),
# finish. Kill points before each node after the first, and inside round 2's body:
BOUNDARIES = [2, 3, 4, 5, 6]
KILL_POINTS = [f"before-node-{n}" for n in BOUNDARIES] + ["in-body-2"]


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("loop_pattern_worker", tmp, "--url", url, "--thread", "crash", *extra)


def _finished_rounds(log: list[dict[str, Any]], pid: int | None = None) -> list[int]:
    return [e["finished_round"] for e in log if "finished_round" in e and pid in (None, e["pid"])]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The loop uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-loop-pattern")
    result = finish(_worker("memory", tmp))
    assert result["outcome"]["status"] == "passed" and result["outcome"]["rounds"] == 2
    assert [r["verdict"]["passes"] for r in result["rounds"]] == [False, True]
    assert _finished_rounds(read_jsonl(tmp / "steps.jsonl")) == [1, 2]
    return result


def _pause_args(kill_point: str) -> list[str]:
    if kill_point.startswith("in-body-"):
        return ["--pause-in-body", kill_point.rsplit("-", 1)[1]]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_loop_resumes_without_rerunning_finished_rounds(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args(kill_point)
    )
    resumed = run.result

    assert resumed == clean_run, "the resumed run differs from an uninterrupted one"
    log = run.log
    assert sorted(_finished_rounds(log)) == [1, 2], "a round was lost or repeated"
    finished_first = set(_finished_rounds(log, run.killed_pid))
    worked_on_again = set(run.by_resumed("body_call"))
    assert not finished_first & worked_on_again, "a finished round ran again after the crash"
    judged = Counter(e["judge_call"] for e in log if "judge_call" in e)
    assert set(judged) == {1, 2}


def test_a_kill_in_round_two_keeps_round_one(postgres_url: str, tmp_path: Path) -> None:
    """Killed inside round 2's body: round 1 (body and verdict) is not redone."""
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args("in-body-2")
    )
    log = run.log
    assert _finished_rounds(log, run.killed_pid) == [1]
    second = [e for e in log if e["pid"] != run.killed_pid]
    assert {e["body_call"] for e in second if "body_call" in e} == {2}
    assert [e["judge_call"] for e in second if "judge_call" in e] == [2]
