"""OpenTelemetry spans from the events: one per run, node, model call and tool call.

A sink on `observability.events` turns each finished thing into a span after the fact (its
start is its end minus its ``latency_s``), so no code path holds a span open across LangGraph's
threads and async tasks. The spans nest by ids derived from the run and the LangGraph task:

- a run's trace id is its ``run_id`` (a UUID is 128 bits, like a trace id); its span is the
  root (``run_finished``, named after the pattern);
- a node's span (``node_finished``, named after the node) has an id derived from the run and
  its task's checkpoint namespace, and its parent is the run's span (a sub-agent's nodes too:
  their ``agent`` attribute names the sub-agent);
- a model or tool call's span (``model_call`` / ``tool_call``) is a child of its node's span;
  other events (approvals, budget stops, fallbacks, breaker changes, guardrails) become
  zero-length spans there too, except an approval request: its node waits for a person and
  has no span yet, so the request hangs off the run's span.

Attributes are the event's fields (the same as the JSON log lines), with personal data
redacted (`observability.redact`); a failed call's span has an error status. Spans go
to OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (``install_otel_spans()`` with no
exporter), or to the exporter given (tests use the SDK's ``InMemorySpanExporter``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from observability.events import Event, add_sink
from observability.redact import redact_fields

__all__ = ["SPAN_NAMES", "flush_otel_spans", "install_otel_spans", "span_for_event"]

SPAN_NAMES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "run_finished": lambda f: f"run {f.get('pattern') or f.get('graph_id') or 'graph'}",
    "node_finished": lambda f: f"node {f.get('node') or '?'}",
    "model_call": lambda f: f"model {f.get('model') or f.get('role') or '?'}",
    "tool_call": lambda f: f"tool {f.get('tool') or '?'}",
}
"""How an event kind names its span (other kinds: the kind itself)."""

_UNFINISHED = frozenset({"approval_requested"})
"""Kinds a node emits before it waits for a person (no node span yet: the run is the parent)."""

_ids = threading.local()
_providers: list[TracerProvider] = []


class _ChosenIds(IdGenerator):
    """Random ids, except the ones the sink chose for the span being started."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        chosen = getattr(_ids, "span_id", None)
        return chosen if chosen else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        chosen = getattr(_ids, "trace_id", None)
        return chosen if chosen else self._random.generate_trace_id()


def _span_id(*parts: str) -> int:
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") or 1


def _trace_id(run_id: str) -> int:
    try:
        return uuid.UUID(run_id).int or 1
    except ValueError:
        return int.from_bytes(hashlib.blake2b(run_id.encode(), digest_size=16).digest(), "big")


def _namespace() -> str:
    try:
        from langgraph.config import get_config

        return str((get_config().get("configurable") or {}).get("checkpoint_ns") or "")
    except Exception:  # outside a run
        return ""


def _placement(event: Event) -> tuple[int | None, int | None, int | None]:
    """(trace id, this span's id or None for random, parent span id or None for a root)."""
    run_id = event.fields.get("run_id")
    if not run_id:
        return None, None, None
    run = str(run_id)
    trace_id, root = _trace_id(run), _span_id(run)
    if event.kind == "run_finished":
        return trace_id, root, None
    tasks = [part for part in _namespace().split("|") if part]
    if event.kind == "node_finished":
        return trace_id, _span_id(run, "|".join(tasks)) if tasks else None, root
    if not tasks or event.kind in _UNFINISHED:
        return trace_id, None, root
    return trace_id, None, _span_id(run, "|".join(tasks))


def _attribute(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def span_for_event(event: Event, tracer: trace.Tracer) -> None:
    """Record one event as a span (see the module docs) on `tracer`."""
    fields = redact_fields({k: v for k, v in event.fields.items() if v is not None})
    end = int(datetime.fromisoformat(event.at.replace("Z", "+00:00")).timestamp() * 1e9)
    latency = fields.get("latency_s")
    start = end - int(float(latency) * 1e9) if isinstance(latency, int | float) else end
    trace_id, span_id, parent = _placement(event)
    context = None
    if trace_id is not None and parent is not None:
        parent_context = SpanContext(trace_id, parent, is_remote=True, trace_flags=TraceFlags(1))
        context = trace.set_span_in_context(NonRecordingSpan(parent_context))
    _ids.trace_id, _ids.span_id = trace_id, span_id
    try:
        name = SPAN_NAMES.get(event.kind, lambda f: event.kind)(fields)
        attributes = {k: _attribute(v) for k, v in fields.items()}
        span = tracer.start_span(
            name, context=context, start_time=start, attributes={"event": event.kind, **attributes}
        )
    finally:
        _ids.trace_id = _ids.span_id = None
    failed = fields.get("success") is False or fields.get("outcome") == "error"
    if failed:
        span.set_status(Status(StatusCode.ERROR, str(fields.get("error") or "failed")))
    span.end(end_time=max(end, start))


def install_otel_spans(
    exporter: SpanExporter | None = None, *, batch: bool | None = None
) -> Callable[[], None]:
    """Turn events into spans on a tracer provider of their own; returns the remover.

    Args:
        exporter: where spans go; None: OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (no
            endpoint: nothing is installed, and the remover does nothing).
        batch: batch the exports (default: only for the OTLP exporter).
    """
    if exporter is None:
        if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            return lambda: None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter, batch = OTLPSpanExporter(), True if batch is None else batch
    provider = TracerProvider(id_generator=_ChosenIds())
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("agent_patterns")
    _providers.append(provider)
    remove_sink = add_sink(lambda event: span_for_event(event, tracer))

    def remove() -> None:
        remove_sink()
        provider.force_flush()
        if provider in _providers:
            _providers.remove(provider)
        provider.shutdown()

    return remove


def flush_otel_spans(timeout_s: float = 5.0) -> None:
    """Export the spans still buffered by every installed provider."""
    deadline = time.monotonic() + timeout_s
    for provider in list(_providers):
        provider.force_flush(max(int((deadline - time.monotonic()) * 1000), 1))
