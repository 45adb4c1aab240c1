"""The newcomer's path through the CLI (issue 19): every mistake one line, every demo its scenario.

Each test runs ``python -m cli`` in a fresh process, as a new user would, and checks the exit
code, the one-line message and that no traceback reaches the terminal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from checkpointers import open_checkpointer
from demo.effects import EFFECTS_LOG_ENV
from demo.scenarios import SCENARIOS
from graphs.registry import build_graph

ROOT = Path(__file__).resolve().parents[2]
MISSING_DB = "postgresql://postgres@127.0.0.1:5432/agent_patterns_does_not_exist"


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI offline in a fresh process, with its effects and memories under tmp_path."""
    environ = {**os.environ, EFFECTS_LOG_ENV: str(tmp_path / "effects.jsonl")}
    environ.update(MEMORY_STORE_URL=str(tmp_path / "chroma"), MEMORY_EMBEDDINGS="hash")
    for name in ("CHECKPOINTER_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        environ.pop(name, None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cp.sqlite"


def assert_one_line_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Exit code 2, no traceback, and a last stderr line 'error: ...' naming every phrase."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr
    for phrase in phrases:
        assert phrase in last, (phrase, last)


# -- 1. tracebacks become one line ---------------------------------------------------------------


def test_an_openai_model_without_a_key_is_one_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", "--model", "openai:gpt-4o", "--checkpointer", "memory")
    assert_one_line_error(result, "OPENAI_API_KEY", "--model demo")


def test_an_unreachable_model_endpoint_is_one_line(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        "demo",
        "--checkpointer",
        "memory",
        OPENAI_API_KEY="x",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
    )
    assert_one_line_error(result, "cannot reach the model endpoint", "127.0.0.1:9")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["approvals", "list"],
        ["approvals", "sweep"],
        ["approvals", "decide", "t-1", "--accept", "--reviewer", "ops"],
        ["audit", "t-1"],
        ["history", "t-1"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        (MISSING_DB, '"agent_patterns_does_not_exist" does not exist'),
        ("postgresql://postgres:secret@127.0.0.1:9/x", "127.0.0.1"),
    ],
    ids=["missing database", "no server"],
)
def test_a_missing_postgres_is_one_line(
    tmp_path: Path, command: list[str], url: str, phrase: str
) -> None:
    result = cli(tmp_path, *command, "--checkpointer", url)
    assert_one_line_error(result, "cannot use the Postgres checkpointer", phrase)
    assert "secret" not in result.stderr  # the password is not printed


# -- 2. each pattern runs its own scenario --------------------------------------------------------

MEANINGFUL = {
    "react": r"refund id: RF-[0-9A-F]{8}",
    "hitl": r"Refund RF-[0-9A-F]{8} of 59\.00 USD was issued",
    "memory_agent": r"remembered: .*prefer email",
    "router": r"routed to billing.*\n(?s:.*)refund id: RF-",
    "supervisor": r"summary id: SUM-[0-9A-F]{8}.*status: published",
    "swarm": r"handoff shipping -> billing(?s:.*)refund id: RF-",
    "critique": r"Passed review in round \d",
    "plan_execute": r"update_runbook \(.*\): done",
    "reflexion": r"attempt 3: All \d+ tests passed",
    "pipeline": r"\[finish\]   Contract review packet(?s:.*)Questions for counsel",
    "parallel": r"Confidence: high \(3 of 3 specialists(?s:.*)Roll back checkout",
    "loop": r"Passed in round 2 of at most 3",
    "fraud_events": r"Event evt-demo-1: BLOCK(?s:.*)Card block: done",
    "debate": r"Recommendation: Launch a read-only offline mode",
    "orchestrator": r"Processing note: refund RF-[0-9A-F]{8} of 420\.00 USD issued",
    "research": r"ws4 \(Unit economics\) vs ws3\.1 \(Last-mile delivery\)",
}


def test_every_served_graph_has_a_scenario_and_an_expectation() -> None:
    from graphs.registry import GRAPH_BUILDERS

    assert set(SCENARIOS) == set(GRAPH_BUILDERS) == set(MEANINGFUL)


@pytest.mark.parametrize("graph_id", sorted(MEANINGFUL))
def test_each_pattern_demo_runs_its_own_scenario_to_a_meaningful_end(
    tmp_path: Path, graph_id: str
) -> None:
    result = cli(
        tmp_path,
        "demo",
        "--graph",
        graph_id,
        "--approve",
        "auto",
        "--checkpointer",
        sqlite(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    scenario = SCENARIOS[graph_id]
    assert f"{graph_id}: {scenario.shows}." in result.stdout
    assert f"[user] {scenario.question}" in result.stdout
    assert re.search(MEANINGFUL[graph_id], result.stdout), result.stdout[-2000:]
    assert " finished" in result.stdout


# -- 3. an empty question -------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_is_refused_not_replaced(tmp_path: Path, question: str) -> None:
    result = cli(tmp_path, "demo", question, "--checkpointer", sqlite(tmp_path))
    assert_one_line_error(result, "the question is empty")
    assert not (tmp_path / "effects.jsonl").exists()


# -- 4. resuming uses the thread's own graph -------------------------------------------------------


def test_a_thread_resumes_on_its_own_graph_and_refuses_another(tmp_path: Path) -> None:
    url = sqlite(tmp_path)
    first = cli(tmp_path, "demo", "--graph", "swarm", "--checkpointer", url)
    thread = re.search(r"--thread (demo-[0-9a-f]+)", first.stdout)
    assert first.returncode == 0 and thread is not None, first.stdout

    wrong = cli(
        tmp_path, "demo", "--thread", thread.group(1), "--graph", "react", "--checkpointer", url
    )
    assert_one_line_error(wrong, "belongs to graph 'swarm'", "not 'react'")

    resumed = cli(
        tmp_path, "demo", "--thread", thread.group(1), "--approve", "auto", "--checkpointer", url
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "refund id: RF-" in resumed.stdout and "finished" in resumed.stdout

    unknown = cli(
        tmp_path, "demo", "--thread", "demo-nope", "--approve", "auto", "--checkpointer", url
    )
    assert_one_line_error(unknown, "no thread 'demo-nope'")


# -- 5. the reviewer sees the evidence -----------------------------------------------------------


def test_the_terminal_reviewer_sees_the_recommendation_and_the_policys_reasons(
    tmp_path: Path,
) -> None:
    result = cli(tmp_path, "demo", "--graph", "hitl", "--checkpointer", sqlite(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "Model recommendation:" in result.stdout
    assert "Why a person must decide: fraud score 0.35 is above 0.10" in result.stdout


def test_a_plan_approval_is_shown_readably(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        "demo",
        "--graph",
        "plan_execute",
        "--checkpointer",
        sqlite(tmp_path),
    )
    gate = result.stdout.split("waiting for a person", 1)
    assert result.returncode == 0 and len(gate) == 2, result.stdout
    shown = gate[1].split("Stopped at the approval gate")[0]
    assert "  action: execute_plan" in shown and "  args:\n" in shown
    assert max(len(line) for line in shown.splitlines()) <= 110  # no 1,200-character line


# -- 7. history and a checkpointer that is not there ---------------------------------------------


def test_history_show_refuses_an_unknown_checkpoint_and_accepts_a_unique_prefix(
    tmp_path: Path,
) -> None:
    url = sqlite(tmp_path)
    first = cli(tmp_path, "demo", "Where is my order A-1002?", "--checkpointer", url)
    thread = re.search(r"Thread (demo-[0-9a-f]+)", first.stdout)
    assert first.returncode == 0 and thread is not None
    history = cli(tmp_path, "history", thread.group(1), "--checkpointer", url)
    checkpoint = re.findall(r"\s([0-9a-f-]{36})\s", history.stdout)[0]

    nope = cli(tmp_path, "history", thread.group(1), "--show", "nope", "--checkpointer", url)
    assert_one_line_error(nope, "'nope' matches no checkpoint")
    prefix = cli(
        tmp_path, "history", thread.group(1), "--show", checkpoint[:30], "--checkpointer", url
    )
    assert prefix.returncode == 0 and f"Checkpoint {checkpoint}" in prefix.stdout


@pytest.mark.parametrize(
    "command", [["approvals", "list"], ["approvals", "sweep"], ["audit", "t"], ["history", "t"]]
)
def test_a_mistyped_sqlite_path_is_an_error_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "cp.sqlite"
    result = cli(tmp_path, *command, "--checkpointer", f"sqlite:///{missing}")
    assert_one_line_error(result, "no checkpoint file at", "nothing was created")
    assert not (tmp_path / "no").exists()


# -- 8. what the terminal shows ------------------------------------------------------------------


def test_the_answer_is_printed_once_and_the_resume_hint_works_without_the_venv(
    tmp_path: Path,
) -> None:
    result = cli(tmp_path, "demo", "--checkpointer", sqlite(tmp_path))
    assert "-m cli demo --thread" in result.stdout and "agent-patterns demo" not in result.stdout

    answered = cli(
        tmp_path, "demo", "Where is my order A-1002?", "--checkpointer", sqlite(tmp_path)
    )
    streamed = answered.stdout.split("] answer: ", 1)[1].split("\n[", 1)[0].strip()
    assert streamed and answered.stdout.count(streamed) == 1


def test_the_router_gate_is_labelled_with_its_specialist(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", "--graph", "router", "--checkpointer", sqlite(tmp_path))
    assert "[billing/approval_gate] waiting for a person" in result.stdout
    assert result.stdout.count("waiting for a person") == 1


def _waiting_thread(url: str, **context: object) -> str:
    """A react thread with a UUID id whose refund waits at the gate."""
    thread = str(uuid.uuid4())
    with open_checkpointer(url) as saver:
        build_graph("react", checkpointer=saver).invoke(
            {"messages": [("user", "My order A-1001 arrived broken, please refund it.")]},
            {"configurable": {"thread_id": thread}},
            context={"model": "demo", **context},
        )
    return thread


def test_approvals_list_columns_hold_long_thread_ids_and_sweep_names_threads(
    tmp_path: Path,
) -> None:
    url = sqlite(tmp_path)
    expired = _waiting_thread(url, approval_timeout_s=0.001)
    waiting = _waiting_thread(url)
    time.sleep(0.01)

    listing = cli(tmp_path, "approvals", "list", "--checkpointer", url)
    lines = listing.stdout.splitlines()
    rows = [line for line in lines if line.startswith((expired, waiting))]
    assert len(rows) == 2, listing.stdout
    assert all(row.index(" react ") + 1 == lines[0].index("GRAPH") for row in rows)
    assert all(row.index("issue_refund") == lines[0].index("ACTION") for row in rows)

    swept = cli(tmp_path, "approvals", "sweep", "--checkpointer", url)
    assert swept.returncode == 0, swept.stderr
    assert f"Thread {expired} (react): issue_refund expired" in swept.stdout
    assert waiting not in swept.stdout
