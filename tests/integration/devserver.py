"""Start and stop a real `langgraph dev` for tests (free port, own log, own environment)."""

from __future__ import annotations

import os
import signal
import socket
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

from tools.effects import EFFECTS_LOG_ENV

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).parent / "langgraph"
STARTUP_DEADLINE_S = 90.0
SHUTDOWN_GRACE_S = 15.0


@dataclass(frozen=True)
class DevServer:
    """A running `langgraph dev` and where to look when it misbehaves."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    effects_log: Path

    def explain(self, message: str, lines: int = 60) -> str:
        """`message` plus the tail of the server log, for assertion messages."""
        tail = "(no server log)"
        if self.log.exists():
            text = self.log.read_text(encoding="utf-8", errors="replace")
            tail = "\n".join(text.splitlines()[-lines:])
        return f"{message}\n--- langgraph dev log ({self.log}) ---\n{tail}"

    def refunds(self) -> list[str]:
        """Refund records the server's tools wrote."""
        if not self.effects_log.exists():
            return []
        lines = self.effects_log.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if '"kind": "refund"' in line]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(database_url: str, effects_log: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="true",
        LANGSMITH_TRACING="false",
        LANGGRAPH_STRICT_MSGPACK="true",
        DATABASE_URL=database_url,
    )
    env[EFFECTS_LOG_ENV] = str(effects_log)
    env["MEMORY_STORE_URL"] = str(effects_log.parent / "chroma")  # the store, per test
    env["MEMORY_EMBEDDINGS"] = "hash"
    for name in ("OPENAI_API_KEY", "AGENT_PATTERNS_MODEL", "CHECKPOINTER_URL"):
        env.pop(name, None)
    return env


def _answers_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/ok", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
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
def running_dev_server(
    database_url: str, workdir: Path, port: int | None = None
) -> Iterator[DevServer]:
    """Run `langgraph dev` from the project root, checkpointing to `database_url`.

    The server loads the graphs and the checkpointer hook from `langgraph.json`. Its tool side
    effects go to ``workdir/effects.jsonl`` and its output to ``workdir/langgraph-dev.log``
    (appended, so a restarted server keeps one log).
    """
    log_path = workdir / "langgraph-dev.log"
    effects_log = workdir / "effects.jsonl"
    url = f"http://127.0.0.1:{port or free_port()}"
    command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1"]
    command += ["--port", url.rsplit(":", 1)[1]]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=_server_env(database_url, effects_log),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DevServer(url, process, log_path, effects_log)
    try:
        started = time.monotonic()
        while not _answers_ok(url):
            if process.poll() is not None:
                pytest.fail(server.explain(f"langgraph dev exited with {process.returncode}"))
            if time.monotonic() - started > STARTUP_DEADLINE_S:
                pytest.fail(server.explain(f"no answer on /ok within {STARTUP_DEADLINE_S:.0f}s"))
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)
