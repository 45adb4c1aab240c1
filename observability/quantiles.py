"""Quantiles (p50, p95, p99) estimated from a histogram's buckets, as Prometheus does.

A histogram keeps counts per bucket, not the values, so a quantile is an estimate:
`histogram_quantile` finds the bucket the wanted rank falls into and interpolates linearly
inside it, exactly like PromQL's ``histogram_quantile()``:

- buckets are given by their upper bound (``le``) with *cumulative* counts, the last one
  ``+Inf`` (its count is the total);
- the first bucket starts at 0 (when its upper bound is positive), every other one at the
  previous upper bound;
- a rank that falls into the ``+Inf`` bucket returns the highest finite upper bound (the
  histogram cannot say more);
- no observations: None.

The error of an estimate is at most the width of the bucket it falls into, which is why
`observability.metrics` chooses its bucket bounds for the latencies agents have.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["Bucket", "histogram_quantile", "merge_buckets", "quantiles"]

Bucket = tuple[float, float]
"""One bucket: (upper bound ``le``, cumulative count of observations <= le)."""


def _checked(buckets: Iterable[Bucket]) -> list[Bucket]:
    ordered = sorted((float(le), float(count)) for le, count in buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        raise ValueError("a histogram needs its +Inf bucket (the total count)")
    if any(math.isnan(le) or math.isnan(count) for le, count in ordered):
        raise ValueError("histogram bucket bounds and counts must be numbers, not NaN")
    if any(a[0] == b[0] for a, b in zip(ordered, ordered[1:], strict=False)):
        raise ValueError("a histogram bucket bound is listed twice")
    # Prometheus fixes counts that decrease (scrape races) by carrying the maximum forward.
    fixed: list[Bucket] = []
    running = 0.0
    for le, count in ordered:
        running = max(running, count)
        fixed.append((le, running))
    return fixed


def histogram_quantile(q: float, buckets: Iterable[Bucket]) -> float | None:
    """The `q`-quantile (0..1) of a histogram given as cumulative buckets.

    Args:
        q: the quantile, 0 <= q <= 1 (0.95 for p95).
        buckets: (upper bound, cumulative count) pairs, in any order, including ``+Inf``.

    Returns:
        The estimate, or None when the histogram has no observations.

    Raises:
        ValueError: `q` outside 0..1, no ``+Inf`` bucket, or a bound listed twice.

    Example:
        >>> inf = float("inf")
        >>> histogram_quantile(0.5, [(1.0, 0), (2.0, 10), (inf, 10)])  # all in (1, 2]
        1.5
        >>> histogram_quantile(0.99, [(1.0, 5), (inf, 10)])  # beyond the last bound
        1.0
        >>> histogram_quantile(0.5, [(1.0, 0), (inf, 0)]) is None
        True
    """
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"a quantile must be between 0 and 1, got {q!r}")
    ordered = _checked(buckets)
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = q * total
    index = next(i for i, (_, count) in enumerate(ordered) if count >= rank)
    if index == len(ordered) - 1:
        return ordered[-2][0] if len(ordered) > 1 else None
    upper, cumulative = ordered[index]
    if index == 0:
        if upper <= 0:
            return upper
        lower, below = 0.0, 0.0
    else:
        lower, below = ordered[index - 1]
    in_bucket = cumulative - below
    if in_bucket <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / in_bucket


def merge_buckets(histograms: Iterable[Sequence[Bucket]]) -> list[Bucket]:
    """Add histograms with the same bounds (PromQL's ``sum by (le)``).

    Raises:
        ValueError: the histograms have different bucket bounds.

    Example:
        >>> inf = float("inf")
        >>> merge_buckets([[(1.0, 1), (inf, 2)], [(1.0, 3), (inf, 3)]])
        [(1.0, 4.0), (inf, 5.0)]
    """
    totals: dict[float, float] = {}
    bounds: set[float] | None = None
    for histogram in histograms:
        these = {float(le) for le, _ in histogram}
        if bounds is not None and these != bounds:
            raise ValueError("cannot merge histograms with different bucket bounds")
        bounds = these
        for le, count in histogram:
            totals[float(le)] = totals.get(float(le), 0.0) + float(count)
    return sorted(totals.items())


def quantiles(
    buckets: Iterable[Bucket], qs: Sequence[float] = (0.5, 0.95, 0.99)
) -> Mapping[float, float | None]:
    """Several quantiles of one histogram: ``{0.5: p50, 0.95: p95, 0.99: p99}`` by default.

    Example:
        >>> inf = float("inf")
        >>> quantiles([(10.0, 100), (inf, 100)])
        {0.5: 5.0, 0.95: 9.5, 0.99: 9.9}
    """
    ordered = _checked(buckets)
    return {q: histogram_quantile(q, ordered) for q in qs}
