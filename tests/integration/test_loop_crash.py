"""Kill the critique and reflexion loops mid-run on Postgres; a new process resumes the thread.

A worker process (`tests.integration.loop_worker`, ``durability="sync"``, scripted stateless
models) runs each loop's scripted scenario: critique improves its draft until the judge passes
it in round 3; reflexion fails twice, reflects on each failure, and passes on attempt 3 (each
attempt checked by the task's tests in the sandbox). The worker is SIGKILLed before every task
after the first, and a new process resumes the thread. Each case asserts:

- the resumed result equals an uninterrupted run's (on an in-memory checkpointer). Compared:
  the conversation; for critique the request, every draft and verdict, the round, the best
  draft and the outcome; for reflexion the task, the recalled lessons, every attempt,
  sandbox evaluation (except how long it took) and reflection, whether it succeeded, and the
  lessons in the episodic store at the end (except when they were stored);
- every graph task completed exactly once across the two processes: the first process
  completed the tasks before the kill point, the second the rest, none again;
- model work is not redone: each model call (draft, verdict, attempt, reflection) and each
  sandbox run of an attempt happens once, in the process that ran its task; the first
  process's log is the uninterrupted run's log up to the kill point, the second's the rest.

The episodic store is an `InMemoryStore` per process, so lessons do not survive the kill.
That keeps the comparison strict: the lessons are recalled in the first task (always run by
the first process, on an empty store, as in the clean run) and recorded in the last (always
run by the resumed process), so the store the resumed process ends with must hold exactly
the lessons of an uninterrupted run, all derived from the reflections in the checkpoint.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.crash_harness import finish, kill_when_paused, read_jsonl, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# The tasks an uninterrupted run completes, in order (each starts once: one task per step).
TASKS: dict[str, list[str]] = {
    # generate, judge (0.30), revise, judge (0.60), revise, judge (0.85, passed), finish
    "critique": ["generate", "judge", "revise", "judge", "revise", "judge", "finish"],
    # recall_lessons, then attempt, evaluate (fails), reflect twice, attempt, evaluate
    # (passes), finish, record_lesson
    "reflexion": [
        "recall_lessons",
        *["attempt", "evaluate", "reflect"] * 2,
        *["attempt", "evaluate", "finish", "record_lesson"],
    ],
}
# The model calls and sandbox runs of an uninterrupted run, in order.
WORK: dict[str, list[str]] = {
    "critique": ["draft-1", "verdict-1", "draft-2", "verdict-2", "draft-3", "verdict-3"],
    "reflexion": [
        *["attempt-1", "sandbox:attempt-1", "reflect-1"],
        *["attempt-2", "sandbox:attempt-2", "reflect-2"],
        *["attempt-3", "sandbox:attempt-3"],
    ],
}
CASES = [(graph, start) for graph, tasks in TASKS.items() for start in range(2, len(tasks) + 1)]


def _worker(graph: str, url: str, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["--graph", graph, "--url", url, "--thread", "crash"]
    return start_worker("loop_worker", tmp, *args, *extra)


def _tasks(log: list[dict[str, Any]]) -> list[str]:
    """The completed tasks in a steps log."""
    return [entry["name"] for entry in log if "name" in entry]


def _work(log: list[dict[str, Any]]) -> list[str]:
    """The model calls and sandbox runs in a steps log."""
    return [
        entry["model_call"] if "model_call" in entry else f"sandbox:{entry['sandbox']}"
        for entry in log
        if "model_call" in entry or "sandbox" in entry
    ]


def _without_pid(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in entry.items() if k != "pid"} for entry in log]


def _up_to_task(log: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The entries of a log up to its `count`-th completed task (with that task's)."""
    done = 0
    for index, entry in enumerate(log):
        done += "name" in entry
        if done == count:
            return log[: index + 1]
    raise AssertionError(f"the log has fewer than {count} completed tasks")


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each loop uninterrupted, on an in-memory checkpointer: its result and its steps log."""
    runs: dict[str, dict[str, Any]] = {}
    for graph, tasks in TASKS.items():
        tmp = tmp_path_factory.mktemp(f"clean-{graph}")
        result = finish(_worker(graph, "memory", tmp))
        log = _without_pid(read_jsonl(tmp / "steps.jsonl"))
        assert _tasks(log) == tasks
        assert _work(log) == WORK[graph]
        runs[graph] = {"result": result, "log": log}
    critique, reflexion = runs["critique"]["result"], runs["reflexion"]["result"]
    assert critique["outcome"]["status"] == "passed" and critique["outcome"]["round"] == 3
    assert reflexion["succeeded"] is True
    assert [e["passed"] for e in reflexion["evaluations"]] == [False, False, True]
    assert len(reflexion["stored_lessons"]) == 3  # two reflections and the success summary
    return runs


@pytest.mark.parametrize(("graph", "start"), CASES, ids=[f"{g}-before-task-{n}" for g, n in CASES])
def test_killed_loop_resumes_without_redoing_finished_work(
    graph: str,
    start: int,
    postgres_url: str,
    tmp_path: Path,
    clean_runs: dict[str, dict[str, Any]],
) -> None:
    first = _worker(graph, postgres_url, tmp_path, "--pause-before-task", str(start))
    kill_when_paused(first)

    resumed = finish(_worker(graph, postgres_url, tmp_path))

    clean = clean_runs[graph]
    assert resumed == clean["result"], "the resumed run differs from an uninterrupted one"
    log = read_jsonl(tmp_path / "steps.jsonl")
    assert Counter(_tasks(log)) == Counter(TASKS[graph]), "a task was lost or repeated"
    by_first = [entry for entry in log if entry["pid"] == first.pid]
    by_second = [entry for entry in log if entry["pid"] != first.pid]
    assert _tasks(by_first) == TASKS[graph][: start - 1], "the first process did other tasks"
    assert _tasks(by_second) == TASKS[graph][start - 1 :], "a finished task ran again"
    redone = set(_work(by_first)) & set(_work(by_second))
    assert not redone, f"model calls or sandbox runs finished before the kill were redone: {redone}"
    expected_first = _up_to_task(clean["log"], start - 1)
    assert _without_pid(by_first) == expected_first, "the first process's work differs"
    rest = clean["log"][len(expected_first) :]
    assert _without_pid(by_second) == rest, "the resumed process's work differs from the rest"
