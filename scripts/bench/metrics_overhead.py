"""What recording metrics costs: a ReAct run with the metrics sink installed against none.

    .venv/bin/python -m scripts.bench.metrics_overhead [--quick]

Two candidates run the same conversation (`scripts.bench.overhead`'s zero-latency scripted
model, one model+tool round and the answer, an in-memory saver), interleaved round by round:

- **metrics**: `observability.metrics.install_metrics` registered, so every run emits its
  events (run, nodes, model call, tool call) and the recorder turns them into OpenTelemetry
  points;
- **no sink**: nothing listens, every emission point returns at once.

Also the recorder alone: microseconds per event it records, and per scrape of the Prometheus
text after the runs. No target: the ratio is reported for docs/observability.md.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable

from langgraph.checkpoint.memory import InMemorySaver

from graphs.react import build_react_graph
from observability.events import Event
from observability.metrics import MetricsRecorder, install_metrics, uninstall_metrics
from scripts.bench.measure import Finding, interleaved, ratio
from scripts.bench.overhead import _model, echo

RUNS_PER_SAMPLE = 10


def _runner(metrics: bool) -> Callable[[], None]:
    model = _model()
    graph = build_react_graph(model, [echo], checkpointer=InMemorySaver())

    def work() -> None:
        if metrics:
            install_metrics()
        try:
            for _ in range(RUNS_PER_SAMPLE):
                config = {"configurable": {"thread_id": uuid.uuid4().hex}}
                out = graph.invoke({"messages": [("user", "say hi")]}, config)
                assert out["messages"][-1].text == "done", out["messages"][-1]
        finally:
            if metrics:
                uninstall_metrics()
        model.reset()

    work()  # warm up
    return work


def _per_event_us(events: int = 20_000) -> tuple[float, float]:
    """Microseconds per recorded tool_call event, and milliseconds per scrape afterwards."""
    recorder = MetricsRecorder()
    event = Event("tool_call", "t", {"tool": "echo", "latency_s": 0.001, "success": True})
    started = time.perf_counter()
    for _ in range(events):
        recorder(event)
    per_event = (time.perf_counter() - started) / events * 1e6
    started = time.perf_counter()
    recorder.prometheus_text()
    return per_event, (time.perf_counter() - started) * 1000


def run(quick: bool) -> list[Finding]:
    """The run-time ratio with and without the metrics sink, and the recorder's own cost."""
    samples = interleaved(
        {"metrics": _runner(True), "no sink": _runner(False)}, rounds=7 if quick else 21
    )
    ms = {name: statistics.median(t) / RUNS_PER_SAMPLE * 1000 for name, t in samples.items()}
    per_event, scrape_ms = _per_event_us()
    return [
        Finding(
            "ReAct run: metrics sink / no sink",
            ratio(samples["metrics"], samples["no sink"]),
            detail=f"metrics {ms['metrics']:.2f} ms/run, no sink {ms['no sink']:.2f} ms/run",
        ),
        Finding("recorder: one tool_call event", per_event, unit="us"),
        Finding("recorder: one scrape (Prometheus text)", scrape_ms, unit="ms"),
    ]


if __name__ == "__main__":
    for finding in run(quick="--quick" in sys.argv[1:]):
        print(finding.line())
