"""Shared fixtures: environment, Postgres databases per test, effect logs, the test server.

Postgres comes from ``DATABASE_URL`` or the local server at 127.0.0.1:5432. Each test that asks
for `postgres_url` gets a database of its own, dropped afterwards. When no server answers the
Postgres tests are skipped with a loud notice, except under ``CI=true``, where they fail.

`dev_server` is ONE authenticated `langgraph dev` per session, shared by tests/integration and
tests/security: Postgres checkpoints (`server_database`), the project's auth with the users of
`tests.integration.devserver.TEST_USERS`; `.client(user)`, `.headers(user)`, `.url`, and
`.refunds()` / `.effects_log` (the payment log of its tools).
"""

from __future__ import annotations

import os

# Before anything imports LangGraph: strict checkpoint deserialisation, no tracing (offline).
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("AGENT_PATTERNS_MODEL", None)

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from demo.effects import EFFECTS_LOG_ENV

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_postgres_problem: str | None = None


def admin_url() -> str:
    """Where to create per-test databases."""
    return os.environ.get("DATABASE_URL") or DEFAULT_ADMIN_URL


def database_url(name: str) -> str:
    """The admin URL pointed at another database on the same server."""
    parts = urlsplit(admin_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(admin_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def pytest_configure(config: pytest.Config) -> None:
    global _postgres_problem
    _postgres_problem = _postgres_reachable()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _postgres_problem:
        terminalreporter.write_sep(
            "!",
            f"POSTGRES TESTS SKIPPED: no server at {admin_url()} ({_postgres_problem})",
            red=True,
            bold=True,
        )


def require_postgres() -> None:
    """Skip (locally) or fail (under CI=true) when Postgres does not answer."""
    if _postgres_problem is None:
        return
    message = f"PostgreSQL not reachable at {admin_url()}: {_postgres_problem}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: Postgres tests may not be skipped)")
    pytest.skip(message)


@contextmanager
def fresh_database(prefix: str = "ap_test") -> Iterator[str]:
    """Create an empty database on the test server; yield its URL; drop it afterwards."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database for this test; dropped afterwards."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def server_database() -> Iterator[str]:
    """A database for the shared server (`postgres_url` is per test)."""
    with fresh_database("ap_server") as url:
        yield url


@pytest.fixture(scope="session")
def session_dev_server(
    server_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The session's authenticated `langgraph dev` (a `tests.integration.devserver.DevServer`)."""
    from tests.integration.devserver import running_dev_server

    with running_dev_server(server_database, tmp_path_factory.mktemp("langgraph-dev")) as server:
        yield server


@pytest.fixture
def dev_server(session_dev_server: Any) -> Any:
    """The session's server, with an empty payment log for this test (see `fresh_payment_log`)."""
    session_dev_server.fresh_payment_log()
    return session_dev_server


@pytest.fixture
def effects_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send the demo tools' side effects to a file (visible to subprocesses too)."""
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv(EFFECTS_LOG_ENV, str(path))
    return path


@pytest.fixture(autouse=True)
def _clean_memory_effects() -> Iterator[None]:
    from demo.effects import clear_effects

    if not os.environ.get(EFFECTS_LOG_ENV):
        clear_effects()
    yield
