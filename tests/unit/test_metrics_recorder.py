"""The metrics sink: every event kind lands in its OpenTelemetry instrument, read back as
Prometheus text (the real SDK, exporter and parser), and the snapshot the CLI prints adds it up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from observability.events import Event, emit, sinks_active
from observability.metrics import (
    MetricsRecorder,
    install_metrics,
    installed_metrics,
    metrics_text,
    uninstall_metrics,
)
from observability.metrics_snapshot import parse_snapshot, render_snapshot, samples

P = "agent_patterns_"


def _event(kind: str, **fields: Any) -> Event:
    return Event(kind, "2026-12-06T00:00:00.000Z", fields)


def _value(recorder: MetricsRecorder, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    rows = samples(recorder.prometheus_text().decode()).get(P + name, [])
    return sum(v for lb, v in rows if all(lb.get(k) == want for k, want in labels.items()))


@pytest.fixture
def recorder() -> MetricsRecorder:
    return MetricsRecorder()


def test_runs_are_counted_by_graph_and_outcome_with_their_latency(
    recorder: MetricsRecorder,
) -> None:
    for outcome, latency in (
        ("success", 0.2),
        ("success", 0.3),
        ("error", 1.5),
        ("interrupted", 0.1),
    ):
        recorder(_event("run_finished", graph_id="react", outcome=outcome, latency_s=latency))
    recorder(_event("run_finished", graph_id="hitl", pattern="hitl", outcome="success"))
    assert _value(recorder, "runs_total", graph_id="react", outcome="success") == 2
    assert (
        _value(recorder, "runs_total", graph_id="react", pattern="react") == 4
    )  # pattern defaults
    assert _value(recorder, "runs_total", graph_id="hitl") == 1
    assert _value(recorder, "run_duration_seconds_count", graph_id="react") == 4
    assert _value(recorder, "run_duration_seconds_sum", graph_id="react") == pytest.approx(2.1)
    assert _value(recorder, "run_duration_seconds_count", graph_id="hitl") == 0  # no latency given
    assert _value(recorder, "run_duration_seconds_bucket", graph_id="react", le="0.25") == 2


def test_model_calls_tokens_and_cost_by_model(recorder: MetricsRecorder) -> None:
    recorder(_event("model_call", model="demo", latency_s=0.01, input_tokens=120, output_tokens=30,
                    cost_usd=0.002, success=True))  # fmt: skip
    recorder(_event("model_call", model="demo", input_tokens=80, output_tokens=0, success=True))
    recorder(
        _event("model_call", model="openai:gpt-4o-mini", success=False, error="APITimeoutError")
    )
    assert _value(recorder, "model_calls_total", model="demo", success="true") == 2
    assert _value(recorder, "model_calls_total", success="false", error="APITimeoutError") == 1
    assert _value(recorder, "model_tokens_total", model="demo", direction="input") == 200
    assert _value(recorder, "model_tokens_total", model="demo", direction="output") == 30
    assert _value(recorder, "model_cost_usd_total", model="demo") == pytest.approx(0.002)
    assert _value(recorder, "model_call_duration_seconds_count", model="demo") == 1


def test_tool_calls_and_failures_by_tool(recorder: MetricsRecorder) -> None:
    recorder(
        _event("tool_call", tool="lookup_order", latency_s=0.004, success=True, side_effect=False)
    )
    recorder(_event("tool_call", tool="issue_refund", success=False, error="ToolException",
                    side_effect=True))  # fmt: skip
    recorder(_event("tool_call", tool="issue_refund", success=True, side_effect=True))
    assert _value(recorder, "tool_calls_total", tool="issue_refund") == 2
    assert _value(recorder, "tool_calls_total", tool="issue_refund", side_effect="true") == 2
    assert _value(recorder, "tool_failures_total", tool="issue_refund", error="ToolException") == 1
    assert _value(recorder, "tool_failures_total", tool="lookup_order") == 0
    assert _value(recorder, "tool_call_duration_seconds_count", tool="lookup_order") == 1


def test_approvals_count_once_per_call_id_and_pending_never_goes_negative(
    recorder: MetricsRecorder,
) -> None:
    for call_id in ("c1", "c2", "c1"):  # c1 again: the gate re-ran on a resume
        recorder(_event("approval_requested", tool="issue_refund", call_id=call_id))
    assert _value(recorder, "approvals_requested_total") == 2
    assert _value(recorder, "approvals_pending") == 2
    recorder(_event("approval_decided", tool="issue_refund", call_id="c1", decision="accept",
                    wait_s=42.0, reviewer="rita"))  # fmt: skip
    recorder(_event("approval_decided", tool="issue_refund", call_id="c1", decision="accept"))
    assert _value(recorder, "approvals_decided_total", decision="accept") == 1
    assert _value(recorder, "approvals_pending") == 1
    assert _value(recorder, "approval_wait_seconds_bucket", le="60.0", decision="accept") == 1
    recorder(_event("approval_decided", tool="issue_refund", call_id="c2", decision="expired"))
    recorder(
        _event("approval_decided", tool="x", call_id="from-another-process", decision="reject")
    )
    assert _value(recorder, "approvals_pending") == 0
    assert _value(recorder, "approvals_decided_total") == 3


def test_limits_fallbacks_breakers_and_guardrails(recorder: MetricsRecorder) -> None:
    recorder(_event("budget_stop", limit="max_cost_usd", reason="cost cap"))
    recorder(_event("fallback", role="agent", from_model="openai:a", to_model="demo", reason="x"))
    recorder(_event("breaker_change", key="model:openai:a", state="open"))
    recorder(_event("breaker_change", key="model:openai:a", state="half_open"))
    recorder(_event("breaker_change", key="tool:lookup", state="closed"))
    recorder(_event("injection_flagged", source="tool", detector="heuristic", score=0.9))
    recorder(_event("output_guarded", check="canary", action="block"))
    recorder(_event("node_finished", graph_id="react", node="agent", latency_s=0.02, success=True))
    assert _value(recorder, "budget_stops_total", limit="max_cost_usd") == 1
    assert _value(recorder, "fallbacks_total", from_model="openai:a", to_model="demo") == 1
    assert _value(recorder, "breaker_state", key="model:openai:a") == 1  # half open, the latest
    assert _value(recorder, "breaker_state", key="tool:lookup") == 0
    assert _value(recorder, "breaker_changes_total", key="model:openai:a") == 2
    assert _value(recorder, "injections_flagged_total", source="tool") == 1
    assert _value(recorder, "outputs_guarded_total", check="canary", action="block") == 1
    assert _value(recorder, "node_duration_seconds_count", node="agent", graph_id="react") == 1


def test_bad_field_values_are_not_recorded_but_the_event_still_counts(
    recorder: MetricsRecorder,
) -> None:
    for latency in ("slow", -1.0, float("nan"), True, None, [1]):
        recorder(_event("tool_call", tool="t", latency_s=latency))
    recorder(_event("model_call", model="m", input_tokens="many", cost_usd=-5))
    recorder(_event("tool_call"))  # no tool name at all
    assert _value(recorder, "tool_calls_total", tool="t") == 6
    assert _value(recorder, "tool_call_duration_seconds_count", tool="t") == 0
    assert (
        _value(recorder, "model_tokens_total") == 0
        and _value(recorder, "model_cost_usd_total") == 0
    )
    assert _value(recorder, "tool_calls_total", tool="unknown") == 1


def test_labels_never_carry_thread_run_or_user_ids(recorder: MetricsRecorder) -> None:
    context = {"thread_id": "t-secret", "run_id": "r-secret", "user_id": "alice", "step": 3}
    recorder(_event("run_finished", graph_id="react", outcome="success", latency_s=1, **context))
    recorder(_event("tool_call", tool="lookup_order", success=True, **context))
    text = recorder.prometheus_text().decode()
    assert "secret" not in text and "alice" not in text


@pytest.fixture
def installed() -> Iterator[None]:
    uninstall_metrics()
    yield
    uninstall_metrics()
    assert not sinks_active()  # the bus is left as found


def test_install_is_idempotent_and_hears_emitted_events(installed: None) -> None:
    first = install_metrics()
    assert install_metrics() is first and installed_metrics() is first
    emit("tool_call", tool="lookup_order", success=True)
    emit("tool_call", tool="lookup_order", success=False, error="Timeout")
    assert _value(first, "tool_calls_total", tool="lookup_order") == 2
    assert b"agent_patterns_tool_failures_total" in metrics_text()
    uninstall_metrics()
    assert installed_metrics() is None and not sinks_active()
    assert emit("tool_call", tool="lookup_order") is None


def test_snapshot_adds_up_per_pattern_with_quantiles_and_renders(recorder: MetricsRecorder) -> None:
    for i in range(10):
        outcome = "error" if i == 0 else "interrupted" if i == 1 else "success"
        recorder(_event("run_finished", graph_id="react", outcome=outcome, latency_s=0.5 + i / 100))
    recorder(_event("model_call", model="demo", input_tokens=10, output_tokens=5, cost_usd=0.01))
    recorder(_event("tool_call", tool="issue_refund", success=False, error="X"))
    recorder(_event("approval_requested", tool="issue_refund", call_id="c1"))
    recorder(_event("approval_decided", tool="issue_refund", call_id="c1", decision="accept",
                    wait_s=3.0))  # fmt: skip
    snapshot = parse_snapshot(recorder.prometheus_text().decode())
    react = snapshot.patterns["react"]
    assert react.runs == 10 and react.outcomes == {"error": 1, "interrupted": 1, "success": 8}
    assert react.success_rate == pytest.approx(8 / 9)  # interrupted runs have not ended
    assert react.latency[0.5] is not None and 0.5 <= react.latency[0.5] <= 1.0
    assert snapshot.models["demo"]["input_tokens"] == 10
    assert snapshot.tools["issue_refund"] == {"calls": 1, "failures": 1}
    assert snapshot.approvals_requested == 1 and snapshot.approvals_decided == {"accept": 1}
    assert snapshot.approvals_pending == 0
    text = render_snapshot(snapshot)
    assert "react" in text and "89%" in text and "issue_refund" in text and "accept 1" in text


def test_snapshot_of_an_empty_process_and_of_garbage() -> None:
    empty = parse_snapshot(MetricsRecorder().prometheus_text().decode())
    assert empty.patterns == {} and "no runs recorded" in render_snapshot(empty)
    with pytest.raises(ValueError):
        parse_snapshot("<html>this is not prometheus</html>")


def test_f14_made_up_label_values_cannot_grow_the_metrics_without_bound(
    recorder: MetricsRecorder,
) -> None:
    # A prompt can make the model call tools that do not exist, and each executed call is a
    # tool_call event with that name: 5,000 made-up names must not become 5,000 series.
    for i in range(5000):
        recorder(_event("tool_call", tool=f"made_up_{i}", latency_s=0.01, success=False))
    found = samples(recorder.prometheus_text().decode())
    calls = found[P + "tool_calls_total"]
    assert len(calls) <= 501 and sum(v for _, v in calls) == 5000  # counted, in one overflow
    assert any(lb.get("otel_metric_overflow") == "true" for lb, _ in calls)
    assert len(found[P + "tool_call_duration_seconds_count"]) <= 201
    assert sum(v for _, v in found[P + "tool_call_duration_seconds_count"]) == 5000


def test_the_snapshot_shows_the_overflow_as_other(recorder: MetricsRecorder) -> None:
    for i in range(600):
        recorder(_event("tool_call", tool=f"made_up_{i}", success=True))
    tools = parse_snapshot(recorder.prometheus_text().decode()).tools
    assert tools["(other)"]["calls"] == 100 and sum(t["calls"] for t in tools.values()) == 600
