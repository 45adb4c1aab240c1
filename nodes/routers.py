"""Routing strategies behind one interface, and the node that routes a request with them.

Every strategy is a `Router`: ``route(text) -> RouteDecision | None``, where None means "no
opinion" (no rule matched, the model named no known specialist). Each decision carries a
confidence in [0, 1]; what it means differs per strategy and is documented on each class, so
set the threshold per strategy (the hybrid uses one threshold for all).

- `RuleRouter`: keyword and regex rules per specialist. Fast, predictable, brittle.
- `EmbeddingRouter`: cosine similarity to labelled examples per specialist. Catches wording
  the rules miss, as well as its embedding allows (``hash`` matches shared words only).
- `ModelRouter`: a chat model with structured output (`RouteDecision`). Most flexible,
  costs a model call, and its confidence is the model's own estimate. An invalid answer is
  asked for again once (`nodes.ask`); still invalid, it falls back to triage with confidence
  0 and the reason in the decision.
- `HybridRouter`: tries routers in order and takes the first decision at or above the
  threshold; otherwise it returns the best one it saw, which the node sends to triage.

`ConversationRouter` puts any of them to work on a *conversation*, not only its last message
(the seed's "routing based solely on the latest message ignores conversation history"):

1. ``latest``: the latest human message alone, when it is clear (at or above the threshold).
   A clear new request goes to its department even mid-conversation.
2. ``confirmed``: the previous turn went to triage with a best guess, and the customer answers
   the clarifying question with a yes ("yes, it's order A-1002"): the guess, confidence 1.
3. ``conversation``: the recent human turns together (the last `window`, oldest first, one per
   line), when that is clear: "it still does not work" is read with what came before.
4. ``follow-up``: the previous turn went to a specialist and nothing above is clear: stay
   with that specialist, at its earlier confidence (a vague follow-up is not a new request).

Steps 1 to 3 run per strategy: a hybrid's rules read the whole conversation before its
embeddings or model see the latest message. Otherwise the best guess seen goes back to the
node, below the threshold, and to triage. Only human turns are read (an answer listing every
department would drown the signal), and a strategy is asked at most twice per turn (latest,
then the window).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from nodes.ask import InvalidOutput, ask_structured
from nodes.context import context_as
from state.routing import RouteDecision, RouterContext, RouterState

__all__ = [
    "AFFIRMATIVE",
    "TRIAGE",
    "ConversationRoute",
    "ConversationRouter",
    "EmbeddingRouter",
    "HybridRouter",
    "ModelRouter",
    "Router",
    "RuleRouter",
    "human_turns",
    "latest_request",
    "make_route_request",
    "route_record",
]

TRIAGE = "triage"
"""Where a request goes when no decision reaches the confidence threshold."""


@runtime_checkable
class Router(Protocol):
    """A routing strategy: picks one specialist for a request, or has no opinion."""

    def route(self, text: str) -> RouteDecision | None:
        """The decision for `text`, or None when the strategy cannot tell."""
        ...


class RuleRouter:
    r"""Keyword and regex rules per specialist; every matching rule is one vote.

    Confidence is the winner's share of all matching rules, smoothed by one phantom vote:
    ``winner_votes / (all_votes + 1)``. One rule alone gives 0.5, two rules for the same
    specialist 0.67, three 0.75; rules that also fire for other specialists pull it down
    (1 against 1 gives 0.33). No rule matching gives None. Ties go to the specialist listed
    first.

    Example:
        >>> router = RuleRouter({"billing": [r"\brefund"], "shipping": [r"\bparcel\b"]})
        >>> decision = router.route("Please refund my parcel")
        >>> decision.specialist, round(decision.confidence, 2)
        ('billing', 0.33)
    """

    def __init__(self, rules: Mapping[str, Sequence[str]]) -> None:
        """Compile the rules (case-insensitive regexes) per specialist."""
        self.rules = {
            name: [re.compile(pattern, re.IGNORECASE) for pattern in patterns]
            for name, patterns in rules.items()
        }

    def votes(self, text: str) -> dict[str, list[str]]:
        """The patterns that match `text`, per specialist (for inspection and tests)."""
        return {
            name: [p.pattern for p in patterns if p.search(text)]
            for name, patterns in self.rules.items()
        }

    def route(self, text: str) -> RouteDecision | None:
        """Route by rule votes."""
        votes = self.votes(text)
        total = sum(len(v) for v in votes.values())
        if total == 0:
            return None
        name = max(votes, key=lambda n: len(votes[n]))  # first listed wins a tie
        won = len(votes[name])
        others = {n: len(v) for n, v in votes.items() if v and n != name}
        reason = f"{won} of {total} matching rules point to {name}"
        if others:
            reason += " (also: " + ", ".join(f"{n} {c}" for n, c in others.items()) + ")"
        return RouteDecision(
            specialist=name, confidence=won / (total + 1), reason=reason, strategy="rules"
        )


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class EmbeddingRouter:
    """Cosine similarity of the request to labelled examples, nearest example per specialist.

    Each specialist scores the similarity of its nearest example. The confidence combines how
    close the best match is and how far ahead of the runner-up it is::

        confidence = 0.5 * min(1, best / full_score) + 0.5 * min(1, margin / full_margin)

    The defaults fit the offline ``hash`` embedding, where texts sharing one content word score
    about 0.2 to 0.5 (see `memory.embeddings.HashEmbeddings`): a best score of 0.4 and a margin
    of 0.2 over the runner-up each count as "sure". A neural embedding scores higher overall;
    raise `full_score` for it (about 0.7 for all-MiniLM-L6-v2). The examples are embedded on
    the first request, so building the router costs nothing.
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        embeddings: Embeddings,
        *,
        full_score: float = 0.4,
        full_margin: float = 0.2,
    ) -> None:
        """Keep the labelled examples and the embedding that compares them."""
        if not examples or not all(examples.values()):
            raise ValueError("every specialist needs at least one labelled example")
        self.examples = {name: list(texts) for name, texts in examples.items()}
        self.embeddings = embeddings
        self.full_score = full_score
        self.full_margin = full_margin
        self._vectors: dict[str, list[list[float]]] | None = None

    def scores(self, text: str) -> dict[str, float]:
        """Similarity of `text` to each specialist's nearest example."""
        if self._vectors is None:
            self._vectors = {
                name: self.embeddings.embed_documents(texts)
                for name, texts in self.examples.items()
            }
        query = self.embeddings.embed_query(text)
        return {
            name: max(_cosine(query, vector) for vector in vectors)
            for name, vectors in self._vectors.items()
        }

    def route(self, text: str) -> RouteDecision | None:
        """Route to the specialist with the nearest example."""
        scores = self.scores(text)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        name, best = ranked[0]
        if best <= 0.0:
            return None
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        margin = best - runner_up
        confidence = 0.5 * min(1.0, best / self.full_score) + 0.5 * min(
            1.0, margin / self.full_margin
        )
        return RouteDecision(
            specialist=name,
            confidence=max(0.0, min(1.0, confidence)),
            reason=f"nearest example scores {best:.2f}, {margin:.2f} ahead of the runner-up",
            strategy="embeddings",
        )


ROUTER_PROMPT = (
    "You route customer support requests to exactly one specialist. Specialists:\n"
    "{specialists}\n\n"
    "The request may hold the customer's recent messages, one per line, oldest first: route "
    "on what the customer needs now, read with what they said before.\n"
    "Answer with the specialist's name exactly as written, your confidence from 0 to 1 "
    "(low when the request is vague or fits several specialists) and one sentence of reason."
)


class ModelRouter:
    """A chat model with structured output (`RouteDecision`) and the specialists in its prompt.

    The model's confidence is its own estimate, clipped to [0, 1]; a real model's estimates
    are often overconfident, so calibrate the threshold on labelled requests. A name outside
    the known specialists gives None (no opinion). Output that does not fit `RouteDecision`
    is asked for again once with the error (`nodes.ask.ask_structured`); still invalid, the
    router falls back (``on_invalid="fallback"``) to a triage decision with confidence 0 whose
    reason says why, so the request goes to triage and the route records the reason. Other
    errors propagate, so the node's retry policy can handle transient ones.
    """

    def __init__(self, model: BaseChatModel, descriptions: Mapping[str, str]) -> None:
        """Keep the model and put the specialists' descriptions in its prompt."""
        self.descriptions = dict(descriptions)
        self.prompt = ROUTER_PROMPT.format(
            specialists="\n".join(f"- {name}: {text}" for name, text in descriptions.items())
        )
        self.model = model

    def route(self, text: str) -> RouteDecision | None:
        """Ask the model."""
        triage = RouteDecision(specialist=TRIAGE, confidence=0.0, reason="", strategy="model")
        decision = ask_structured(
            self.model,
            [SystemMessage(self.prompt), HumanMessage(text)],
            RouteDecision,
            role="router",
            label="routing decision",
            on_invalid="fallback",
            fallback=triage,
        )
        if isinstance(decision, InvalidOutput):
            reason = f"no valid routing decision: {decision.reason}"
            return decision.use_fallback().model_copy(update={"reason": reason})
        specialist = decision.specialist.strip().lower()
        if specialist not in self.descriptions:
            return None
        return decision.model_copy(update={"specialist": specialist, "strategy": "model"})


class HybridRouter:
    """Routers tried in order; the first decision at or above the threshold wins.

    When none reaches it, the best decision seen (highest confidence) is returned as is, so the
    caller sees it is below the threshold and falls back (the graph answers with triage).
    Later routers are not consulted once one is confident: order cheap and precise first.
    """

    def __init__(self, routers: Sequence[Router], threshold: float) -> None:
        """Keep the routers in the order they are tried."""
        self.routers = list(routers)
        self.threshold = threshold

    def route(self, text: str) -> RouteDecision | None:
        """Try each router until one is confident enough."""
        best: RouteDecision | None = None
        for router in self.routers:
            decision = router.route(text)
            if decision is None:
                continue
            if decision.confidence >= self.threshold:
                return decision
            if best is None or decision.confidence > best.confidence:
                best = decision
        return best


AFFIRMATIVE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|correct|right|exactly|indeed|sure|that'?s (?:it|right|correct))\b",
    re.IGNORECASE,
)
"""A reply that says yes to triage's "my best guess was X: is that it?"."""

RouteBasis = Literal["latest", "confirmed", "conversation", "follow-up"]


@dataclass(frozen=True)
class ConversationRoute:
    """A `ConversationRouter`'s answer: the decision (None: no opinion) and what it rests on."""

    decision: RouteDecision | None
    basis: RouteBasis


class ConversationRouter:
    r"""Routes a conversation with any `Router` (the four steps are in the module docstring).

    A `HybridRouter` is taken apart into its members, tried in order, each on the whole
    conversation (latest message, then the recent turns together) before the next one sees
    the latest message: the precise, cheap rules read a follow-up with its context before a
    looser strategy guesses from the follow-up alone.

    Example:
        >>> rules = RuleRouter({"technical": [r"\bcrash"], "billing": [r"\brefund"]})
        >>> router = ConversationRouter(rules, threshold=0.5)
        >>> first = router.route(["The app crashes"])
        >>> first.basis, first.decision.specialist
        ('latest', 'technical')
        >>> previous = route_record(first, threshold=0.5)
        >>> follow_up = router.route(["The app crashes", "I tried that, no luck"], previous)
        >>> follow_up.basis, follow_up.decision.specialist
        ('conversation', 'technical')
    """

    def __init__(
        self,
        router: Router,
        threshold: float,
        *,
        window: int = 3,
        fallback: str = TRIAGE,
        affirmative: re.Pattern[str] = AFFIRMATIVE,
    ) -> None:
        """Keep the strategy, the threshold and how many recent human turns are read together."""
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self.tiers = list(router.routers) if isinstance(router, HybridRouter) else [router]
        self.threshold = threshold
        self.window = window
        self.fallback = fallback
        self.affirmative = affirmative

    def _confident(self, decision: RouteDecision | None) -> bool:
        return decision is not None and decision.confidence >= self.threshold

    def route(
        self, turns: Sequence[str], previous: Mapping[str, Any] | None = None
    ) -> ConversationRoute:
        """Route the latest of `turns` (human messages, oldest first).

        Args:
            turns: the conversation's human messages, oldest first; the last is the new one.
            previous: the thread's previous route (`route_record`), None on a first turn.
        """
        if not turns:
            return ConversationRoute(None, "latest")
        previous = previous or {}
        recent = "\n".join(turns[-self.window :])
        earlier = min(len(turns), self.window) - 1
        best: ConversationRoute = ConversationRoute(None, "latest")
        for tier, router in enumerate(self.tiers):
            tried = [ConversationRoute(router.route(turns[-1]), "latest")]
            if tier == 0 and (confirmed := self._confirmed(turns[-1], previous)) is not None:
                tried.append(confirmed)
            if earlier:
                together = router.route(recent)
                if together is not None:
                    reason = f"read with the {earlier} earlier turn(s): {together.reason}"
                    together = together.model_copy(update={"reason": reason})
                tried.append(ConversationRoute(together, "conversation"))
            for routed in tried:
                if self._confident(routed.decision):
                    return routed
                if routed.decision is not None and (
                    best.decision is None or routed.decision.confidence > best.decision.confidence
                ):
                    best = routed
        went_to = previous.get("routed_to")
        if went_to not in (None, self.fallback):
            confidence = float(previous.get("confidence") or 0.0)
            reason = f"a follow-up the latest message does not settle: staying with {went_to}"
            decision = self._decision(previous, str(went_to), confidence, reason)
            return ConversationRoute(decision, "follow-up")
        return best

    def _confirmed(self, latest: str, previous: Mapping[str, Any]) -> ConversationRoute | None:
        """The previous turn's best guess, when triage asked and the customer says yes."""
        guess = previous.get("specialist")
        if previous.get("routed_to") != self.fallback or guess in (None, self.fallback):
            return None
        if not self.affirmative.search(latest):
            return None
        reason = f"the customer confirmed the best guess, {guess}, after triage asked"
        return ConversationRoute(self._decision(previous, str(guess), 1.0, reason), "confirmed")

    @staticmethod
    def _decision(
        previous: Mapping[str, Any], specialist: str, confidence: float, reason: str
    ) -> RouteDecision:
        strategy = str(previous.get("strategy") or "model")
        return RouteDecision(
            specialist=specialist, confidence=confidence, reason=reason, strategy=strategy
        )


def human_turns(messages: Sequence[BaseMessage]) -> list[str]:
    """The texts of the human messages in `messages`, oldest first."""
    return [m.text for m in messages if isinstance(m, HumanMessage)]


def latest_request(state: Mapping[str, Any]) -> str:
    """Text of the latest human message."""
    turns = human_turns(state.get("messages") or [])
    return turns[-1] if turns else ""


def route_record(
    routed: ConversationRoute, *, threshold: float, fallback: str = TRIAGE, strategy: str = ""
) -> dict[str, Any]:
    """The JSON-safe route kept in state: the decision, ``routed_to``, ``threshold``, ``basis``.

    Args:
        routed: what the `ConversationRouter` decided.
        threshold: the confidence a decision needs to reach its specialist.
        fallback: where a decision below the threshold (or none) goes.
        strategy: recorded when no strategy had an opinion.
    """
    decision = routed.decision or RouteDecision(
        specialist=fallback,
        confidence=0.0,
        reason="no strategy had an opinion",
        strategy=strategy or "model",
    )
    confident = decision.confidence >= threshold
    return {
        **decision.model_dump(mode="json"),
        "routed_to": decision.specialist if confident else fallback,
        "threshold": threshold,
        "basis": routed.basis,
    }


def make_route_request(
    router_for: Callable[[RouterContext], Router], *, fallback: str = TRIAGE, window: int = 3
) -> Callable[..., dict[str, Any]]:
    """Build the node that routes the conversation (`ConversationRouter` on the run's strategy).

    Args:
        router_for: the router for a run's context (strategy, threshold, embeddings, model).
        fallback: where requests go when no decision reaches ``context.confidence_threshold``.
        window: how many recent human turns the conversation step reads together.

    Returns:
        A node ``route_request(state, *, runtime)`` writing ``route`` (the decision plus
        ``routed_to``, ``threshold`` and ``basis``) and appending it to ``route_history``.
    """

    def route_request(state: RouterState, *, runtime: Runtime[RouterContext]) -> dict[str, Any]:
        """Decide which specialist handles the conversation's latest request."""
        context = context_as(runtime, RouterContext)
        threshold = context.confidence_threshold
        router = ConversationRouter(
            router_for(context), threshold, window=window, fallback=fallback
        )
        routed = router.route(human_turns(state.get("messages") or []), state.get("route"))
        route = route_record(
            routed, threshold=threshold, fallback=fallback, strategy=context.routing_strategy
        )
        return {"route": route, "route_history": [route]}

    return route_request
