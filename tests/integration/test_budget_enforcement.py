"""Per-user caps hold across processes: a daily cap reached in one stops the next run in another.

Two worker processes (`tests.integration.budget_worker`) share one Postgres database, the way
two server replicas or two workers would. The operator sets alice's daily token cap with the
CLI; her first run (process A) spends past it; her second run (process B) stops before its
first model call with a message naming the cap, and bob, uncapped, is not affected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.__main__ import main as cli_main

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def _run_as(url: str, user: str, thread: str) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.budget_worker",
            "--url",
            url,
            "--user",
            user,
            "--thread",
            thread,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def test_a_daily_cap_reached_in_one_process_stops_the_next_run_in_another(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli_main(
            [
                "budgets",
                "set",
                "--user",
                "alice",
                "--daily-tokens",
                "100",
                "--checkpointer",
                postgres_url,
            ]
        )
        == 0
    )
    first = _run_as(postgres_url, "alice", "alice-1")
    assert first["usage"]["total_tokens"] >= 100  # spent past the cap (checked before calls)

    second = _run_as(postgres_url, "alice", "alice-2")
    assert second["name"] == "budget"
    assert "daily token cap of user alice" in second["text"]
    assert second["usage"]["calls"] == 0  # stopped before its first model call
    assert second["run_stop"]["detail"]["scope"] == "user:alice"

    other = _run_as(postgres_url, "bob", "bob-1")
    assert other["name"] != "budget" and other["usage"]["calls"] >= 1

    capsys.readouterr()
    assert cli_main(["budgets", "show", "--user", "alice", "--checkpointer", postgres_url]) == 0
    shown = capsys.readouterr().out
    assert "user:alice" in shown and "100" in shown
