"""Run crash-test workers: start one, SIGKILL it at its pause point, read its result and logs.

A worker (`graph_worker`, `swarm_worker`) prints ``PAUSED`` and blocks at the chosen point,
logs each completed step to ``steps.jsonl`` and its tools' side effects go to
``effects.jsonl`` in the case's directory; at the end it prints ``RESULT <json>``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.effects import EFFECTS_LOG_ENV

ROOT = Path(__file__).resolve().parents[2]


def start_worker(module: str, tmp: Path, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m tests.integration.<module>`` writing its logs under `tmp`."""
    env = {**os.environ, EFFECTS_LOG_ENV: str(tmp / "effects.jsonl"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", f"tests.integration.{module}"]
    return subprocess.Popen(
        [*command, *args, "--steps-log", str(tmp / "steps.jsonl")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """Wait for a worker and return its ``RESULT``; fail with its stderr if it failed."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err[-3000:]}"
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def kill_when_paused(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the worker as soon as it reports ``PAUSED``."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "PAUSED":
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            return
    _, err = proc.communicate()
    pytest.fail(f"worker ended without reaching the pause point:\n{err[-3000:]}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a log file (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class CrashRun:
    """A worker killed at its pause point, and the run a new worker resumed to its end.

    Attributes:
        killed_pid: the killed worker's pid.
        result: the resumed worker's ``RESULT``.
        log: both workers' ``steps.jsonl`` lines, in order.
    """

    killed_pid: int
    result: dict[str, Any]
    log: list[dict[str, Any]]

    def by_killed(self, key: str) -> list[Any]:
        """The values of `key` the killed worker logged, in order."""
        return [e[key] for e in self.log if key in e and e["pid"] == self.killed_pid]

    def by_resumed(self, key: str) -> list[Any]:
        """The values of `key` logged after the kill, by the resuming worker."""
        return [e[key] for e in self.log if key in e and e["pid"] != self.killed_pid]


def kill_then_resume(
    start: Callable[..., subprocess.Popen[str]], tmp: Path, *pause: str
) -> CrashRun:
    """Start a worker with `pause`, SIGKILL it there, finish the run with a new worker.

    Args:
        start: starts a worker with extra arguments (the pause point's, or none).
        tmp: the case's directory (its ``steps.jsonl`` is read).
        *pause: the arguments that make the first worker pause.
    """
    first = start(*pause)
    kill_when_paused(first)
    result = finish(start())
    return CrashRun(first.pid, result, read_jsonl(tmp / "steps.jsonl"))
