"""Kill the refund orchestrator mid-way on Postgres; a new process resumes; one refund.

`orchestrator_worker` runs the manual-review request (checks in parallel, packet, the gate,
the refund, the note drafted and posted) and the approved one (no gate). It is SIGKILLed
before each graph node and inside ``issue_refund`` right after the payment was recorded (the
worst moment to die).
A new process resumes the thread. Each case asserts: the result equals an uninterrupted run
and the refund was paid, and its note posted, exactly once across the two processes.
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

# Manual review: parse_request, verify_purchase and check_policy (one super-step), decide,
# draft_review_packet, propose_refund, approval_gate (interrupted), approval_gate, run_tools,
# report_refund, post_note (the processing note), finish_refund. Kill points before each node
# after the first:
MANUAL_REVIEW_KILLS = [f"before-node-{n}" for n in range(2, 13)] + ["in-effect"]
# Approved: the same first four nodes, then propose_refund (5), run_tools (6), report_refund
# (7), post_note (8), finish_refund (9).
APPROVED_KILLS = [f"before-node-{n}" for n in range(5, 10)] + ["in-effect"]


def _worker(url: str, tmp: Path, path: str, *extra: str) -> subprocess.Popen[str]:
    return start_worker(
        "orchestrator_worker", tmp, "--url", url, "--thread", "crash", "--path", path, *extra
    )


def _pause_args(kill_point: str) -> list[str]:
    if kill_point == "in-effect":
        return ["--pause-in-effect"]
    return ["--pause-before-task", kill_point.rsplit("-", 1)[1]]


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each path uninterrupted, on an in-memory checkpointer."""
    results = {}
    for path in ("manual_review", "approved"):
        tmp = tmp_path_factory.mktemp(f"clean-{path}")
        result = finish(_worker("memory", tmp, path))
        assert result["path"] == path and result["outcome"]["status"] == "issued"
        kinds = [e["kind"] for e in read_jsonl(tmp / "effects.jsonl")]
        assert kinds == ["refund", "refund_note"]
        results[path] = result
    return results


@pytest.mark.parametrize(
    ("path", "kill_point"),
    [("manual_review", k) for k in MANUAL_REVIEW_KILLS] + [("approved", k) for k in APPROVED_KILLS],
)
def test_killed_orchestrator_resumes_and_refunds_once(
    path: str,
    kill_point: str,
    postgres_url: str,
    tmp_path: Path,
    clean_runs: dict[str, dict[str, Any]],
) -> None:
    run = kill_then_resume(
        partial(_worker, postgres_url, tmp_path, path), tmp_path, *_pause_args(kill_point)
    )
    resumed = run.result

    assert resumed == clean_runs[path], "the resumed run differs from an uninterrupted one"
    refunds = [e for e in read_jsonl(tmp_path / "effects.jsonl") if e["kind"] == "refund"]
    assert len(refunds) == 1, "the refund must be paid exactly once across the crash"
    assert refunds[0]["order_id"] == {"manual_review": "A-1002", "approved": "A-1001"}[path]
    notes = [e for e in read_jsonl(tmp_path / "effects.jsonl") if e["kind"] == "refund_note"]
    assert [n["refund_id"] for n in notes] == [refunds[0]["refund_id"]], "one note, once"
