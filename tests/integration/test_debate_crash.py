"""Kill a process in the middle of a debate on Postgres; a new process resumes the thread.

The product debate (four perspectives, two parallel rounds, then the facilitator) runs in
`debate_worker`, which is SIGKILLed inside a perspective's contribution while others of the
same round are finished and saved, and before graph nodes. A new process resumes. Each case
asserts: the result equals an uninterrupted run, every contribution was made exactly once
across the two processes, and no contribution the first process finished was made again.
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

PERSPECTIVES = ["research", "engineering", "finance", "support"]
CONTRIBUTIONS = sorted(f"{name}-r{n}" for name in PERSPECTIVES for n in (1, 2))
# Kill points inside a running contribution (perspective, round), once those named are saved:
IN_CONTRIBUTION = {
    ("support", 2): "research,engineering,finance",
    ("finance", 1): "research,engineering,support",
}
# Graph nodes of an uninterrupted run: open, debate_round (1), debate_round (2), facilitate.
KILL_POINTS = [f"in-{p}-r{n}" for p, n in IN_CONTRIBUTION] + ["before-node-3", "before-node-4"]


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("debate_worker", tmp, "--url", url, "--thread", "crash", *extra)


def _made(log: list[dict[str, Any]], pid: int | None = None) -> list[str]:
    return [e["contribution"] for e in log if "contribution" in e and pid in (None, e["pid"])]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The debate uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-debate")
    result = finish(_worker("memory", tmp))
    assert result["status"] == "answered" and len(result["transcript"]) == 12
    assert sorted(_made(read_jsonl(tmp / "steps.jsonl"))) == CONTRIBUTIONS
    return result


def _pause_args(kill_point: str) -> list[str]:
    if kill_point.startswith("in-"):
        perspective, number = kill_point.removeprefix("in-").rsplit("-r", 1)
        after = IN_CONTRIBUTION[(perspective, int(number))]
        return ["--pause-in", perspective, "--round", number, "--after", after]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_debate_resumes_without_redoing_finished_contributions(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args(kill_point)
    )
    resumed = run.result

    assert resumed == clean_run, "the resumed run differs from an uninterrupted one"
    log = run.log
    assert sorted(_made(log)) == CONTRIBUTIONS, "a contribution was lost or made twice"
    made_first = set(_made(log, run.killed_pid))
    made_second = run.by_resumed("contribution")
    assert not made_first & set(made_second), "a finished contribution was made again"
    if kill_point.startswith("in-"):  # killed mid-round: the others of the round were saved
        perspective, number = kill_point.removeprefix("in-").rsplit("-r", 1)
        others = IN_CONTRIBUTION[(perspective, int(number))].split(",")
        assert {f"{name}-r{number}" for name in others} <= made_first
        assert f"{perspective}-r{number}" in made_second
    assert sum("facilitator_call" in e for e in log) == 1, "the facilitator was asked again"
