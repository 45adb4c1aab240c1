"""How well the knowledge base finds the answer to labelled questions (issue 21).

    .venv/bin/python -m scripts.bench.knowledge_retrieval
    .venv/bin/python -m scripts.bench.knowledge_retrieval --embeddings hash wordllama

Ingests ``tests/data/knowledge/docs`` (25 documents of a fictional SaaS handbook) into a
`memory.knowledge.KnowledgeBase` over an in-memory store, asks each question of
``tests/data/knowledge/questions.json`` (78, of which 28 paraphrases that share few words
with the answer) in each search mode, and prints per mode and embedding:

- **recall@5**: the share of questions whose expected document is among the 5 passages
  returned;
- **MRR**: the mean reciprocal rank of the first passage from the expected document (0 when
  none of the 5 is);
- **phrase@5**: the share of questions with the answer's key phrase itself in one of the 5
  passages (the right chunk, not only the right document);

for all questions, the direct ones and the paraphrases. ``lexical`` is BM25 over the chunks,
``vector`` ranks by the chosen embedding (exactly, over the same chunks) and ``hybrid`` is
`KnowledgeBase.search`'s fusion of both by weighted reciprocal rank (k=60, the stronger
ranking leading: `memory.knowledge.fusion.hybrid_weights`). ``equal`` is plain reciprocal-rank
fusion (equal weights) of the same two rankings, for comparison. The lexical rows do not
depend on the embedding. The
``wordllama`` embedding needs the optional ``wordllama`` package (its weights ship in the
wheel); without it those rows are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from langgraph.store.memory import InMemoryStore  # noqa: E402

from memory.knowledge import KnowledgeBase, Passage, reciprocal_rank_fusion  # noqa: E402
from memory.knowledge.base import CANDIDATES  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "knowledge"
Mode = Literal["lexical", "vector", "hybrid", "equal"]
MODES: tuple[Mode, ...] = ("lexical", "vector", "hybrid", "equal")
EQUAL = (1.0, 1.0)
SCOPES = ["project"]
SUBSETS = ("all", "direct", "paraphrase")
K = 5


def labelled_questions(path: Path = DATA / "questions.json") -> list[dict[str, Any]]:
    """The labelled questions: ``id``, ``question``, ``source``, ``kind``, ``key_phrase``."""
    questions: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return questions


def build_knowledge_base(
    embeddings_spec: str = "hash", docs: Path = DATA / "docs"
) -> KnowledgeBase:
    """A knowledge base holding the handbook in the ``project`` scope, ranking vectors with
    `embeddings_spec` (default chunking: 800 characters, 120 overlap)."""
    kb = KnowledgeBase(InMemoryStore(), embeddings_spec=embeddings_spec)
    kb.ingest_path(docs, scope="project")
    return kb


def fused_search(
    kb: KnowledgeBase, query: str, weights: tuple[float, float] | None, k: int = K
) -> list[Passage]:
    """`kb`'s lexical and vector rankings (each `CANDIDATES` deep) fused with `weights`.

    With ``kb.fusion_weights`` this is what ``kb.search(mode="hybrid")`` returns (a test
    checks).
    """
    rankings = [
        kb.search(query, scopes=SCOPES, k=CANDIDATES, mode=m) for m in ("lexical", "vector")
    ]
    passages = {p.chunk_id: p for ranking in rankings for p in ranking}
    fused = reciprocal_rank_fusion([[p.chunk_id for p in r] for r in rankings], weights=weights)
    return [passages[chunk_id] for chunk_id, _ in fused[:k]]


def searcher(kb: KnowledgeBase) -> Callable[[str, Mode], list[Passage]]:
    """A function answering (question, mode) with the top `K` passages of `kb`."""

    def search(query: str, mode: Mode) -> list[Passage]:
        if mode == "equal":
            return fused_search(kb, query, EQUAL)
        return kb.search(query, scopes=SCOPES, k=K, mode=mode)

    return search


@dataclass(frozen=True)
class Scores:
    """Retrieval quality over a set of questions."""

    questions: int
    recall: float
    mrr: float
    phrase: float


def _normalised(text: str) -> str:
    return " ".join(text.replace("*", "").split()).lower()


def first_hit(passages: Sequence[Passage], source: str) -> int | None:
    """The rank (1 is the best) of the first passage from the document named `source`."""
    for rank, passage in enumerate(passages, start=1):
        if Path(passage.source).name == source:
            return rank
    return None


def score(
    search: Callable[[str, Mode], list[Passage]], questions: Sequence[dict[str, Any]], mode: Mode
) -> Scores:
    """recall@5, MRR and phrase@5 of `search` in `mode` over `questions`."""
    hits = reciprocal = phrases = 0.0
    for question in questions:
        passages = search(question["question"], mode)
        rank = first_hit(passages, question["source"])
        if rank is not None:
            hits += 1
            reciprocal += 1.0 / rank
        phrase = _normalised(question["key_phrase"])
        phrases += any(phrase in _normalised(p.text) for p in passages)
    n = len(questions) or 1
    return Scores(len(questions), hits / n, reciprocal / n, phrases / n)


def evaluate(
    search: Callable[[str, Mode], list[Passage]],
    questions: Sequence[dict[str, Any]],
    modes: Sequence[Mode] = MODES,
) -> dict[tuple[Mode, str], Scores]:
    """Scores per (mode, subset): ``all``, ``direct`` and ``paraphrase`` questions."""
    subsets = {
        "all": list(questions),
        "direct": [q for q in questions if q["kind"] == "direct"],
        "paraphrase": [q for q in questions if q["kind"] == "paraphrase"],
    }
    return {
        (mode, name): score(search, chosen, mode)
        for mode in modes
        for name, chosen in subsets.items()
    }


def table(results: dict[str, dict[tuple[Mode, str], Scores]]) -> str:
    """A Markdown table: one row per embedding and mode, recall@5 / MRR / phrase@5 per subset."""
    header = (
        "| embedding | mode | "
        + " | ".join(f"{name} recall@5 | {name} MRR" for name in SUBSETS)
        + " | all phrase@5 |"
    )
    lines = [header, "|" + " --- |" * (3 + 2 * len(SUBSETS))]
    for embedding, scores in results.items():
        for mode in MODES:
            if (mode, "all") not in scores:
                continue
            cells = [f"{scores[mode, n].recall:.3f} | {scores[mode, n].mrr:.3f}" for n in SUBSETS]
            phrase = f"{scores[mode, 'all'].phrase:.3f}"
            lines.append(f"| {embedding} | {mode} | " + " | ".join(cells) + f" | {phrase} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table for the chosen embeddings (default ``hash`` and ``wordllama``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embeddings", nargs="+", default=["hash", "wordllama"])
    args = parser.parse_args(argv)
    questions = labelled_questions()
    kinds = {kind: sum(q["kind"] == kind for q in questions) for kind in ("direct", "paraphrase")}
    print(
        f"# {len(questions)} questions: {kinds['direct']} direct, {kinds['paraphrase']} paraphrases"
    )
    results: dict[str, dict[tuple[Mode, str], Scores]] = {}
    for spec in args.embeddings:
        try:
            kb = build_knowledge_base(spec)
        except ImportError as exc:
            print(f"# {spec}: skipped ({exc})")
            continue
        results[spec] = evaluate(searcher(kb), questions)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
