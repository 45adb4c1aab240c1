"""The README's main job: `python -m cli demo`, from a fresh process, on a SQLite checkpointer."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.demo import add_demo_arguments, run_demo
from demo.effects import EFFECTS_LOG_ENV, read_effects

ROOT = Path(__file__).resolve().parents[2]


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, EFFECTS_LOG_ENV: str(tmp_path / "effects.jsonl")}
    env.update(MEMORY_STORE_URL=str(tmp_path / "chroma"), MEMORY_EMBEDDINGS="hash")
    env.pop("CHECKPOINTER_URL", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "demo",
            "--checkpointer",
            f"sqlite:///{tmp_path}/cp.sqlite",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refunds(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "effects.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if '"refund"' in line]


def test_stops_at_the_gate_then_resumes_from_a_new_process_exactly_once(tmp_path: Path) -> None:
    first = demo(tmp_path)

    assert first.returncode == 0, first.stderr
    assert "[call_model] calls lookup_order" in first.stdout
    assert "[approval_gate] waiting for a person" in first.stdout
    assert "action: issue_refund" in first.stdout
    assert "Stopped at the approval gate: nothing was run." in first.stdout
    assert "offline demo model" in first.stderr
    assert refunds(tmp_path) == []
    thread = re.search(r"--thread (demo-[0-9a-f]+)", first.stdout)
    assert thread is not None

    second = demo(tmp_path, "--thread", thread.group(1), "--approve", "auto", "--reviewer", "ops")

    assert second.returncode == 0, second.stderr
    assert "accept by ops: issue_refund" in second.stdout
    assert "issue_refund: refund id: RF-" in second.stdout
    assert "audit: accept issue_refund by ops" in second.stdout
    assert len(refunds(tmp_path)) == 1

    again = demo(tmp_path, "--thread", thread.group(1), "--approve", "auto")

    assert again.returncode == 0 and "nothing waiting for approval" in again.stdout
    assert len(refunds(tmp_path)) == 1, "re-running the resume command must not refund again"


def test_reject_from_the_command_line(tmp_path: Path) -> None:
    result = demo(tmp_path, "--approve", "reject")

    assert result.returncode == 0, result.stderr
    assert "ignore by" in result.stdout and "Rejected by" in result.stdout
    assert refunds(tmp_path) == []


def test_read_only_question_needs_no_approval(tmp_path: Path) -> None:
    result = demo(tmp_path, "Where is my order A-1002?")

    assert result.returncode == 0, result.stderr
    assert "approval_gate" not in result.stdout and "status: shipped" in result.stdout


def test_bad_settings_fail_with_a_clear_message(tmp_path: Path) -> None:
    result = demo(tmp_path, "--max-steps", "0")
    assert result.returncode == 2 and "max_steps must be between 1 and 100" in result.stderr
    bad_url = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--checkpointer", "redis://x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_url.returncode == 2 and "Unsupported checkpointer URL" in bad_url.stderr


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("answers", "amount"),
    [("a\n", 89.99), ('e\n{"order_id": "A-1001", "amount": 25, "reason": "partial"}\n', 25.0)],
)
def test_interactive_approval_at_a_terminal(tmp_path: Path, answers: str, amount: float) -> None:
    parser = argparse.ArgumentParser()
    add_demo_arguments(parser)
    args = parser.parse_args(["--checkpointer", "memory", "--reviewer", "tty-user"])
    out = io.StringIO()

    code = run_demo(args, stdin=FakeTerminal(answers), out=out)

    assert code == 0
    assert "Decide: [a]ccept" in out.getvalue()
    [refund] = read_effects("refund")
    assert refund["amount"] == amount


def test_sub_agent_steps_are_labelled_with_their_agent(tmp_path: Path) -> None:
    result = demo(tmp_path, "--graph", "swarm", "--approve", "auto", "--reviewer", "ops")

    assert result.returncode == 0, result.stderr
    assert "[shipping/run_tools] transfer_to_billing result" in result.stdout
    assert "[billing/approval_gate] accept by ops: issue_refund" in result.stdout
    assert result.stdout.count("waiting for a person") == 1, "the interrupt is shown once"
    assert len(refunds(tmp_path)) == 1


def test_memory_agent_remembers_a_user_across_processes(tmp_path: Path) -> None:
    first = demo(
        tmp_path,
        "--graph",
        "memory_agent",
        "--user",
        "ana",
        "I prefer email over phone calls. Where is my order A-1002?",
    )
    again = demo(tmp_path, "--graph", "memory_agent", "--user", "ana", "Email me about A-1003?")
    other = demo(tmp_path, "--graph", "memory_agent", "--user", "bob", "Email me about A-1003?")

    assert "[remember_facts] remembered: I prefer email over phone calls." in first.stdout
    assert "recalled 1 memory: I prefer email over phone calls." in again.stdout
    assert "[recall_memories] recalled 0 memories" in other.stdout


def test_plan_steps_are_labelled_with_their_step(tmp_path: Path) -> None:
    request = "Resize the worker fleet to 20, verify the queue drains, update the runbook."
    result = demo(
        tmp_path, "--graph", "plan_execute", "--approve", "auto", "--reviewer", "ops", request
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[execute/execute_step[resize]/approval_gate] accept by ops: resize_fleet" in out
    assert '[execute_step[queue_after]] done: {"queue": "jobs", "depth": 200' in out
    for step in ("fleet", "queue_before", "runbook", "resize", "queue_after", "update_runbook"):
        assert f"[execute_step[{step}]] done" in out, step
    answers: dict[str, str] = {}  # label -> its streamed text, continuation lines joined
    for line in out.splitlines():
        if "] answer: " in line:
            label, text = line.split("] answer: ", 1)
            answers[label] = answers.get(label, "") + text
    assert answers and all(text.count("Done:") == 1 for text in answers.values()), answers
    assert out.count("waiting for a person") == 3  # the plan, the resize, the runbook update
