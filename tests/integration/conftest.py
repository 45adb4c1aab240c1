"""Fixtures shared by the integration tests: one Postgres-backed `langgraph dev` per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import fresh_database
from tests.integration.devserver import DevServer, running_dev_server


@pytest.fixture(scope="session")
def server_database() -> Iterator[str]:
    """A database for the shared server (conftest's `postgres_url` is per test)."""
    with fresh_database("ap_server") as url:
        yield url


@pytest.fixture(scope="session")
def dev_server(
    server_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevServer]:
    """`langgraph dev` on a free port serving every graph, checkpointing to `server_database`."""
    with running_dev_server(server_database, tmp_path_factory.mktemp("langgraph-dev")) as server:
        yield server
