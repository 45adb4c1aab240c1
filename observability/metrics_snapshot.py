"""A readable summary of a Prometheus scrape of `observability.metrics`: what the CLI prints.

`parse_snapshot` reads the Prometheus text of ``GET /metrics`` (with
``prometheus_client.parser``) and adds it up per pattern, model, tool and approval decision;
the latency quantiles come from the scraped histogram buckets (`observability.quantiles`,
interpolated like PromQL's ``histogram_quantile``). `render_snapshot` formats it as text.

A run's success rate counts the runs that ended (success, error or stopped by a limit):
a run that stopped at an approval gate (outcome ``interrupted``) is neither a success nor a
failure, and its resume is a run of its own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from observability.quantiles import Bucket, merge_buckets, quantiles

__all__ = ["MetricsSnapshot", "PatternStats", "parse_snapshot", "render_snapshot", "samples"]

PREFIX = "agent_patterns_"
QS = (0.5, 0.95, 0.99)
OVERFLOW = "(other)"

Labels = dict[str, str]
Samples = dict[str, list[tuple[Labels, float]]]


@dataclass
class PatternStats:
    """Runs of one graph: counts by outcome and latency quantiles (seconds)."""

    graph_id: str
    outcomes: dict[str, int] = field(default_factory=dict)
    latency: dict[float, float | None] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Every run, interrupted ones included."""
        return sum(self.outcomes.values())

    @property
    def success_rate(self) -> float | None:
        """Successes among the runs that ended (not interrupted), or None if none ended."""
        ended = sum(n for outcome, n in self.outcomes.items() if outcome != "interrupted")
        return self.outcomes.get("success", 0) / ended if ended else None


@dataclass
class MetricsSnapshot:
    """The scrape, added up: per pattern, model, tool and approval decision."""

    patterns: dict[str, PatternStats] = field(default_factory=dict)
    nodes: dict[tuple[str, str], dict[float, float | None]] = field(default_factory=dict)
    models: dict[str, dict[str, float]] = field(default_factory=dict)
    tools: dict[str, dict[str, float]] = field(default_factory=dict)
    approvals_requested: int = 0
    approvals_decided: dict[str, int] = field(default_factory=dict)
    approvals_pending: int = 0
    approval_wait: dict[float, float | None] = field(default_factory=dict)
    budget_stops: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    breakers: dict[str, str] = field(default_factory=dict)


def samples(text: str) -> Samples:
    """Every sample of the Prometheus text by sample name (``..._total``, ``..._bucket``).

    Raises:
        ValueError: the text is not in the Prometheus format.
    """
    found: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((dict(sample.labels), float(sample.value)))
    return found


def _label(labels: Labels, key: str) -> str:
    """A label's value; ``(other)`` in the series past a metric's label-set limit."""
    if labels.get("otel_metric_overflow") == "true":
        return labels.get(key) or OVERFLOW
    return labels.get(key, "")


def _sum_by(rows: Iterable[tuple[Labels, float]], *keys: str) -> dict[tuple[str, ...], float]:
    totals: dict[tuple[str, ...], float] = defaultdict(float)
    for labels, value in rows:
        totals[tuple(_label(labels, k) for k in keys)] += value
    return totals


def _histograms_by(
    rows: Iterable[tuple[Labels, float]], *keys: str
) -> dict[tuple[str, ...], list[Bucket]]:
    """Buckets per value of the labels `keys`, other labels summed (``sum by (keys, le)``)."""
    series: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[Bucket]]
    series = defaultdict(list)
    for labels, value in rows:
        others = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        wanted = tuple(_label(labels, k) for k in keys)
        series[(wanted, others)].append((float(labels["le"]), value))
    grouped: dict[tuple[str, ...], list[list[Bucket]]] = defaultdict(list)
    for (wanted, _), buckets in series.items():
        grouped[wanted].append(buckets)
    return {wanted: merge_buckets(histograms) for wanted, histograms in grouped.items()}


def _patterns(found: Samples) -> dict[str, PatternStats]:
    patterns: dict[str, PatternStats] = {}
    for (graph_id, outcome), n in _sum_by(
        found.get(PREFIX + "runs_total", []), "graph_id", "outcome"
    ).items():
        stats = patterns.setdefault(graph_id, PatternStats(graph_id))
        stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + int(n)
    latency = _histograms_by(found.get(PREFIX + "run_duration_seconds_bucket", []), "graph_id")
    for (graph_id,), buckets in latency.items():
        stats = patterns.setdefault(graph_id, PatternStats(graph_id))
        stats.latency = dict(quantiles(buckets, QS))
    return dict(sorted(patterns.items()))


def _nodes(found: Samples) -> dict[tuple[str, str], dict[float, float | None]]:
    """Latency quantiles per (graph_id, node), successes and failures together."""
    rows = found.get(PREFIX + "node_duration_seconds_bucket", [])
    nodes = {
        (graph_id, node): dict(quantiles(buckets, QS))
        for (graph_id, node), buckets in _histograms_by(rows, "graph_id", "node").items()
    }
    return dict(sorted(nodes.items()))


def _models(found: Samples) -> dict[str, dict[str, float]]:
    models: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (model, success), n in _sum_by(
        found.get(PREFIX + "model_calls_total", []), "model", "success"
    ).items():
        models[model]["calls"] += n
        models[model]["failures"] += n if success == "false" else 0
    for (model, direction), n in _sum_by(
        found.get(PREFIX + "model_tokens_total", []), "model", "direction"
    ).items():
        models[model][f"{direction}_tokens"] += n
    for (model,), cost in _sum_by(found.get(PREFIX + "model_cost_usd_total", []), "model").items():
        models[model]["cost_usd"] += cost
    return {name: dict(values) for name, values in sorted(models.items())}


def _tools(found: Samples) -> dict[str, dict[str, float]]:
    tools: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (tool, success), n in _sum_by(
        found.get(PREFIX + "tool_calls_total", []), "tool", "success"
    ).items():
        tools[tool]["calls"] += n
        tools[tool]["failures"] += n if success == "false" else 0
    return {name: dict(values) for name, values in sorted(tools.items())}


def _approvals(found: Samples, snapshot: MetricsSnapshot) -> None:
    snapshot.approvals_requested = int(
        sum(v for _, v in found.get(PREFIX + "approvals_requested_total", []))
    )
    decided = _sum_by(found.get(PREFIX + "approvals_decided_total", []), "decision")
    snapshot.approvals_decided = {d: int(n) for (d,), n in sorted(decided.items())}
    snapshot.approvals_pending = int(sum(v for _, v in found.get(PREFIX + "approvals_pending", [])))
    wait = found.get(PREFIX + "approval_wait_seconds_bucket", [])
    if wait:
        everything = _histograms_by(wait)[()]  # by no label: every series merged
        snapshot.approval_wait = dict(quantiles(everything, QS))


def parse_snapshot(text: str) -> MetricsSnapshot:
    """Add up a scrape of ``GET /metrics``.

    Raises:
        ValueError: the text is not in the Prometheus format.
    """
    found = samples(text)
    snapshot = MetricsSnapshot(
        patterns=_patterns(found), nodes=_nodes(found), models=_models(found), tools=_tools(found)
    )
    _approvals(found, snapshot)
    stops = _sum_by(found.get(PREFIX + "budget_stops_total", []), "limit")
    snapshot.budget_stops = {limit: int(n) for (limit,), n in sorted(stops.items())}
    snapshot.fallbacks = int(sum(v for _, v in found.get(PREFIX + "fallbacks_total", [])))
    names = {value: name for name, value in (("closed", 0), ("half_open", 1), ("open", 2))}
    for labels, value in found.get(PREFIX + "breaker_state", []):
        snapshot.breakers[labels.get("key", "")] = names.get(int(value), str(value))
    return snapshot


def _seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]  # fmt: skip


def _pattern_rows(patterns: Mapping[str, PatternStats]) -> list[tuple[str, ...]]:
    rows = []
    for stats in patterns.values():
        rate = stats.success_rate
        rows.append(
            (
                stats.graph_id,
                str(stats.runs),
                " ".join(f"{k}={v}" for k, v in sorted(stats.outcomes.items())),
                "-" if rate is None else f"{rate:.0%}",
                *(_seconds(stats.latency.get(q)) for q in QS),
            )
        )
    return rows


def render_snapshot(snapshot: MetricsSnapshot) -> str:
    """The snapshot as text tables: runs per pattern, models, tools, approvals, limits."""
    lines = ["Runs per pattern"]
    if snapshot.patterns:
        header = ("PATTERN", "RUNS", "OUTCOMES", "SUCCESS", "P50", "P95", "P99")
        lines += _table(header, _pattern_rows(snapshot.patterns))
    else:
        lines.append("  (no runs recorded by this process yet)")
    if snapshot.nodes:
        lines += ["", "Node latency"]
        node_rows = [
            (graph_id, node, *(_seconds(latency.get(q)) for q in QS))
            for (graph_id, node), latency in snapshot.nodes.items()
        ]
        lines += _table(("PATTERN", "NODE", "P50", "P95", "P99"), node_rows)
    if snapshot.models:
        lines += ["", "Models"]
        rows = [
            (name, f"{m.get('calls', 0):.0f}", f"{m.get('failures', 0):.0f}",
             f"{m.get('input_tokens', 0):.0f}", f"{m.get('output_tokens', 0):.0f}",
             f"${m.get('cost_usd', 0):.4f}")
            for name, m in snapshot.models.items()
        ]  # fmt: skip
        lines += _table(("MODEL", "CALLS", "FAILED", "IN TOKENS", "OUT TOKENS", "COST"), rows)
    if snapshot.tools:
        lines += ["", "Tools"]
        tool_rows = [
            (name, f"{t.get('calls', 0):.0f}", f"{t.get('failures', 0):.0f}")
            for name, t in snapshot.tools.items()
        ]
        lines += _table(("TOOL", "CALLS", "FAILED"), tool_rows)
    decided = ", ".join(f"{d} {n}" for d, n in snapshot.approvals_decided.items()) or "none"
    wait = " ".join(f"p{q * 100:g}={_seconds(snapshot.approval_wait.get(q))}" for q in QS)
    lines += [
        "",
        f"Approvals: {snapshot.approvals_requested} requested, {snapshot.approvals_pending} "
        f"pending; decided: {decided}; wait {wait}",
        "Budget stops: "
        + (", ".join(f"{k} {n}" for k, n in snapshot.budget_stops.items()) or "none")
        + f"; fallbacks: {snapshot.fallbacks}",
        "Breakers: " + (", ".join(f"{k} {s}" for k, s in snapshot.breakers.items()) or "none"),
    ]
    return "\n".join(lines) + "\n"
