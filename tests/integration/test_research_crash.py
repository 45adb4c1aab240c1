"""Kill a process in the middle of a hierarchical research on Postgres; a new process resumes.

The market-expansion research (five workstreams, one of which splits into two, then the
brief) runs in `research_worker`, which is SIGKILLed inside a worker's research while other
workstreams of the same level are finished and saved, and before graph nodes. A new process
resumes. Each case asserts: the result equals an uninterrupted run, every workstream was
researched exactly once across the two processes, and none the first process finished was
researched again.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.integration.crash_harness import finish, kill_then_resume, read_jsonl, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKSTREAMS = sorted(["ws1", "ws2", "ws3", "ws4", "ws5", "ws3.1", "ws3.2"])
# Kill points inside a worker's research (workstream), once those named are saved:
IN_WORKSTREAM = {
    "ws4": "ws1,ws2,ws3,ws5",  # level 1: the split of ws3 is saved, ws4 still running
    "ws3.2": "ws3.1",  # level 2: one sub-workstream saved, the other running
}
# Graph nodes of an uninterrupted run: open, plan, assign, research (level 1), assign,
# research (level 2), synthesise.
KILL_POINTS = [f"in-{ws}" for ws in IN_WORKSTREAM] + ["before-node-4", "before-node-7"]


def _worker(url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("research_worker", tmp, "--url", url, "--thread", "crash", *extra)


def _researched(log: list[dict[str, Any]], pid: int | None = None) -> list[str]:
    return [e["workstream"] for e in log if "workstream" in e and pid in (None, e["pid"])]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The research uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-research")
    result = finish(_worker("memory", tmp))
    assert result["status"] == "answered" and len(result["workstreams"]) == 7
    assert sorted(_researched(read_jsonl(tmp / "steps.jsonl"))) == WORKSTREAMS
    return result


def _pause_args(kill_point: str) -> list[str]:
    if kill_point.startswith("in-"):
        workstream = kill_point.removeprefix("in-")
        return ["--pause-in", workstream, "--after", IN_WORKSTREAM[workstream]]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_research_resumes_without_redoing_finished_workstreams(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path), tmp_path, *_pause_args(kill_point)
    )

    assert run.result == clean_run, "the resumed run differs from an uninterrupted one"
    log = run.log
    assert sorted(_researched(log)) == WORKSTREAMS, "a workstream was lost or researched twice"
    done_first = set(_researched(log, run.killed_pid))
    done_second = run.by_resumed("workstream")
    assert not done_first & set(done_second), "a finished workstream was researched again"
    if kill_point.startswith("in-"):  # killed mid-level: the others of the level were saved
        workstream = kill_point.removeprefix("in-")
        assert set(IN_WORKSTREAM[workstream].split(",")) <= done_first
        assert workstream in done_second
    assert sum(e.get("root_call") == "plan" for e in log) == 1, "the root planned again"
    assert sum(e.get("root_call") == "brief" for e in log) == 1, "the root wrote two briefs"
