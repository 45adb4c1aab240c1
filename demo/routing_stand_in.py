"""Offline stand-in for the router's model when a run uses the demo model.

The demo model (keyword heuristics, not an LLM) cannot name a department, so a run on it plays
this stand-in for the router's role (`state.routing.ROUTER_ROLE`): a naive Bayes word-count
classifier trained on the demo's labelled examples and descriptions
(`demo.routing_examples`), answering with a `RouteDecision`. It knows the five departments
and the ``general`` catch-all; a department the run names but the demo does not know is
learnt from its description alone.

Its confidence is the classifier's probability for the winner, computed on the content words
it has seen (a request with none of them gets a low-confidence guess, so it goes to triage).
It is a stand-in that makes the model strategy measurable offline, not a language model.

`register_stand_ins` registers it; the served graph's wiring calls it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.messages import BaseMessage

from demo.routing_examples import SUPPORT_DESCRIPTIONS, SUPPORT_EXAMPLES
from models.heuristic_intents import stems
from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.routing import ROUTER_ROLE, RouteDecision

__all__ = ["WordCountRouter", "demo_router_model", "register_stand_ins"]

SMOOTHING = 0.2
"""Additive smoothing per word: small, so a word seen only in one department counts."""


class WordCountRouter:
    """Naive Bayes over content-word stems, one class per department.

    Example:
        >>> router = WordCountRouter({"billing": ["refund my money"], "shipping": ["parcel late"]})
        >>> router.decide("where is my parcel").specialist
        'shipping'
    """

    def __init__(self, texts: Mapping[str, Sequence[str]]) -> None:
        """Count the stems of each department's texts."""
        self.counts = {name: Counter(s for t in ts for s in stems(t)) for name, ts in texts.items()}
        self.vocabulary = set().union(*self.counts.values()) if self.counts else set()

    def decide(self, text: str) -> RouteDecision:
        """The most likely department for `text` and its probability."""
        words = [w for w in stems(text) if w in self.vocabulary]
        if not words:
            name = next(iter(self.counts))
            reason = "no word I know from any department"
            return RouteDecision(specialist=name, confidence=0.1, reason=reason, strategy="model")
        size = len(self.vocabulary) * SMOOTHING
        logs = {
            name: sum(
                math.log((counts[w] + SMOOTHING) / (sum(counts.values()) + size)) for w in words
            )
            for name, counts in self.counts.items()
        }
        top = max(logs.values())
        odds = {name: math.exp(value - top) for name, value in logs.items()}
        name = max(odds, key=lambda n: odds[n])
        confidence = odds[name] / sum(odds.values())
        matched = sorted(w for w in words if self.counts[name][w])
        reason = f"words seen in {name} requests: {', '.join(matched) or 'none'}"
        return RouteDecision(
            specialist=name, confidence=round(confidence, 3), reason=reason, strategy="model"
        )


@lru_cache(maxsize=8)
def _trained(departments: tuple[tuple[str, str], ...]) -> WordCountRouter:
    texts = {
        name: [description, *SUPPORT_EXAMPLES.get(name, [])] for name, description in departments
    }
    return WordCountRouter(texts)


def demo_router_model(
    *, descriptions: Mapping[str, str] | None = None, **_: Any
) -> ScriptedChatModel:
    """The router's stand-in: classifies the last message it is sent.

    Args:
        descriptions: the departments the run routes between (name to description); None
            uses the demo's.
        **_: other inputs, ignored.
    """
    router = _trained(tuple((descriptions or SUPPORT_DESCRIPTIONS).items()))

    def answer(messages: list[BaseMessage]) -> dict[str, Any]:
        return router.decide(messages[-1].text).model_dump()

    return ScriptedChatModel(replies=[answer], cycle=True)


def register_stand_ins() -> None:
    """Register the classifier as the router's offline stand-in (by role)."""
    register_offline(ROUTER_ROLE, demo_router_model)
