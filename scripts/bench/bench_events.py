"""What observing a run costs: the ReAct graph with logs off, JSON logs, and OpenTelemetry spans.

The same conversation as `scripts.bench.overhead` (the zero-latency `ScriptedChatModel`, one
read-only tool call and the answer, an `InMemorySaver`, a fresh thread per run), so every
number is framework cost. Candidates, timed interleaved:

- **off**: no sink registered (`observability.events.emit` returns at once);
- **json**: ``AGENT_PATTERNS_LOG=json``'s sink, every event redacted and written as a JSON line
  (to ``os.devnull``, so the terminal's speed is not measured);
- **otel**: the OpenTelemetry span sink with an in-memory exporter.

Target: json / off <= 1.15 (a run makes about ten events; each costs a redaction pass and a
write). The otel ratio is reported without a target.

    .venv/bin/python -m scripts.bench.bench_events [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from graphs.react import build_react_graph
from observability.logs import install_log_sink
from observability.otel_spans import install_otel_spans
from scripts.bench.measure import Finding, interleaved, ratio
from scripts.bench.overhead import _model, echo

RUNS_PER_SAMPLE = 10
"""Runs timed together as one sample."""


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    with open(os.devnull, "w") as sink:
        saved, sys.stderr = sys.stderr, sink
        try:
            yield
        finally:
            sys.stderr = saved


def _runner(install: Callable[[], Callable[[], None]] | None) -> Callable[[], None]:
    graph = build_react_graph(_model(), [echo], checkpointer=InMemorySaver())

    def run() -> None:
        remove = install() if install is not None else None
        try:
            for _ in range(RUNS_PER_SAMPLE):
                config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
                graph.invoke({"messages": [HumanMessage("echo hi")]}, config)
        finally:
            if remove is not None:
                remove()

    return run


def run(quick: bool) -> list[Finding]:
    """Logs off vs JSON logs vs OTel spans, per run of the ReAct graph."""
    exporter = InMemorySpanExporter()

    def otel() -> Callable[[], None]:
        exporter.clear()
        return install_otel_spans(exporter)

    candidates = {
        "off": _runner(None),
        "json": _runner(lambda: install_log_sink("json")),
        "otel": _runner(otel),
    }
    with _stderr_to_devnull():
        candidates["off"]()  # warm up every code path once
        candidates["json"]()
        samples = interleaved(candidates, rounds=7 if quick else 21)
    ms = {name: statistics.median(t) / RUNS_PER_SAMPLE * 1000 for name, t in samples.items()}
    json_ratio = ratio(samples["json"], samples["off"])
    otel_ratio = ratio(samples["otel"], samples["off"])
    return [
        Finding(
            "per run: json logs / logs off",
            json_ratio,
            target="<= 1.15",
            met=json_ratio.median <= 1.15,
            detail=f"off {ms['off']:.2f} ms/run, json {ms['json']:.2f} ms/run",
        ),
        Finding(
            "per run: otel spans / off",
            otel_ratio,
            detail=f"otel {ms['otel']:.2f} ms/run",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the findings; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.bench_events")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    findings = run(quick=parser.parse_args(argv).quick)
    for finding in findings:
        print(finding.line())
    return 1 if any(f.met is False for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
