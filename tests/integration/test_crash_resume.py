"""Crash matrix: SIGKILL a process running a pattern on Postgres, resume from a new one.

For the `react` and `hitl` graphs, a worker process (`durability="sync"`) is killed with
SIGKILL before every task after the first (each super-step boundary), while it waits at the
approval gate, and inside the refund tool right after the payment system recorded the refund.
A new process resumes the thread. Each case asserts: the result equals an uninterrupted run,
every completed step ran exactly once across the two processes, the refund happened exactly
once, the effect ledger holds it once, completed, and the spend (the usage totals in state
and in the usage table) equals the uninterrupted run's: a model call re-run after the kill is
not counted twice.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.crash_harness import finish, kill_when_paused, read_jsonl, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Tasks an uninterrupted run starts, and which of them is the gate's first (interrupted) try.
SCENARIOS = {
    # call_model, run_tools, call_model, run_tools, call_model, gate, gate, run_tools, call_model
    "react": {"tasks": 9, "gate": 6},
    # parse_request, investigate, recommend, check_policy, gate, gate, run_tools, draft_reply
    "hitl": {"tasks": 8, "gate": 5},
}


def _worker(graph: str, url: str, thread: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["--graph", graph, "--url", url, "--thread", thread]
    return start_worker("graph_worker", tmp, *args, *extra)


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each scenario uninterrupted, on an in-memory checkpointer."""
    runs = {}
    for graph, shape in SCENARIOS.items():
        tmp = tmp_path_factory.mktemp(f"clean-{graph}")
        result = finish(_worker(graph, "memory", "crash", tmp))  # same thread id: same refund id
        steps = [s["name"] for s in read_jsonl(tmp / "steps.jsonl")]
        refunds = [e for e in read_jsonl(tmp / "effects.jsonl") if e["kind"] == "refund"]
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
    kill_when_paused(first)

    resumed = finish(_worker(graph, postgres_url, "crash", tmp_path))

    clean = clean_runs[graph]
    assert resumed["usage_table"] == clean["result"]["usage_table"], "spend counted twice"
    assert resumed == clean["result"], "the resumed run differs from an uninterrupted one"
    completed = read_jsonl(tmp_path / "steps.jsonl")
    assert [s["name"] for s in completed] == clean["steps"], "a step was lost or repeated"
    by_first = [s["pid"] == first.pid for s in completed]
    before = _completed_before(kill_point, SCENARIOS[graph]["gate"])
    assert by_first == [True] * before + [False] * (len(by_first) - before)
    refunds = [e for e in read_jsonl(tmp_path / "effects.jsonl") if e["kind"] == "refund"]
    assert len(refunds) == 1, f"the refund happened {len(refunds)} times"
    assert [e["status"] for e in resumed["ledger"]] == ["completed"]
