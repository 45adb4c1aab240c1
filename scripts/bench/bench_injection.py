"""How well the prompt-injection detector separates attacks from look-alikes, and its cost.

    .venv/bin/python -m scripts.bench.bench_injection [--detector package.module:factory]

Reads ``tests/data/injection_corpus.json`` and prints, for the operator's detector
(``AGENT_PATTERNS_INJECTION_DETECTOR``, the heuristic by default, or ``--detector``):

- **hit rate** on the attacks (share flagged) and **false-positive rate** on the benign
  look-alikes, overall and by language, encoding and source; the rules were tuned on these;
- the same two numbers on the **held-out** attacks and look-alikes, written after the tuning
  and never tuned on: what the heuristic does on phrasings it has not seen;
- the share of the project's own documentation paragraphs flagged (technical prose about
  approvals and tools, none of it an attack; docs/guardrails.md, which quotes attacks, left out);
- the screening time per text (median and p95, microseconds) for short and 10 KB texts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from guardrails.injection import InjectionDetector  # noqa: E402
from nodes.injection_screen import DETECTOR_ENV, current_detector  # noqa: E402

CORPUS_PATH = ROOT / "tests" / "data" / "injection_corpus.json"


def _rate(detector: InjectionDetector, items: Iterable[dict[str, Any]]) -> tuple[float, int]:
    found = list(items)
    flagged = sum(detector.score(item["text"]).flagged for item in found)
    return (flagged / len(found) if found else 0.0), len(found)


def _by(detector: InjectionDetector, items: list[dict[str, Any]], key: str) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[str(item.get(key))].append(item)
    parts = []
    for name in sorted(groups):
        rate, count = _rate(detector, groups[name])
        parts.append(f"{name} {rate:.2f} ({count})")
    return ", ".join(parts)


def _doc_paragraphs() -> list[dict[str, Any]]:
    paragraphs = []
    for path in sorted((ROOT / "docs").rglob("*.md")):
        if path.name == "guardrails.md":  # it quotes attacks on purpose
            continue
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            if len(block.strip()) >= 20:
                paragraphs.append({"text": block, "source": path.name})
    return paragraphs


def _timing(detector: InjectionDetector, text: str, rounds: int) -> tuple[float, float]:
    spent = []
    for _ in range(rounds):
        started = time.perf_counter()
        detector.score(text)
        spent.append((time.perf_counter() - started) * 1e6)
    spent.sort()
    return statistics.median(spent), spent[int(len(spent) * 0.95) - 1]


def report(detector: InjectionDetector, corpus: dict[str, Any]) -> None:
    """Print every number the module docs list."""
    attacks, benign = corpus["attacks"], corpus["benign"]
    hit, n_attacks = _rate(detector, attacks)
    false, n_benign = _rate(detector, benign)
    print(f"detector: {detector.name}")
    print(f"hit rate (tuned set):            {hit:.3f} of {n_attacks} attacks")
    print(f"false-positive rate (tuned set): {false:.3f} of {n_benign} look-alikes")
    for key in ("lang", "encoding", "source"):
        print(f"  hit rate by {key}: {_by(detector, attacks, key)}")
    print(f"  false positives by source: {_by(detector, benign, 'source')}")
    missed = [a["id"] for a in attacks if not detector.score(a["text"]).flagged]
    wrong = [b["id"] for b in benign if detector.score(b["text"]).flagged]
    print(f"  missed: {missed or 'none'}; false positives: {wrong or 'none'}")
    held_hit, n_held = _rate(detector, corpus.get("held_out_attacks", []))
    held_false, n_held_benign = _rate(detector, corpus.get("held_out_benign", []))
    print(f"hit rate (held out):             {held_hit:.3f} of {n_held} attacks")
    print(f"false-positive rate (held out):  {held_false:.3f} of {n_held_benign} look-alikes")
    docs_rate, n_docs = _rate(detector, _doc_paragraphs())
    print(f"project docs paragraphs flagged: {docs_rate:.3f} of {n_docs}")
    short = attacks[0]["text"]
    long = (benign[2]["text"] + " ") * (10_000 // (len(benign[2]["text"]) + 1))
    for label, text, rounds in (("short", short, 500), ("10 KB", long, 50)):
        median, p95 = _timing(detector, text, rounds)
        print(
            f"screening time, {label} text ({len(text)} chars): "
            f"median {median:.0f} us, p95 {p95:.0f} us"
        )


def main(argv: list[str] | None = None) -> int:
    """Measure the operator's detector (or ``--detector``) on the corpus."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detector", help="package.module:factory (default: the operator's)")
    args = parser.parse_args(argv)
    if args.detector:
        os.environ[DETECTOR_ENV] = args.detector
    corpus = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    report(current_detector(), corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
