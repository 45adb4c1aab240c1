"""Start and stop a real Chroma server (`chroma run`) for tests: free port, own data dir, log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.devserver import free_port

CHROMA = Path(sys.executable).parent / "chroma"
STARTUP_DEADLINE_S = 60.0
SHUTDOWN_GRACE_S = 15.0


@dataclass(frozen=True)
class ChromaServer:
    """A running Chroma server."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def explain(self, message: str, lines: int = 40) -> str:
        """`message` plus the tail of the server log."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        tail = "\n".join(text.splitlines()[-lines:]) or "(empty log)"
        return f"{message}\n--- chroma run log ({self.log}) ---\n{tail}"


def _heartbeat(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def running_chroma_server(workdir: Path) -> Iterator[ChromaServer]:
    """Run ``chroma run`` on 127.0.0.1 and a free port until the block ends."""
    if not CHROMA.exists():
        pytest.skip(f"no `chroma` console script next to {sys.executable}")
    port = free_port()
    log_path = workdir / "chroma-run.log"
    command = [str(CHROMA), "run", "--path", str(workdir / "data"), "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ChromaServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        started = time.monotonic()
        while not _heartbeat(server.url):
            if process.poll() is not None:
                pytest.fail(server.explain(f"chroma run exited with {process.returncode}"))
            if time.monotonic() - started > STARTUP_DEADLINE_S:
                pytest.fail(server.explain(f"no heartbeat within {STARTUP_DEADLINE_S:.0f}s"))
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=SHUTDOWN_GRACE_S)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=SHUTDOWN_GRACE_S)
