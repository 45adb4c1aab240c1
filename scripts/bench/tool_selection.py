"""How often the tool selector offers the right tools (issue 21): top-k accuracy.

    .venv/bin/python -m scripts.bench.tool_selection

Ranks every tool of the demo catalog (`demo.tool_catalog`, 125 tools) for each labelled
request of ``tests/data/tool_selection.json`` with `nodes.tool_selection.ToolSelector` and
prints, per ranking mode (``vector``: hash embeddings; ``lexical``: BM25; ``hybrid``: both
fused by reciprocal rank), the **top-k accuracy**: the share of requests whose labelled
tools are all among the k offered, for k = 1, 3, 5 and 10. ``--embeddings`` measures
another embedding (``wordllama``, ``chroma-default``, ``openai:<model>``) for the vector and
hybrid rows, ``--vector-weight`` another weight of the cosine in the hybrid score.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from demo.tool_catalog import catalog_tools  # noqa: E402
from memory.embeddings import create_embeddings  # noqa: E402
from nodes.tool_selection import (  # noqa: E402
    DEFAULT_VECTOR_WEIGHT,
    SelectionMode,
    ToolSelector,
)

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "tool_selection.json"
KS = (1, 3, 5, 10)
MODES: tuple[SelectionMode, ...] = ("vector", "lexical", "hybrid")


def labelled_requests(path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled requests: ``{"text": ..., "tools": [...]}`` each."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    requests: list[dict[str, Any]] = data["requests"]
    return requests


@dataclass(frozen=True)
class Accuracy:
    """One mode's top-k accuracy on the labelled requests."""

    mode: str
    requests: int
    by_k: Mapping[int, float]

    def row(self) -> str:
        """One Markdown table row."""
        cells = [self.mode, *(f"{self.by_k[k]:.2f}" for k in KS)]
        return "| " + " | ".join(cells) + " |"


def measure(
    mode: SelectionMode,
    *,
    embeddings_spec: str = "hash",
    vector_weight: float = DEFAULT_VECTOR_WEIGHT,
    requests: Sequence[Mapping[str, Any]] | None = None,
) -> Accuracy:
    """Top-k accuracy of one ranking mode over the whole catalog.

    Args:
        mode: ``"vector"``, ``"lexical"`` or ``"hybrid"``.
        embeddings_spec: the embedding of the vector score.
        vector_weight: the cosine's weight in the hybrid score.
        requests: the labelled requests (default: ``tests/data/tool_selection.json``).
    """
    chosen = list(requests if requests is not None else labelled_requests())
    selector = ToolSelector(
        catalog_tools(),
        embeddings=create_embeddings(embeddings_spec),
        k=max(KS),
        mode=mode,
        vector_weight=vector_weight,
    )
    hits = dict.fromkeys(KS, 0)
    for request in chosen:
        ranked = [tool.name for tool in selector.rank(request["text"], max(KS))]
        for k in KS:
            hits[k] += set(request["tools"]) <= set(ranked[:k])
    return Accuracy(mode, len(chosen), {k: hits[k] / len(chosen) for k in KS})


def table(results: Sequence[Accuracy]) -> str:
    """A Markdown table: one row per mode, one column per k."""
    head = ["mode", *(f"top-{k}" for k in KS)]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return "\n".join([*rows, *(result.row() for result in results)])


def main(argv: list[str] | None = None) -> int:
    """Print the accuracy table of every mode."""
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.tool_selection")
    parser.add_argument("--embeddings", default="hash", help="embeddings spec (default hash)")
    parser.add_argument("--vector-weight", type=float, default=DEFAULT_VECTOR_WEIGHT)
    args = parser.parse_args(argv)
    requests = labelled_requests()
    spec, weight = args.embeddings, args.vector_weight
    results = [
        measure(m, embeddings_spec=spec, vector_weight=weight, requests=requests) for m in MODES
    ]
    print(
        f"{len(requests)} requests, {len(catalog_tools())} tools, embeddings {spec}, "
        f"hybrid vector weight {weight}\n"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
