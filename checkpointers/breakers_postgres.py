"""Circuit breakers in Postgres, shared by every process: ``agent_patterns_circuit_breakers``.

One row per breaker key (see `checkpointers.breakers`). Every transition is ONE statement,
committed at once (autocommit), with the database's clock (``now()``) for every time:

- admitting a call claims the half-open probe with an ``UPDATE ... WHERE state = 'open' AND
  opened_at <= now() - cooldown ... RETURNING``: when two processes race, the row lock makes
  the second re-check the condition against the first one's claim, so exactly one gets it;
- a failure is an ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` that appends ``now()`` to
  the row's failure times and trims them to the window in the same statement, so failures
  from several processes add up and the one that reaches the threshold opens the breaker;
- a success is an ``UPDATE`` that touches the row only when there is something to close or
  forget (a healthy breaker costs no write).
"""

from __future__ import annotations

from typing import Any

from checkpointers.breakers import Admission, BreakerState
from checkpointers.side_tables import PostgresSideTables

__all__ = ["BREAKER_TABLE", "PostgresBreakerStore", "state_from"]

BREAKER_TABLE = "agent_patterns_circuit_breakers"
_LOCK_KEY = 0x6272_6561_6B72  # "breakr"

_SCHEMA = [
    f"""
    CREATE TABLE IF NOT EXISTS {BREAKER_TABLE} (
        key              text          PRIMARY KEY,
        state            text          NOT NULL DEFAULT 'closed'
                                       CHECK (state IN ('closed', 'open', 'half_open')),
        failures         integer       NOT NULL DEFAULT 0,
        failure_times    timestamptz[] NOT NULL DEFAULT '{{}}',
        opened_at        timestamptz,
        probe_started_at timestamptz,
        last_error       text,
        updated_at       timestamptz   NOT NULL DEFAULT now()
    )"""
]
_COLUMNS = (
    "key, state, failures, failure_times, opened_at, probe_started_at, last_error, updated_at"
)
_ADMIT = f"""
WITH claimed AS (
    UPDATE {BREAKER_TABLE}
       SET state = 'half_open', probe_started_at = now(), updated_at = now()
     WHERE key = %(key)s
       AND ((state = 'open' AND opened_at <= now() - make_interval(secs => %(cooldown)s))
            OR (state = 'half_open' AND coalesce(probe_started_at, updated_at)
                                        <= now() - make_interval(secs => %(probe_timeout)s)))
    RETURNING {_COLUMNS}, true AS probe, 0.0::float8 AS retry_in_s
)
SELECT * FROM claimed
UNION ALL
SELECT {_COLUMNS}, false AS probe,
       greatest(0.0, extract(epoch FROM
           CASE WHEN state = 'open' THEN opened_at + make_interval(secs => %(cooldown)s)
                ELSE coalesce(probe_started_at, updated_at)
                     + make_interval(secs => %(probe_timeout)s) END - now()))::float8
  FROM {BREAKER_TABLE}
 WHERE key = %(key)s AND NOT EXISTS (SELECT 1 FROM claimed)
"""
_RECENT = """
    ARRAY(SELECT t FROM (SELECT t FROM unnest(b.failure_times || now()) AS t
                          WHERE t > now() - make_interval(secs => %(window)s)
                          ORDER BY t DESC LIMIT %(threshold)s) AS latest ORDER BY t)"""
_FAILURE = f"""
INSERT INTO {BREAKER_TABLE} AS b
       (key, state, failures, failure_times, opened_at, last_error, updated_at)
VALUES (%(key)s, CASE WHEN %(threshold)s <= 1 THEN 'open' ELSE 'closed' END, 1, ARRAY[now()],
        CASE WHEN %(threshold)s <= 1 THEN now() END, %(error)s, now())
ON CONFLICT (key) DO UPDATE SET
       (state, failures, failure_times, opened_at, probe_started_at, last_error, updated_at) = (
    SELECT CASE WHEN n.opens THEN 'open' ELSE b.state END,
           cardinality(n.times),
           n.times,
           CASE WHEN n.opens THEN now() ELSE b.opened_at END,
           CASE WHEN n.opens THEN NULL ELSE b.probe_started_at END,
           EXCLUDED.last_error,
           now()
      FROM (SELECT r.times,
                   b.state = 'half_open'
                   OR (b.state = 'closed' AND cardinality(r.times) >= %(threshold)s) AS opens
              FROM (SELECT {_RECENT} AS times) AS r) AS n
)
RETURNING {_COLUMNS}
"""
_SUCCESS = f"""
UPDATE {BREAKER_TABLE}
   SET state = 'closed', failures = 0, failure_times = '{{}}', opened_at = NULL,
       probe_started_at = NULL, updated_at = now()
 WHERE key = %s AND (state = 'half_open' OR (state = 'closed' AND cardinality(failure_times) > 0))
RETURNING {_COLUMNS}
"""


def state_from(row: dict[str, Any]) -> BreakerState:
    """A `BreakerState` from a database row (a mapping of column to value)."""
    return BreakerState(
        key=row["key"],
        state=row["state"],
        failures=int(row["failures"]),
        opened_at=row["opened_at"],
        probe_started_at=row["probe_started_at"],
        last_error=row["last_error"],
        updated_at=row["updated_at"],
        failure_times=tuple(row["failure_times"] or ()),
    )


class PostgresBreakerStore:
    """Breakers in a Postgres table (see the module docs and `checkpointers.breakers`).

    Args:
        conninfo: a ``postgresql://`` URL; the store opens a small pool of its own.
    """

    def __init__(self, conninfo: str) -> None:
        self._tables = PostgresSideTables(_SCHEMA, _LOCK_KEY, conninfo)
        self._connection = self._tables.connection

    def admit(self, key: str, *, cooldown_s: float, probe_timeout_s: float) -> Admission:
        """See `checkpointers.breakers.BreakerStore.admit`."""
        params = {
            "key": key,
            "cooldown": float(cooldown_s),
            "probe_timeout": float(probe_timeout_s),
        }
        with self._connection() as conn:
            row = conn.execute(_ADMIT, params).fetchone()
        if row is None:
            return Admission(allowed=True)
        state = state_from(row)
        if row["probe"]:
            return Admission(allowed=True, probe=True, state=state)
        if state.state == "closed":
            return Admission(allowed=True, state=state)
        # 0 s left yet not claimed: another process claimed the probe during this statement
        retry_in_s = float(row["retry_in_s"]) or float(probe_timeout_s)
        return Admission(allowed=False, retry_in_s=retry_in_s, state=state)

    def record_failure(
        self, key: str, error: str, *, threshold: int, window_s: float
    ) -> BreakerState:
        """See `checkpointers.breakers.BreakerStore.record_failure`."""
        params = {
            "key": key,
            "error": error,
            "threshold": int(threshold),
            "window": float(window_s),
        }
        with self._connection() as conn:
            return state_from(conn.execute(_FAILURE, params).fetchone())

    def record_success(self, key: str) -> BreakerState | None:
        """See `checkpointers.breakers.BreakerStore.record_success`."""
        with self._connection() as conn:
            row = conn.execute(_SUCCESS, (key,)).fetchone()
        return None if row is None else state_from(row)

    def states(self) -> list[BreakerState]:
        """See `checkpointers.breakers.BreakerStore.states`."""
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM {BREAKER_TABLE} ORDER BY key").fetchall()
        return [state_from(r) for r in rows]

    def reset(self, key: str) -> bool:
        """See `checkpointers.breakers.BreakerStore.reset`."""
        with self._connection() as conn:
            found = conn.execute(
                f"DELETE FROM {BREAKER_TABLE} WHERE key = %s RETURNING key", (key,)
            ).fetchone()
        return found is not None

    def close(self) -> None:
        """Close the store's pool."""
        self._tables.close()
