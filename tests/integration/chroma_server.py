"""Start and stop a real Chroma server (`chroma run`) for tests: free port, own data dir, log."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.services import Service, free_port, running_service

CHROMA = Path(sys.executable).parent / "chroma"
STARTUP_DEADLINE_S = 60.0
SHUTDOWN_GRACE_S = 15.0


@contextmanager
def running_chroma_server(workdir: Path) -> Iterator[Service]:
    """Run ``chroma run`` on 127.0.0.1 and a free port until the block ends."""
    if not CHROMA.exists():
        pytest.skip(f"no `chroma` console script next to {sys.executable}")
    port = free_port()
    command = [str(CHROMA), "run", "--path", str(workdir / "data"), "--host", "127.0.0.1"]
    with running_service(
        "chroma run",
        [*command, "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        health_path="/api/v2/heartbeat",
        log=workdir / "chroma-run.log",
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"},
        deadline_s=60.0,
    ) as service:
        yield service
