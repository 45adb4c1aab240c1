"""Where the workers find their broker and database: environment names and defaults.

Free of Celery, so the CLI can name them (help texts, checks) without the ``[workers]`` extra.
"""

from __future__ import annotations

import os

__all__ = [
    "BROKER_URL_ENV",
    "DATABASE_URL_ENV",
    "DEFAULT_BROKER_URL",
    "DEFAULT_QUEUE",
    "broker_url",
    "database_url",
]

BROKER_URL_ENV = "AGENT_PATTERNS_BROKER_URL"
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
DATABASE_URL_ENV = "DATABASE_URL"
DEFAULT_QUEUE = "agent_patterns"
"""The queue runs go to when submitted without a queue (pool label)."""


def broker_url() -> str:
    """``AGENT_PATTERNS_BROKER_URL``, else the local RabbitMQ with the guest account."""
    return os.environ.get(BROKER_URL_ENV) or DEFAULT_BROKER_URL


def database_url() -> str:
    """``DATABASE_URL``: the Postgres database of the checkpoints and the run-status table.

    Raises:
        ValueError: it is not set, or not a ``postgresql://`` URL.
    """
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            "workers need Postgres: set DATABASE_URL=postgresql://user@host:5432/db "
            f"(got {url or 'nothing'!r})"
        )
    return url
