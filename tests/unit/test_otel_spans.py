"""OpenTelemetry spans from the events: a run's spans nest run > node > model/tool call, carry
the log lines' attributes, redact personal data and mark failures."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from demo.orders import order_tools
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from observability.events import emit
from observability.otel_spans import flush_otel_spans, install_otel_spans

EMAIL = "jane.doe@example.com"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    remove = install_otel_spans(spans)
    yield spans
    remove()


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found


def test_a_run_becomes_nested_spans_with_the_log_attributes(
    exporter: InMemorySpanExporter,
) -> None:
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("lookup_order", {"order_id": "A-1001"})), "Delivered."]
    )
    graph = build_react_graph(model=model, tools=order_tools(), checkpointer=InMemorySaver())
    config: Any = {
        "configurable": {"thread_id": f"t-{uuid.uuid4().hex[:6]}", "langgraph_auth_user_id": EMAIL}
    }
    graph.invoke({"messages": [HumanMessage(f"Where is A-1001? {EMAIL}")]}, config)

    spans = _by_name(exporter.get_finished_spans())
    [run] = spans["run react"]
    assert run.parent is None and run.attributes is not None
    assert run.attributes["outcome"] == "success" and run.attributes["pattern"] == "react"
    run_id = str(run.attributes["run_id"])
    assert run.context is not None and run.context.trace_id == uuid.UUID(run_id).int
    nodes = spans["node call_model"] + spans["node run_tools"]
    assert len(nodes) == 3
    for node in nodes:
        assert node.parent is not None and node.parent.span_id == run.context.span_id
        assert node.context is not None and node.context.trace_id == run.context.trace_id
        assert node.start_time is not None and node.end_time is not None
        assert node.start_time <= node.end_time
    [tool] = spans["tool lookup_order"]
    [tools_node] = spans["node run_tools"]
    assert tool.parent is not None and tools_node.context is not None
    assert tool.parent.span_id == tools_node.context.span_id  # the call nests in its node
    assert tool.attributes is not None
    assert tool.attributes["success"] is True and tool.attributes["side_effect"] is False
    assert tool.attributes["thread_id"] == config["configurable"]["thread_id"]
    assert tool.attributes["user_id"] == "[email]"  # redacted, as in the logs
    models = [s for name, found in spans.items() if name.startswith("model ") for s in found]
    assert len(models) == 2
    assert {m.parent.span_id for m in models if m.parent} == {
        n.context.span_id for n in spans["node call_model"] if n.context
    }
    everything = str([dict(s.attributes or {}) for s in exporter.get_finished_spans()])
    assert EMAIL not in everything


def test_a_failed_call_has_an_error_status(exporter: InMemorySpanExporter) -> None:
    emit("tool_call", tool="refund", success=False, error="retriable", latency_s=0.5)
    emit("approval_requested", tool="refund", call_id="c1")
    failed, requested = exporter.get_finished_spans()
    assert failed.name == "tool refund" and failed.status.status_code == StatusCode.ERROR
    assert failed.end_time is not None and failed.start_time is not None
    assert failed.end_time - failed.start_time == 500_000_000
    assert requested.name == "approval_requested" and requested.parent is None


def test_without_an_endpoint_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    from observability.events import sinks_active

    before = sinks_active()
    remove = install_otel_spans()
    assert sinks_active() == before
    remove()


def test_otlp_http_export_reaches_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        remove = install_otel_spans()
        emit("tool_call", tool="refund_collector_check", success=True, latency_s=0.1)
        flush_otel_spans()
        remove()
    finally:
        server.shutdown()
        server.server_close()
    [(path, body)] = received
    assert path == "/v1/traces" and b"tool refund_collector_check" in body


def test_an_approval_request_hangs_off_the_run(exporter: InMemorySpanExporter) -> None:
    model = ScriptedChatModel(
        replies=[
            tool_calls_reply(("issue_refund", {"order_id": "A-1001", "amount": 5, "reason": "x"}))
        ]
    )
    graph = build_react_graph(model=model, tools=order_tools(), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:6]}"}}
    graph.invoke({"messages": [HumanMessage("refund A-1001")]}, config)
    spans = _by_name(exporter.get_finished_spans())
    [run], [requested] = spans["run react"], spans["approval_requested"]
    assert run.context is not None and requested.parent is not None
    assert requested.parent.span_id == run.context.span_id
