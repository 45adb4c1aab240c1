"""The fraud agent's audit log of decisions: table ``fraud_decision_audit``, one row per event.

Written by the event consumer (`workers.events`) before a decision is published, and marked
published once the broker confirmed it; read by ``agent-patterns events decisions``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from workers.locks import THREAD_LOCK_NAMESPACE

__all__ = ["DecisionAudit"]

_SETUP_LOCK_KEY = 0x6672_6175_6461_7564  # "fraudaud": serialises the audit table's creation


class DecisionAudit:
    """The audit log of decisions: table ``fraud_decision_audit``, one row per event id.

    Args:
        url: the Postgres URL (the checkpoints' database).
    """

    DDL = """
        CREATE TABLE IF NOT EXISTS fraud_decision_audit (
            event_id text PRIMARY KEY,
            action text NOT NULL,
            outcome text NOT NULL,
            decision jsonb NOT NULL,
            consumer text NOT NULL,
            decided_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        )
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        with self._conn.transaction():  # consumers starting together: one creates the table
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK_KEY,))
            self._conn.execute(self.DDL)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The event's audit row, or None."""
        sql = "SELECT * FROM fraud_decision_audit WHERE event_id = %s"
        return self._conn.execute(sql, (event_id,)).fetchone()

    def record(self, decision: Mapping[str, Any], consumer: str) -> dict[str, Any]:
        """Insert the decision (a second insert for the same event keeps the first)."""
        self._conn.execute(
            "INSERT INTO fraud_decision_audit (event_id, action, outcome, decision, consumer) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
            (
                decision["event_id"],
                decision["action"],
                decision["outcome"],
                Jsonb(dict(decision)),
                consumer,
            ),
        )
        row = self.get(decision["event_id"])
        assert row is not None
        return row

    def mark_published(self, event_id: str) -> None:
        """Record that the decision was confirmed by the broker."""
        sql = "UPDATE fraud_decision_audit SET published_at = now() WHERE event_id = %s"
        self._conn.execute(sql, (event_id,))

    def rows(self, limit: int = 100_000) -> list[dict[str, Any]]:
        """The latest decisions, newest first."""
        sql = "SELECT * FROM fraud_decision_audit ORDER BY decided_at DESC, event_id LIMIT %s"
        return self._conn.execute(sql, (limit,)).fetchall()

    @contextmanager
    def event_lock(self, event_id: str) -> Iterator[None]:
        """Hold the event's thread lock (waits while another session holds it).

        The key is the workers' thread lock (`workers.locks`), so a Celery worker resuming
        the thread (an approved block) and a consumer never run it at once.
        """
        key = (THREAD_LOCK_NAMESPACE, event_id)
        self._conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", key)
        try:
            yield
        finally:
            self._conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)
