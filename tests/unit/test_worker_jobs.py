"""The workers import no operations code, yet the worker the CLI starts runs the beat's jobs.

`workers.beat` names the scheduled jobs; `ops.worker_jobs` registers them on the workers'
app (ops sits above workers: docs/architecture.md "Layers"). Each check runs in a fresh
interpreter, so what one test imported cannot register a task for another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers.beat import RETENTION_TASK, SWEEP_TASK, beat_schedule

ROOT = Path(__file__).resolve().parents[2]

_WORKER_APP = """
import json, sys
from celery import Celery

def report(app, argv=None):
    tasks = sorted(name for name in app.tasks if not name.startswith("celery."))
    schedule = sorted(entry["task"] for entry in app.conf.beat_schedule.values())
    print(json.dumps({"tasks": tasks, "schedule": schedule}))

Celery.worker_main = report
from cli.__main__ import main
main(["worker", "--pool", "solo"])
"""


def _python(code: str) -> str:
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:5432/unused"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_workers_load_no_operations_code() -> None:
    code = (
        "import sys\n"
        "import workers.app, workers.tasks, workers.events, workers.api, workers.dead_letter\n"
        "print(sorted(m for m in sys.modules if m == 'ops' or m.startswith('ops.')))\n"
    )
    assert _python(code) == "[]"


def test_the_worker_the_cli_starts_runs_every_scheduled_job() -> None:
    seen = json.loads(_python(_WORKER_APP))

    assert seen["schedule"] == sorted([RETENTION_TASK, SWEEP_TASK])
    assert set(seen["schedule"]) <= set(seen["tasks"])


def test_the_schedule_reads_its_intervals_and_refuses_bad_ones() -> None:
    both = beat_schedule({})
    assert {name: entry["schedule"] for name, entry in both.items()} == {
        "agent-patterns-retention": 86_400.0,
        "agent-patterns-dlq-sweep": 300.0,
    }
    off = {"AGENT_PATTERNS_RETENTION_EVERY_S": "0", "AGENT_PATTERNS_DLQ_SWEEP_EVERY_S": "60"}
    assert beat_schedule(off) == {
        "agent-patterns-dlq-sweep": {"task": SWEEP_TASK, "schedule": 60.0}
    }


@pytest.mark.parametrize(
    ("bad", "message"), [("-1", "must not be negative"), ("hourly", "seconds")]
)
def test_a_bad_interval_is_refused(bad: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        beat_schedule({"AGENT_PATTERNS_DLQ_SWEEP_EVERY_S": bad})
