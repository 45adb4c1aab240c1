"""Measuring side by side: interleaved rounds, ratios of medians, their spread.

A benchmark module exposes ``run(quick: bool) -> list[Finding]``. `interleaved` times several
candidates round by round (candidate order shuffled each round, so drift and warm caches hit
all of them alike); `ratio` pairs two sample lists round by round and reports the median of
the per-round ratios with their interquartile range (paired: a slow moment of the machine
slows both sides of a round, so it cancels; the median and the spread describe one
distribution, so the median is always inside its IQR).

Example:
    >>> samples = interleaved({"a": lambda: None, "b": lambda: None}, rounds=5)
    >>> sorted(samples), len(samples["a"])
    (['a', 'b'], 5)
    >>> r = ratio([2.0, 2.0, 2.2], [1.0, 1.0, 1.0])
    >>> round(r.median, 2), r.n
    (2.0, 3)
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Finding", "Ratio", "interleaved", "ratio", "timed"]


@dataclass(frozen=True)
class Ratio:
    """A ratio of medians (numerator / denominator) and the spread of per-round ratios."""

    median: float
    p25: float
    p75: float
    n: int

    def __str__(self) -> str:
        return f"{self.median:.3f} (IQR {self.p25:.3f}-{self.p75:.3f}, n={self.n})"


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was measured, the value, and the target if any.

    Attributes:
        name: what the number is (``"per round, no saver: ours / minimal StateGraph"``).
        value: the measured ratio (or plain number).
        unit: ``"x"`` for ratios, else the unit of a plain number (``"MB"``, ``"ms"``).
        target: the target as text (``"<= 1.10"``), empty when there is none.
        met: whether the target is met (None without a target).
        detail: the raw medians or anything else worth printing.
    """

    name: str
    value: Ratio | float
    unit: str = "x"
    target: str = ""
    met: bool | None = None
    detail: str = field(default="")

    def line(self) -> str:
        """The finding as one report line."""
        verdict = {True: "met", False: "NOT MET", None: ""}[self.met]
        value = str(self.value) if isinstance(self.value, Ratio) else f"{self.value:.3f}"
        target = f"  target {self.target}: {verdict}" if self.target else ""
        detail = f"  [{self.detail}]" if self.detail else ""
        return f"{self.name}: {value} {self.unit}{target}{detail}"


def timed(work: Callable[[], object]) -> float:
    """Seconds `work` took, on the monotonic high-resolution clock."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def interleaved(
    candidates: Mapping[str, Callable[[], object]], *, rounds: int, seed: int = 7
) -> dict[str, list[float]]:
    """Time each candidate once per round, in a shuffled order every round.

    Returns:
        candidate name → seconds per round.
    """
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            samples[name].append(timed(candidates[name]))
    return samples


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Ratio:
    """The median of the per-round ratios numerator/denominator, with their IQR."""
    per_round = sorted(a / b for a, b in zip(numerator, denominator, strict=True) if b > 0)
    quartiles = statistics.quantiles(per_round, n=4) if len(per_round) > 1 else per_round * 3
    return Ratio(
        median=statistics.median(per_round),
        p25=min(quartiles[0], statistics.median(per_round)),
        p75=max(quartiles[-1], statistics.median(per_round)),
        n=len(per_round),
    )
