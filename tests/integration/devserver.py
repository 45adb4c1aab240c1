"""Start and stop a real `langgraph dev` for tests (free port, own log, own environment).

Every test server runs with the project's auth (`server/auth.py`) and four constant test
users (`TEST_USERS`): alice and bob (role ``user``), rita (``reviewer``) and root
(``admin``). `DevServer.client(user)` is an SDK client sending that user's bearer token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from demo.effects import EFFECTS_LOG_ENV
from server.serve import prepare
from tests.integration.services import Service, free_port, running_service

__all__ = [
    "TEST_CORS_ORIGIN",
    "TEST_JWT_SECRET",
    "TEST_USERS",
    "DevServer",
    "free_port",
    "running_dev_server",
    "tokens_env_value",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).parent / "langgraph"

TEST_USERS: dict[str, tuple[str, str]] = {
    "alice": ("test-token-alice-0123456789", "user"),
    "bob": ("test-token-bob-0123456789", "user"),
    "rita": ("test-token-rita-0123456789", "reviewer"),
    "root": ("test-token-root-0123456789", "admin"),
}
"""user id -> (bearer token, role) of the users every test server knows."""

TEST_JWT_SECRET = "test-jwt-secret-0123456789-0123456789-abcdef"
"""The HS256 secret of every test server (``AGENT_PATTERNS_JWT_SECRET``)."""

TEST_CORS_ORIGIN = "https://app.example.test"
"""The one origin every test server allows (``AGENT_PATTERNS_CORS_ORIGINS``)."""


def tokens_env_value() -> str:
    """``AGENT_PATTERNS_TOKENS`` for `TEST_USERS`."""
    return ",".join(f"{token}={user}:{role}" for user, (token, role) in TEST_USERS.items())


@dataclass(frozen=True)
class DevServer:
    """A running `langgraph dev`, and the file its tools' side effects go to."""

    service: Service
    effects_log: Path

    @property
    def url(self) -> str:
        """Base URL for `langgraph_sdk.get_client`."""
        return self.service.url

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The server process."""
        return self.service.process

    def explain(self, message: str) -> str:
        """`message` plus the tail of the server log, for assertion messages."""
        return self.service.explain(message)

    def headers(self, user: str) -> dict[str, str]:
        """The ``Authorization`` header of a `TEST_USERS` user."""
        return {"Authorization": f"Bearer {TEST_USERS[user][0]}"}

    def client(self, user: str) -> LangGraphClient:
        """An SDK client authenticated as `user` (use it as ``async with``)."""
        return get_client(url=self.url, api_key=None, headers=self.headers(user))

    def fresh_payment_log(self) -> None:
        """Start an empty payment log (the old one is kept as ``effects.<n>.jsonl``).

        The demo payment system refuses a second refund of an order found in its log, so
        tests sharing one server start each with an empty log, as with a fresh server.
        """
        if self.effects_log.exists():
            done = len(list(self.effects_log.parent.glob("effects.*.jsonl")))
            self.effects_log.rename(self.effects_log.with_name(f"effects.{done + 1}.jsonl"))

    def refunds(self) -> list[str]:
        """Refund records the server's tools wrote."""
        if not self.effects_log.exists():
            return []
        lines = self.effects_log.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if '"kind": "refund"' in line]


def _server_env(
    database_url: str, effects_log: Path, extra: dict[str, str] | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_PATTERNS_")}
    env.update(
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="true",
        LANGSMITH_TRACING="false",
        LANGGRAPH_STRICT_MSGPACK="true",
        DATABASE_URL=database_url,
        MEMORY_STORE_URL=str(effects_log.parent / "chroma"),  # the store, per test
        MEMORY_EMBEDDINGS="hash",
    )
    env[EFFECTS_LOG_ENV] = str(effects_log)
    env["AGENT_PATTERNS_TOKENS"] = tokens_env_value()
    env["AGENT_PATTERNS_JWT_SECRET"] = TEST_JWT_SECRET
    env["AGENT_PATTERNS_CORS_ORIGINS"] = TEST_CORS_ORIGIN
    env.update(extra or {})
    for name in ("OPENAI_API_KEY", "AGENT_PATTERNS_MODEL", "CHECKPOINTER_URL"):
        env.pop(name, None)
    env, _ = prepare(["--host", "127.0.0.1"], env)  # what `make serve` checks and maps
    return env


def _config_in(workdir: Path) -> Path:
    """The project's `langgraph.json`, its paths made absolute, written to `workdir`.

    `langgraph dev` keeps its thread and run records in ``.langgraph_api/`` under its working
    directory and writes them back from time to time; two servers in one directory (the
    session's server and a test's own) overwrite each other's records, and a thread one of
    them created goes missing. Each server runs in its own directory; a restarted server
    reuses its predecessor's directory, so it finds the threads again.
    """
    config = json.loads((PROJECT_ROOT / "langgraph.json").read_text(encoding="utf-8"))

    def absolute(path: str) -> str:
        return str(PROJECT_ROOT / path) if path.startswith("./") else path

    for entry in (*config["graphs"].values(), config["checkpointer"], config["store"]):
        entry["path"] = absolute(entry["path"])
    config["auth"]["path"] = absolute(config["auth"]["path"])
    config["http"]["app"] = absolute(config["http"]["app"])
    config["dependencies"] = [str(PROJECT_ROOT)]
    path = workdir / "langgraph.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@contextmanager
def running_dev_server(
    database_url: str,
    workdir: Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[DevServer]:
    """Run `langgraph dev` in `workdir` on the project's graphs, checkpointing to `database_url`.

    The server loads the graphs, the checkpointer and the store hooks from `langgraph.json`.
    Its tool side effects go to ``workdir/effects.jsonl``, its memories to ``workdir/chroma``
    and its output to ``workdir/langgraph-dev.log`` (appended, so a restart keeps one log).
    It authenticates `TEST_USERS` and HS256 JWTs signed with `TEST_JWT_SECRET`, allows CORS
    from `TEST_CORS_ORIGIN`, and goes through `server.serve.prepare` as `make serve` does;
    `env` adds or overrides server variables (an operator policy, CORS origins).
    ``AGENT_PATTERNS_*`` variables of the test process do not leak in.
    """
    effects_log = workdir / "effects.jsonl"
    port = port or free_port()
    command = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1"]
    command += ["--config", str(_config_in(workdir))]
    with running_service(
        "langgraph dev",
        [*command, "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        health_path="/ok",
        log=workdir / "langgraph-dev.log",
        env=_server_env(database_url, effects_log, env),
        cwd=workdir,
    ) as service:
        yield DevServer(service, effects_log)
