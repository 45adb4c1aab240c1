"""Tracing, switched on with one setting: ``AGENT_PATTERNS_TRACING=langsmith|otel|off``.

- ``langsmith``: LangChain's LangSmith tracer records every run (the graph, each node, each
  model and tool call) and sends it to ``LANGSMITH_ENDPOINT`` with ``LANGSMITH_API_KEY``
  (project ``LANGSMITH_PROJECT``). ``LANGSMITH_TRACING=true`` alone means the same when
  ``AGENT_PATTERNS_TRACING`` is unset. The client the tracer uses redacts personal data
  (`guardrails.pii.redact_value`) from inputs, outputs, errors and metadata before anything
  leaves the process. The graphs add the run names, tags and metadata (`graphs._tracing`).
- ``otel``: OpenTelemetry spans, one per run, node, model call and tool call, built from the
  events (`observability.otel_spans`); exported over OTLP/HTTP when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
- ``off`` (the default): nothing is traced; an explicit ``off`` also turns LangSmith tracing
  off when ``LANGSMITH_TRACING`` says true.

`configure_tracing` applies the setting once per process (the graphs, the CLI and the server
call it at import, `observability.setup`). Call `flush_traces` before a short-lived process
exits so the last runs are sent.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal, cast, get_args

__all__ = [
    "TRACING_ENV",
    "TracingMode",
    "configure_tracing",
    "flush_traces",
    "redact_trace",
    "tracing_mode",
]

TRACING_ENV = "AGENT_PATTERNS_TRACING"
"""The environment variable that turns tracing on."""

TracingMode = Literal["off", "langsmith", "otel"]
_MODES: tuple[str, ...] = get_args(TracingMode)
_TRUE = ("1", "true", "yes", "on")

_lock = threading.Lock()
_configured: TracingMode | None = None


def tracing_mode(environ: dict[str, str] | None = None) -> TracingMode:
    """The tracing the environment asks for (see the module docs).

    Args:
        environ: the environment to read (default ``os.environ``).

    Raises:
        ValueError: ``AGENT_PATTERNS_TRACING`` holds something else than the allowed values.
    """
    env = os.environ if environ is None else environ
    raw = env.get(TRACING_ENV, "").strip().lower()
    if raw:
        if raw not in _MODES:
            allowed = ", ".join(_MODES)
            raise ValueError(f"{TRACING_ENV}={env.get(TRACING_ENV)!r} is not one of {allowed}")
        return cast(TracingMode, raw)
    for name in ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2"):
        if env.get(name, "").strip().lower() in _TRUE:
            return "langsmith"
    return "off"


def redact_trace(data: Any) -> Any:
    """A trace payload with personal data replaced by its kind (``[email]``, ``[card]``)."""
    from guardrails.pii import redact_value

    return redact_value(data)


def configure_tracing() -> TracingMode:
    """Apply the tracing setting to this process once (later calls return the same mode).

    Raises:
        ValueError: an invalid ``AGENT_PATTERNS_TRACING`` (naming the allowed values).
    """
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        mode = tracing_mode()
        if mode == "langsmith":
            _configure_langsmith()
        elif mode == "otel":
            from observability.otel_spans import install_otel_spans

            install_otel_spans()
        elif os.environ.get(TRACING_ENV, "").strip():  # an explicit off wins over LangSmith's
            os.environ["LANGSMITH_TRACING"] = "false"
        _configured = mode
        return mode


def _configure_langsmith() -> None:
    """Trace to LangSmith through a client that redacts personal data first."""
    import langsmith

    class RedactingClient(langsmith.Client):
        """A LangSmith client that redacts every free text of a run before sending it.

        The anonymizer covers inputs, outputs, errors and metadata; `_run_transform` adds
        what it does not see: a model's serialized arguments, its invocation parameters,
        streamed events.
        """

        def _run_transform(self, run: Any, update: bool = False, copy: bool = False) -> dict:
            transformed = super()._run_transform(run, update=update, copy=copy)
            for key in ("serialized", "events"):
                if transformed.get(key):
                    transformed[key] = redact_trace(transformed[key])
            extra = transformed.get("extra")
            if isinstance(extra, dict):
                for key, value in list(extra.items()):
                    if key not in ("metadata", "runtime"):
                        extra[key] = redact_trace(value)
            return transformed

    os.environ["LANGSMITH_TRACING"] = "true"
    client = RedactingClient(anonymizer=redact_trace)
    langsmith.configure(client=client, enabled=True)


def flush_traces() -> None:
    """Send what the tracers still hold (LangSmith's queue, the OpenTelemetry spans)."""
    from langchain_core.tracers.langchain import wait_for_all_tracers

    wait_for_all_tracers()
    from observability.otel_spans import flush_otel_spans

    flush_otel_spans()
