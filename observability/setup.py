"""Observability from the environment, once per process: `configure_observability`.

The graphs package calls it at import, so the CLI, notebooks, workers and the LangGraph server
(which imports the graphs) all get the same behaviour from the same settings:

- ``AGENT_PATTERNS_LOG=off|human|json`` — structured log lines on stderr (`observability.logs`);
- ``AGENT_PATTERNS_TRACING=langsmith|otel|off`` — traces (`observability.tracing`).

An invalid value stops the import with an error naming the allowed values.
"""

from __future__ import annotations

from observability.logs import install_log_sink
from observability.tracing import configure_tracing

__all__ = ["configure_observability"]


def configure_observability() -> None:
    """Install the log sink and the tracing the environment asks for (idempotent).

    Raises:
        ValueError: ``AGENT_PATTERNS_LOG`` or ``AGENT_PATTERNS_TRACING`` holds an invalid value.
    """
    install_log_sink()
    configure_tracing()
