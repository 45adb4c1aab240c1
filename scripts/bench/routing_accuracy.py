"""How well each routing strategy routes the labelled support requests (issue 18).

    .venv/bin/python -m scripts.bench.routing_accuracy

Reads ``tests/data/routing_requests.json`` (single requests labelled with a department,
``general`` for the catch-all or ``triage`` for too vague to route, and multi-turn
conversations) and routes every request the way the served graph does: through
`nodes.routers.ConversationRouter` at the default threshold (0.5), with the demo's rules and
examples (`demo.routing_examples`). Per strategy it prints:

- **accuracy**: the share of single requests that would reach their label (a department,
  ``general`` or ``triage``);
- **precision / recall** per label: of the requests sent to a label, how many belong there;
  of those that belong there, how many were sent there;
- **triage rate**: the share of single requests sent to triage (the labelled set has 12 of
  104 too vague to route, so about 0.12 is right);
- **turns**: accuracy on the follow-up turns of the conversations (each routed with the
  turns before it and the previous route, as the graph does), and **alone**: the same turns
  routed on their own text only, as the router did before it read the conversation.

The ``model`` strategy runs on the offline demo model, which plays the router's role with its
stand-in (`demo.routing_stand_in`): a word-count classifier over the same examples, not an
LLM. With a real model (``openai:<model>``) the same table measures that model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from demo.routing_examples import SUPPORT_DESCRIPTIONS, SUPPORT_EXAMPLES, SUPPORT_RULES  # noqa: E402
from demo.routing_stand_in import register_stand_ins  # noqa: E402
from memory.embeddings import create_embeddings  # noqa: E402
from nodes.model_call import model_for_spec, resolve_model  # noqa: E402
from nodes.routers import (  # noqa: E402
    TRIAGE,
    ConversationRouter,
    EmbeddingRouter,
    HybridRouter,
    ModelRouter,
    Router,
    RuleRouter,
    route_record,
)
from state.routing import ROUTER_ROLE  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "routing_requests.json"
THRESHOLD = 0.5
STRATEGIES = ("rules", "embeddings", "model", "hybrid")


def labelled_set(path: Path = DATA) -> dict[str, Any]:
    """The labelled requests and conversations."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def build_router(strategy: str, *, model_spec: str = "demo") -> Router:
    """The demo's router for `strategy`, as the served graph builds it."""
    register_stand_ins()
    rules = RuleRouter(SUPPORT_RULES)
    embeddings = EmbeddingRouter(SUPPORT_EXAMPLES, create_embeddings("hash"))
    model = ModelRouter(
        resolve_model(
            model_for_spec(model_spec),
            model_spec,
            role=ROUTER_ROLE,
            inputs={"descriptions": SUPPORT_DESCRIPTIONS},
        ),
        SUPPORT_DESCRIPTIONS,
    )
    chosen: dict[str, Router] = {"rules": rules, "embeddings": embeddings, "model": model}
    if strategy == "hybrid":
        return HybridRouter([rules, embeddings, model], THRESHOLD)
    return chosen[strategy]


@dataclass
class Scores:
    """What one strategy did on the labelled set."""

    strategy: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    """(label, where it went) per single request."""
    turns: list[tuple[str, str]] = field(default_factory=list)
    """(label, where it went) per follow-up turn of the conversations."""
    alone: list[tuple[str, str]] = field(default_factory=list)
    """(label, where it went) per follow-up turn routed on its own text."""

    @property
    def accuracy(self) -> float:
        """Share of single requests that reached their label."""
        return sum(a == b for a, b in self.pairs) / len(self.pairs)

    @property
    def turn_accuracy(self) -> float:
        """Share of follow-up turns that reached their label."""
        return sum(a == b for a, b in self.turns) / len(self.turns)

    @property
    def alone_accuracy(self) -> float:
        """Share of follow-up turns that reached their label routed on their own."""
        return sum(a == b for a, b in self.alone) / len(self.alone)

    @property
    def triage_rate(self) -> float:
        """Share of single requests sent to triage."""
        return sum(went == TRIAGE for _, went in self.pairs) / len(self.pairs)

    def precision(self, label: str) -> float:
        """Of the requests sent to `label`, the share that belong there (1.0 when none was)."""
        sent = [want for want, went in self.pairs if went == label]
        return sum(want == label for want in sent) / len(sent) if sent else 1.0

    def recall(self, label: str) -> float:
        """Of the requests that belong to `label`, the share sent there."""
        wanted = [went for want, went in self.pairs if want == label]
        return sum(went == label for went in wanted) / len(wanted) if wanted else 1.0


def routed_turns(router: Router, texts: Sequence[str]) -> list[str]:
    """Where each turn of one conversation goes, routed as the graph routes it."""
    conversation = ConversationRouter(router, THRESHOLD)
    previous: Mapping[str, Any] | None = None
    went: list[str] = []
    for index in range(len(texts)):
        previous = route_record(
            conversation.route(texts[: index + 1], previous), threshold=THRESHOLD
        )
        went.append(str(previous["routed_to"]))
    return went


def evaluate(router: Router, strategy: str, data: Mapping[str, Any] | None = None) -> Scores:
    """Route the labelled set with `router`."""
    data = data or labelled_set()
    scores = Scores(strategy)
    for item in data["requests"]:
        [single] = routed_turns(router, [item["text"]])
        scores.pairs.append((item["label"], single))
    for conversation in data["conversations"]:
        texts = [text for text, _ in conversation["turns"]]
        labels = [label for _, label in conversation["turns"]]
        went = routed_turns(router, texts)
        scores.turns.extend(zip(labels[1:], went[1:], strict=True))
        alone = [routed_turns(router, [text])[0] for text in texts[1:]]
        scores.alone.extend(zip(labels[1:], alone, strict=True))
    return scores


def table(results: Sequence[Scores], labels: Sequence[str]) -> str:
    """A Markdown table: accuracy, triage rate, follow-up turns, precision/recall per label."""
    head = ["strategy", "accuracy", "triage rate", "turns", "alone", *(f"{n} P/R" for n in labels)]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for s in results:
        cells = [s.strategy, f"{s.accuracy:.2f}", f"{s.triage_rate:.2f}"]
        cells += [f"{s.turn_accuracy:.2f}", f"{s.alone_accuracy:.2f}"]
        cells += [f"{s.precision(n):.2f}/{s.recall(n):.2f}" for n in labels]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(make: Callable[[str], Router] = build_router) -> int:
    """Print the table for every strategy."""
    data = labelled_set()
    labels = [*SUPPORT_DESCRIPTIONS, TRIAGE]
    results = [evaluate(make(strategy), strategy, data) for strategy in STRATEGIES]
    singles, turns = len(data["requests"]), sum(len(c["turns"]) - 1 for c in data["conversations"])
    print(f"{singles} single requests, {turns} follow-up turns, threshold {THRESHOLD}\n")
    print(table(results, labels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
