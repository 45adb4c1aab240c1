"""How well the personal-data guardrail finds what it should and nothing else (issue 14).

    .venv/bin/python -m scripts.bench.bench_pii
    .venv/bin/python -m scripts.bench.bench_pii --misses     # also list every miss

Runs `guardrails.pii.find_pii` over every case of ``tests/data/pii_corpus.json`` (texts with
the personal data in them as ``[kind, value]`` pairs, and hard negatives: UUIDs, digests,
timestamps, order ids, amounts, versions, invalid cards, IBANs and ids, serial numbers) and
prints, per kind:

- **precision**: of the matches of that kind, the share that cover a labelled value of that
  kind;
- **recall**: of the labelled values of that kind, the share a match of that kind covers
  (overlaps);
- **F1** and the counts (true positives, false positives, false negatives);

then the hard negatives flagged (should be none) and the time per case: the median over
rounds of scanning the whole corpus, divided by its size (with the phone detector's cache
cleared each round, and warm), the same for a line without digits or ``@`` (the fast path
most log lines take), and the throughput on one long text (the corpus joined, as a long tool
output would be).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from guardrails.pii import PII_KINDS, PiiMatch, find_pii  # noqa: E402
from guardrails.pii_phones import clear_phone_cache  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "pii_corpus.json"


def corpus(path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled cases: ``{"text", "pii": [[kind, value], ...], "negative"?}`` each."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = data["cases"]
    return cases


@dataclass
class KindScore:
    """Counts of one kind over the corpus."""

    kind: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        """Share of the matches that are right (1.0 when nothing was found)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """Share of the labelled values found (1.0 when none is labelled)."""
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass
class Evaluation:
    """The scores per kind, the misses, the false alarms and the hard negatives flagged."""

    scores: dict[str, KindScore]
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    false_alarms: list[tuple[str, str, str]] = field(default_factory=list)
    negatives_flagged: list[tuple[str, str]] = field(default_factory=list)
    cases: int = 0


def _labelled_spans(case: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    spans = []
    for kind, value in case["pii"]:
        start = case["text"].index(value)
        spans.append((kind, start, start + len(value)))
    return spans


def _overlaps(match: PiiMatch, start: int, end: int) -> bool:
    return match.start < end and start < match.end


def evaluate(cases: Sequence[Mapping[str, Any]] | None = None) -> Evaluation:
    """Score `find_pii` on the labelled cases (default: the whole corpus)."""
    chosen = list(cases if cases is not None else corpus())
    result = Evaluation({kind: KindScore(kind) for kind in PII_KINDS}, cases=len(chosen))
    for case in chosen:
        text, labelled = case["text"], _labelled_spans(case)
        found = find_pii(text)
        for kind, start, end in labelled:
            if any(m.kind == kind and _overlaps(m, start, end) for m in found):
                result.scores[kind].true_positives += 1
            else:
                result.scores[kind].false_negatives += 1
                result.misses.append((kind, text[start:end], text))
        for match in found:
            if not any(kind == match.kind and _overlaps(match, s, e) for kind, s, e in labelled):
                result.scores[match.kind].false_positives += 1
                result.false_alarms.append((match.kind, match.text, text))
        if "negative" in case and found:
            result.negatives_flagged.append((case["negative"], text))
    return result


def table(result: Evaluation) -> str:
    """A Markdown table: one row per kind and one for all kinds together."""
    total = KindScore("all")
    rows = ["| kind | precision | recall | F1 | TP | FP | FN |", "|" + " --- |" * 7]
    for score in [*result.scores.values(), total]:
        if score is not total:
            total.true_positives += score.true_positives
            total.false_positives += score.false_positives
            total.false_negatives += score.false_negatives
        rows.append(
            f"| {score.kind} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} | "
            f"{score.true_positives} | {score.false_positives} | {score.false_negatives} |"
        )
    return "\n".join(rows)


def time_per_case(texts: Sequence[str], rounds: int = 7, *, cold: bool = True) -> float:
    """Median seconds per text of scanning all `texts`, over `rounds` rounds.

    Args:
        texts: the texts to scan.
        rounds: how many times to scan them all.
        cold: forget the phone runs already checked before each round (else a repeated
            text costs only its cache look-up, as a repeated log line does).
    """
    samples = []
    for _ in range(rounds):
        if cold:
            clear_phone_cache()
        start = time.perf_counter()
        for text in texts:
            find_pii(text)
        samples.append((time.perf_counter() - start) / len(texts))
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    """Print the scores, the hard negatives flagged and the time per case."""
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.bench_pii")
    parser.add_argument("--misses", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args(argv)
    cases = corpus()
    result = evaluate(cases)
    positives = sum(1 for case in cases if case["pii"])
    print(
        f"{len(cases)} cases: {positives} with personal data "
        f"({sum(len(case['pii']) for case in cases)} values), {len(cases) - positives} without\n"
    )
    print(table(result))
    print(f"\nhard negatives flagged: {len(result.negatives_flagged)}")
    for category, text in result.negatives_flagged:
        print(f"  [{category}] {text}")
    if args.misses:
        for kind, value, text in result.misses:
            print(f"miss [{kind}] {value!r} in {text!r}")
        for kind, value, text in result.false_alarms:
            print(f"false alarm [{kind}] {value!r} in {text!r}")
    texts = [case["text"] for case in cases]
    plain = ["INFO model call finished for the support agent, tool lookup_order ok"] * 200
    print(
        f"\ntime per case: {time_per_case(texts) * 1e6:.0f} µs over the corpus "
        f"({time_per_case(texts, cold=False) * 1e6:.0f} µs with the phone runs cached); "
        f"{time_per_case(plain) * 1e6:.1f} µs for a line without digits or '@'"
    )
    long_text = "\n".join(texts)
    seconds = time_per_case([long_text], rounds=3)
    print(
        f"one long text (the corpus joined, {len(long_text) / 1000:.0f} KB): "
        f"{seconds * 1e3:.0f} ms, {len(long_text) / 1000 / seconds:.0f} KB/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
