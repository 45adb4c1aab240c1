"""Run a server process for a test: free port, own log, health polling, clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SHUTDOWN_GRACE_S = 15.0


@dataclass(frozen=True)
class Service:
    """A running server process and where to look when it misbehaves."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def explain(self, message: str, lines: int = 60) -> str:
        """`message` plus the tail of the server log, for assertion messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        tail = "\n".join(text.splitlines()[-lines:]) or "(empty log)"
        return f"{message}\n--- {self.name} log ({self.log}) ---\n{tail}"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ok(url: str) -> bool:
    """Whether GET `url` answers 200 (no proxy: these servers are local)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=SHUTDOWN_GRACE_S)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=SHUTDOWN_GRACE_S)


@contextmanager
def running_service(
    name: str,
    command: list[str],
    *,
    url: str,
    health_path: str,
    log: Path,
    env: dict[str, str],
    cwd: Path | None = None,
    deadline_s: float = 90.0,
) -> Iterator[Service]:
    """Start `command`, wait until `url + health_path` answers, yield, then stop it.

    The log is appended to, so a restarted service keeps one log. Fails the test (with the
    log's tail) if the process exits or does not answer within `deadline_s`.
    """
    with log.open("ab") as handle:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(name, url, process, log)
    try:
        started = time.monotonic()
        while not answers_ok(url + health_path):
            if process.poll() is not None:
                pytest.fail(service.explain(f"{name} exited with {process.returncode}"))
            if time.monotonic() - started > deadline_s:
                pytest.fail(service.explain(f"{name} did not answer within {deadline_s:.0f}s"))
            time.sleep(0.2)
        yield service
    finally:
        stop(process)
