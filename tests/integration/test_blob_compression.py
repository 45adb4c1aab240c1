"""lz4 TOAST compression on the Postgres saver's blob columns (`checkpointers.factory`)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from checkpointers import open_checkpointer, setup_postgres
from checkpointers.factory import compress_blobs

pytestmark = pytest.mark.postgres

_METHODS = (
    "SELECT attrelid::regclass::text AS tab, attcompression AS method FROM pg_attribute "
    "WHERE attname = 'blob' AND attrelid IN ('checkpoint_blobs'::regclass, "
    "'checkpoint_writes'::regclass) ORDER BY 1"
)


def test_setup_switches_the_blob_columns_to_lz4_once(postgres_url: str) -> None:
    with open_checkpointer(postgres_url):
        pass
    setup_postgres(postgres_url)  # again: nothing left to alter, no error
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(_METHODS).fetchall()
    assert rows == [("checkpoint_blobs", "l"), ("checkpoint_writes", "l")]


class _NoLz4:
    """A connection to a server built without lz4: the ALTER fails."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, query: str, params: Any = None) -> Any:
        self.statements.append(query)
        if query.startswith("ALTER"):
            raise psycopg.errors.FeatureNotSupported("compression method lz4 not supported")
        return self

    def fetchone(self) -> dict[str, str]:
        return {"method": ""}


def test_a_server_without_lz4_keeps_its_default_with_a_notice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = _NoLz4()
    with caplog.at_level(logging.INFO, logger="checkpointers.factory"):
        compress_blobs(conn)  # type: ignore[arg-type]
    assert any(s.startswith("ALTER TABLE checkpoint_blobs") for s in conn.statements)
    assert "no lz4" in caplog.text
