"""Metrics of every run: an events sink recording OpenTelemetry counters and histograms.

`MetricsRecorder` is an `observability.events` sink. It owns an OpenTelemetry SDK
``MeterProvider`` (its own, not the global one: a host application's provider and ours never
mix) whose only reader is a ``PrometheusMetricReader`` writing into the recorder's own
``prometheus_client`` registry; `MetricsRecorder.prometheus_text` renders that registry in the
Prometheus text format (what ``GET /metrics`` answers on the server).

`install_metrics` registers one recorder per process (idempotent); the server calls it when
it loads (`server.metrics_route`). Metrics are per process: every server or worker process
counts what it ran and serves its own numbers, so scrape each one (Prometheus adds them up).

What is recorded (Prometheus names; every name starts with ``agent_patterns_``):

==================================  =========  ==========================================
name                                type       labels
==================================  =========  ==========================================
runs_total                          counter    graph_id, pattern, outcome
run_duration_seconds                histogram  graph_id, pattern, outcome
node_duration_seconds               histogram  graph_id, node, success
model_calls_total                   counter    model, success, error
model_call_duration_seconds         histogram  model
model_tokens_total                  counter    model, direction (input, output)
model_cost_usd_total                counter    model
tool_calls_total                    counter    tool, success, side_effect
tool_failures_total                 counter    tool, error
tool_call_duration_seconds          histogram  tool
approvals_requested_total           counter    tool
approvals_decided_total             counter    tool, decision
approval_wait_seconds               histogram  decision
approvals_pending                   gauge      (none)
budget_stops_total                  counter    limit
fallbacks_total                     counter    role, from_model, to_model
breaker_state                       gauge      key (0 closed, 1 half open, 2 open)
breaker_changes_total               counter    key, state
injections_flagged_total            counter    source, detector
outputs_guarded_total               counter    check, action
==================================  =========  ==========================================

Labels never carry a thread, run or user id: those are unbounded (a time series each) and
would tell anyone reading the metrics who did what; the logs and traces carry them.

An approval is counted once per call id in a process, however often its gate re-runs on a
resume; ``approvals_pending`` is the number of call ids requested and not yet decided in this
process (a decision taken in another process leaves it pending here until a restart).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.sdk.metrics import Counter as SdkCounter
from opentelemetry.sdk.metrics import Histogram as SdkHistogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import CardinalityLimits
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from observability.events import Event, add_sink

__all__ = [
    "BREAKER_STATES",
    "CONTENT_TYPE",
    "DURATION_BUCKETS",
    "SERIES_LIMITS",
    "WAIT_BUCKETS",
    "MetricsRecorder",
    "install_metrics",
    "installed_metrics",
    "metrics_text",
    "uninstall_metrics",
]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The ``Content-Type`` of `MetricsRecorder.prometheus_text` (Prometheus text format 0.0.4)."""

DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0,
    20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
)  # fmt: skip
"""Upper bounds (seconds) of the run, node, model and tool latency histograms: about x1.5
apart from half a second to ten minutes, where model calls and agent runs take their time."""

WAIT_BUCKETS = (
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0,
    86400.0, 3 * 86400.0, 7 * 86400.0,
)  # fmt: skip
"""Upper bounds (seconds) of the approval wait histogram: a second to a week."""

SERIES_LIMITS: CardinalityLimits = {
    SdkCounter: 500,
    SdkHistogram: 200,
}
"""Label sets kept per metric; more (a client naming a new model on every run) are added up
in one series labelled ``otel_metric_overflow="true"``, so memory and scrapes stay bounded."""

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
"""The value of ``breaker_state`` for each circuit-breaker state."""

_SEEN_LIMIT = 10_000  # call ids remembered per process for de-duplicating approvals

Attributes = dict[str, str]


def _label(value: Any, default: str = "unknown") -> str:
    """A label value: booleans as true/false, missing as `default`."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> float | None:
    """A finite, non-negative number, or None (bad or missing values are not recorded)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


class _Instruments:
    """The OpenTelemetry instruments, created once on the recorder's own meter."""

    def __init__(self, meter: Meter) -> None:
        def counter(name: str, description: str, unit: str = "") -> Counter:
            return meter.create_counter(f"agent_patterns.{name}", unit, description)

        def histogram(name: str, description: str, bounds: tuple[float, ...]) -> Histogram:
            return meter.create_histogram(
                f"agent_patterns.{name}",
                unit="s",
                description=description,
                explicit_bucket_boundaries_advisory=list(bounds),
            )

        self.runs = counter("runs", "Runs finished, by graph and outcome")
        self.run_duration = histogram("run.duration", "Run latency", DURATION_BUCKETS)
        self.node_duration = histogram("node.duration", "Node latency", DURATION_BUCKETS)
        self.model_calls = counter("model.calls", "Model calls")
        self.model_duration = histogram("model.call.duration", "Model latency", DURATION_BUCKETS)
        self.model_tokens = counter("model.tokens", "Tokens sent to and received from models")
        self.model_cost = counter("model.cost_usd", "Model cost in US dollars")
        self.tool_calls = counter("tool.calls", "Tool calls executed")
        self.tool_failures = counter("tool.failures", "Tool calls that failed")
        self.tool_duration = histogram("tool.call.duration", "Tool latency", DURATION_BUCKETS)
        self.approvals_requested = counter("approvals.requested", "Approvals requested")
        self.approvals_decided = counter("approvals.decided", "Approvals decided")
        self.approval_wait = histogram("approval.wait", "Time to a decision", WAIT_BUCKETS)
        self.approvals_pending = meter.create_gauge(
            "agent_patterns.approvals.pending", description="Approvals waiting for a decision"
        )
        self.budget_stops = counter("budget.stops", "Runs stopped by a budget")
        self.fallbacks = counter("fallbacks", "Switches to a fallback model")
        self.breaker_state = meter.create_gauge(
            "agent_patterns.breaker.state",
            description="Circuit breaker state: 0 closed, 1 half open, 2 open",
        )
        self.breaker_changes = counter("breaker.changes", "Circuit breaker state changes")
        self.injections = counter("injections.flagged", "Content flagged as prompt injection")
        self.outputs_guarded = counter("outputs.guarded", "Replies an output check acted on")


class _CallIds:
    """A bounded, insertion-ordered set of call ids."""

    def __init__(self, limit: int = _SEEN_LIMIT) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, call_id: str) -> bool:
        """Add `call_id`; False when it was already there."""
        if call_id in self._ids:
            return False
        self._ids[call_id] = None
        while len(self._ids) > self._limit:
            self._ids.popitem(last=False)
        return True

    def discard(self, call_id: str) -> None:
        """Forget `call_id` if present."""
        self._ids.pop(call_id, None)

    def __len__(self) -> int:
        return len(self._ids)


class MetricsRecorder:
    """An events sink recording OpenTelemetry metrics, readable as Prometheus text.

    Example:
        >>> recorder = MetricsRecorder()
        >>> recorder(Event("tool_call", "2026-01-01T00:00:00Z", {"tool": "t", "success": True}))
        >>> [line for line in recorder.prometheus_text().decode().splitlines()
        ...  if line.startswith("agent_patterns_tool_calls_total")][0].endswith('tool="t"} 1.0')
        True
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._reader = PrometheusMetricReader(
            disable_target_info=True,
            registry=self.registry,
            cardinality_limits=dict(SERIES_LIMITS),
        )
        self.provider = MeterProvider(
            metric_readers=[self._reader],
            resource=Resource.create({"service.name": "agent-patterns"}),
        )
        self._meter = self.provider.get_meter("agent_patterns")
        self._on = _Instruments(self._meter)
        self._lock = threading.Lock()
        self._requested = _CallIds()
        self._decided = _CallIds()
        self._pending = _CallIds()
        self._handlers: Mapping[str, Callable[[Mapping[str, Any]], None]] = {
            "run_finished": self._run_finished,
            "node_finished": self._node_finished,
            "model_call": self._model_call,
            "tool_call": self._tool_call,
            "approval_requested": self._approval_requested,
            "approval_decided": self._approval_decided,
            "budget_stop": self._budget_stop,
            "fallback": self._fallback,
            "breaker_change": self._breaker_change,
            "injection_flagged": self._injection_flagged,
            "output_guarded": self._output_guarded,
        }
        self._on.approvals_pending.set(0)

    def __call__(self, event: Event) -> None:
        """Record `event` (kinds without metrics are ignored)."""
        handler = self._handlers.get(event.kind)
        if handler is not None:
            handler(event.fields)

    def prometheus_text(self) -> bytes:
        """Everything recorded so far, in the Prometheus text exposition format."""
        return generate_latest(self.registry)

    def shutdown(self) -> None:
        """Stop the provider and detach its reader from the registry."""
        self.provider.shutdown()

    # -- one handler per event kind -------------------------------------------------------

    def _run_finished(self, f: Mapping[str, Any]) -> None:
        graph_id = _label(f.get("graph_id"))
        labels = {
            "graph_id": graph_id,
            "pattern": _label(f.get("pattern"), graph_id),
            "outcome": _label(f.get("outcome")),
        }
        self._on.runs.add(1, labels)
        self._duration(self._on.run_duration, f.get("latency_s"), labels)

    def _node_finished(self, f: Mapping[str, Any]) -> None:
        labels = {
            "graph_id": _label(f.get("graph_id")),
            "node": _label(f.get("node")),
            "success": _label(f.get("success", True)),
        }
        self._duration(self._on.node_duration, f.get("latency_s"), labels)

    def _model_call(self, f: Mapping[str, Any]) -> None:
        model = _label(f.get("model"))
        success = f.get("success", True) is not False
        error = "" if success else _label(f.get("error"))
        self._on.model_calls.add(1, {"model": model, "success": _label(success), "error": error})
        self._duration(self._on.model_duration, f.get("latency_s"), {"model": model})
        for direction in ("input", "output"):
            tokens = _number(f.get(f"{direction}_tokens"))
            if tokens:
                self._on.model_tokens.add(tokens, {"model": model, "direction": direction})
        cost = _number(f.get("cost_usd"))
        if cost:
            self._on.model_cost.add(cost, {"model": model})

    def _tool_call(self, f: Mapping[str, Any]) -> None:
        tool = _label(f.get("tool"))
        success = f.get("success", True) is not False
        labels = {
            "tool": tool,
            "success": _label(success),
            "side_effect": _label(f.get("side_effect")),
        }
        self._on.tool_calls.add(1, labels)
        if not success:
            self._on.tool_failures.add(1, {"tool": tool, "error": _label(f.get("error"))})
        self._duration(self._on.tool_duration, f.get("latency_s"), {"tool": tool})

    def _approval_requested(self, f: Mapping[str, Any]) -> None:
        call_id = f.get("call_id")
        with self._lock:
            if call_id is not None and not self._requested.add(str(call_id)):
                return  # the gate re-ran on a resume: counted already
            if call_id is not None:
                self._pending.add(str(call_id))
            pending = len(self._pending)
        self._on.approvals_requested.add(1, {"tool": _label(f.get("tool"))})
        self._on.approvals_pending.set(pending)

    def _approval_decided(self, f: Mapping[str, Any]) -> None:
        call_id = f.get("call_id")
        with self._lock:
            if call_id is not None and not self._decided.add(str(call_id)):
                return
            if call_id is not None:
                self._pending.discard(str(call_id))
            pending = len(self._pending)
        decision = _label(f.get("decision"))
        self._on.approvals_decided.add(1, {"tool": _label(f.get("tool")), "decision": decision})
        self._duration(self._on.approval_wait, f.get("wait_s"), {"decision": decision})
        self._on.approvals_pending.set(pending)

    def _budget_stop(self, f: Mapping[str, Any]) -> None:
        self._on.budget_stops.add(1, {"limit": _label(f.get("limit"))})

    def _fallback(self, f: Mapping[str, Any]) -> None:
        labels = {
            "role": _label(f.get("role")),
            "from_model": _label(f.get("from_model")),
            "to_model": _label(f.get("to_model")),
        }
        self._on.fallbacks.add(1, labels)

    def _breaker_change(self, f: Mapping[str, Any]) -> None:
        key, state = _label(f.get("key")), _label(f.get("state"))
        self._on.breaker_changes.add(1, {"key": key, "state": state})
        if state in BREAKER_STATES:
            self._on.breaker_state.set(BREAKER_STATES[state], {"key": key})

    def _injection_flagged(self, f: Mapping[str, Any]) -> None:
        labels = {"source": _label(f.get("source")), "detector": _label(f.get("detector"))}
        self._on.injections.add(1, labels)

    def _output_guarded(self, f: Mapping[str, Any]) -> None:
        labels = {"check": _label(f.get("check")), "action": _label(f.get("action"))}
        self._on.outputs_guarded.add(1, labels)

    @staticmethod
    def _duration(histogram: Histogram, value: Any, labels: Attributes) -> None:
        seconds = _number(value)
        if seconds is not None:
            histogram.record(seconds, labels)


_installed: MetricsRecorder | None = None
_remove_sink: Callable[[], None] | None = None
_install_lock = threading.Lock()


def install_metrics() -> MetricsRecorder:
    """Register this process's `MetricsRecorder` as an events sink, once; returns it."""
    global _installed, _remove_sink
    with _install_lock:
        if _installed is None:
            recorder = MetricsRecorder()
            _remove_sink = add_sink(recorder)
            _installed = recorder
        return _installed


def uninstall_metrics() -> None:
    """Remove this process's recorder from the events bus and forget its numbers."""
    global _installed, _remove_sink
    with _install_lock:
        if _remove_sink is not None:
            _remove_sink()
        if _installed is not None:
            _installed.shutdown()
        _installed, _remove_sink = None, None


def installed_metrics() -> MetricsRecorder | None:
    """This process's recorder, if `install_metrics` ran."""
    return _installed


def metrics_text() -> bytes:
    """This process's metrics in the Prometheus text format (installing the recorder)."""
    return install_metrics().prometheus_text()
