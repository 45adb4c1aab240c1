"""Kill the swarm mid-handoff on Postgres and resume it from a new process.

A worker process (`tests.integration.swarm_worker`, ``durability="sync"``, the offline demo
model) runs the support swarm: shipping hands the refund request to billing, which looks the
order up and requests the refund; it waits at the approval gate inside the billing agent. The
worker is killed with SIGKILL just before the swarm's handoff step, right after it (as the
billing agent's task starts), at the approval gate, and inside the refund tool right after the
payment system recorded the refund. A new process resumes the thread. Each case asserts: the
result equals an uninterrupted run, every completed step ran exactly once across both
processes, and the refund happened exactly once.

Kill points are taken from the stream of task events, which a subgraph forwards late: a pause
"before billing's first model call" can fire after that call already finished and saved its
writes, which makes the step accounting (not the run) racy, so that point is not used.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.crash_harness import finish, kill_when_paused, read_jsonl, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KILL_POINTS = {
    # kill point: worker options, steps the first process completed before dying
    "before-handoff": (["--pause-before", "handoff"], 3),
    "after-handoff": (["--pause-before", "billing"], 4),
    "at-gate": (["--pause-at-gate"], 7),
    "in-effect": (["--pause-in-effect"], 8),
}


def _worker(url: str, thread: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker("swarm_worker", tmp, "--url", url, "--thread", thread, *extra)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The swarm uninterrupted, on an in-memory checkpointer."""
    tmp = tmp_path_factory.mktemp("clean-swarm")
    result = finish(_worker("memory", "crash", tmp))  # same thread id: same refund id
    steps = [s["name"] for s in read_jsonl(tmp / "steps.jsonl")]
    refunds = [e for e in read_jsonl(tmp / "effects.jsonl") if e["kind"] == "refund"]
    assert len(refunds) == 1 and result["next"] == []
    assert result["active_agent"] == "billing"
    assert [(h["from"], h["to"]) for h in result["handoffs"]] == [("shipping", "billing")]
    assert steps == [
        "shipping/call_model",
        "shipping/run_tools",
        "shipping",
        "handoff",
        "billing/call_model",
        "billing/run_tools",
        "billing/call_model",
        "billing/approval_gate",
        "billing/run_tools",
        "billing/call_model",
        "billing",
        "handoff",
    ]
    assert [e["status"] for e in result["ledger"]] == ["completed"]
    return {"result": result, "steps": steps}


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_swarm_killed_mid_handoff_resumes_with_the_same_result_and_one_refund(
    kill_point: str, postgres_url: str, tmp_path: Path, clean_run: dict[str, Any]
) -> None:
    options, completed_before = KILL_POINTS[kill_point]
    first = _worker(postgres_url, "crash", tmp_path, *options)
    kill_when_paused(first)

    resumed = finish(_worker(postgres_url, "crash", tmp_path))

    assert resumed == clean_run["result"], "the resumed run differs from an uninterrupted one"
    completed = read_jsonl(tmp_path / "steps.jsonl")
    assert [s["name"] for s in completed] == clean_run["steps"], "a step was lost or repeated"
    by_first = [s["pid"] == first.pid for s in completed]
    assert by_first == [True] * completed_before + [False] * (len(by_first) - completed_before)
    refunds = [e for e in read_jsonl(tmp_path / "effects.jsonl") if e["kind"] == "refund"]
    assert len(refunds) == 1, f"the refund happened {len(refunds)} times"
    assert [e["status"] for e in resumed["ledger"]] == ["completed"]
