"""Routing strategies on a labelled set of support requests, conversations, and the hybrid.

Accuracy is measured on ``tests/data/routing_requests.json`` (104 requests over the five
departments, the ``general`` catch-all and 12 too vague to route, labelled ``triage``; and 14
multi-turn conversations), written apart from the examples the strategies ship with, by
`scripts.bench.routing_accuracy` (the same code prints the table in docs/patterns/router.md).
Every request is routed as the graph routes it: `ConversationRouter` at threshold 0.5. The
floors are a little under what was measured, so a regression fails while the numbers stay
honest.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from demo.routing_examples import (
    DEPARTMENTS,
    SUPPORT_DESCRIPTIONS,
    SUPPORT_EXAMPLES,
    SUPPORT_RULES,
)
from demo.routing_stand_in import WordCountRouter, demo_router_model
from memory.embeddings import create_embeddings
from models import HeuristicDemoModel, ScriptedChatModel
from nodes.model_call import resolve_model
from nodes.routers import (
    TRIAGE,
    ConversationRouter,
    EmbeddingRouter,
    HybridRouter,
    ModelRouter,
    Router,
    RuleRouter,
    route_record,
)
from scripts.bench.routing_accuracy import Scores, build_router, evaluate, labelled_set
from state.routing import ROUTER_ROLE, RouteDecision

DATA = labelled_set()
REQUESTS: list[dict[str, str]] = DATA["requests"]
CONVERSATIONS: list[dict[str, Any]] = DATA["conversations"]
LABELS = {item["text"]: item["label"] for item in REQUESTS}
THRESHOLD = 0.5


def routed(router: Router, text: str, threshold: float = THRESHOLD) -> str:
    decision = router.route(text)
    if decision is None or decision.confidence < threshold:
        return TRIAGE
    return decision.specialist


def scripted_router_model() -> ScriptedChatModel:
    """A model that knows the labels: confident on departments, unsure on vague requests."""

    def answer(messages: list[BaseMessage]) -> dict[str, Any]:
        label = LABELS[messages[-1].text]
        if label == TRIAGE:
            return {"specialist": "shipping", "confidence": 0.2, "reason": "vague"}
        return {"specialist": label, "confidence": 0.9, "reason": f"about {label}"}

    return ScriptedChatModel(replies=[answer], cycle=True)


def test_the_labelled_set_is_large_varied_and_apart_from_the_examples() -> None:
    counts = {label: 0 for label in (*DEPARTMENTS, TRIAGE)}
    for item in REQUESTS:
        counts[item["label"]] += 1
    assert all(counts[name] >= 15 for name in DEPARTMENTS if name != "general"), counts
    assert counts["general"] >= 10 and counts[TRIAGE] >= 10 and len(REQUESTS) >= 100
    assert len(CONVERSATIONS) >= 12
    texts = {item["text"].lower() for item in REQUESTS}
    texts |= {text.lower() for c in CONVERSATIONS for text, _ in c["turns"]}
    examples = {text.lower() for texts in SUPPORT_EXAMPLES.values() for text in texts}
    assert not examples & texts
    labels = {label for c in CONVERSATIONS for _, label in c["turns"]}
    assert labels <= {*DEPARTMENTS, TRIAGE}


def measured(strategy: str) -> Scores:
    scores = evaluate(build_router(strategy), strategy, DATA)
    print(
        f"{strategy}: accuracy {scores.accuracy:.2f}, triage rate {scores.triage_rate:.2f}, "
        f"turns {scores.turn_accuracy:.2f} (alone {scores.alone_accuracy:.2f}), fraud "
        f"P/R {scores.precision('fraud'):.2f}/{scores.recall('fraud'):.2f}"
    )
    return scores


# Floors a little under the measured numbers (docs/patterns/router.md has the table).
FLOORS = {
    # strategy: (accuracy, follow-up turns, fraud recall, triage rate range)
    "rules": (0.83, 0.93, 0.75, (0.2, 0.3)),
    "embeddings": (0.54, 0.66, 0.56, (0.28, 0.4)),
    "model": (0.69, 0.8, 0.68, (0.14, 0.26)),
    "hybrid": (0.88, 0.93, 0.81, (0.04, 0.15)),
}


@pytest.mark.parametrize("strategy", list(FLOORS))
def test_accuracy_per_strategy_on_the_labelled_set(strategy: str) -> None:
    scores = measured(strategy)
    accuracy, turns, fraud_recall, (low, high) = FLOORS[strategy]
    assert scores.accuracy >= accuracy
    assert scores.turn_accuracy >= turns
    assert scores.turn_accuracy > scores.alone_accuracy, "the conversation must help"
    assert scores.recall("fraud") >= fraud_recall
    assert low <= scores.triage_rate <= high


def test_the_hybrid_beats_each_of_its_members() -> None:
    hybrid = measured("hybrid").accuracy
    assert all(hybrid > measured(s).accuracy for s in ("rules", "embeddings", "model"))


@pytest.mark.parametrize(
    ("department", "rule"),
    [(name, rule) for name, rules in SUPPORT_RULES.items() for rule in rules],
)
def test_every_rule_matches_a_request_of_its_department(department: str, rule: str) -> None:
    """A rule that matches nothing (an English sentence used as a regex) is dead weight."""
    texts = [r["text"] for r in REQUESTS if r["label"] == department]
    texts += SUPPORT_EXAMPLES[department]
    assert any(re.search(rule, text, re.IGNORECASE) for text in texts), rule


def test_model_router_with_a_scripted_model_routes_every_request() -> None:
    model = scripted_router_model()
    router = ModelRouter(model, SUPPORT_DESCRIPTIONS)
    assert all(routed(router, r["text"]) == r["label"] for r in REQUESTS)
    prompt = model.calls[0].messages[0].text
    assert all(f"- {name}:" in prompt for name in DEPARTMENTS)
    assert "recent messages, one per line" in prompt
    assert model.calls[0].structured_output == "RouteDecision"


def test_the_demo_models_stand_in_knows_the_five_departments_and_the_catch_all() -> None:
    stand_in = resolve_model(
        HeuristicDemoModel(), "", role=ROUTER_ROLE, inputs={"descriptions": SUPPORT_DESCRIPTIONS}
    )
    assert isinstance(stand_in, ScriptedChatModel), "the demo model plays the stand-in"
    router = ModelRouter(stand_in, SUPPORT_DESCRIPTIONS)
    for text, department in [
        ("someone stole my card and bought things", "fraud"),
        ("my two-factor code is rejected", "account"),
        ("do you sell gift cards", "general"),
        ("the parcel is stuck at customs", "shipping"),
    ]:
        decision = router.route(text)
        assert decision is not None and decision.specialist == department, (text, decision)
    vague = router.route("hmm")
    assert vague is not None and vague.confidence < THRESHOLD
    assert set(WordCountRouter({"a": ["x y"]}).counts) == {"a"}
    unknown = demo_router_model(descriptions={"returns": "sending items back for exchange"})
    decision = ModelRouter(unknown, {"returns": "x"}).route("I want to exchange this item")
    assert decision is not None and decision.specialist == "returns"


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("the parcel never came", "shipping"),
        ("package is missing", "shipping"),
        ("it still has not shown up, A-1003", "shipping"),
        ("you took my money twice", "billing"),
        ("why did you bill me two times?", "billing"),
        ("I want my money back for A-1001", "billing"),
        ("I cannot get into my account", "account"),
        ("password reset does not work", "account"),
        ("my headphones make a buzzing noise", "technical"),
        ("there is a charge I did not make", "fraud"),
        ("my account was hacked", "fraud"),
        ("what are your opening hours?", "general"),
    ],
)
def test_plainly_worded_requests_reach_their_department_offline(text: str, department: str) -> None:
    """The served router's offline strategies (rules, hash embeddings, the stand-in) at 0.5."""
    assert routed(build_router("hybrid"), text) == department


# -- conversations ------------------------------------------------------------------------------


def converse(router: Router, texts: list[str]) -> list[dict[str, Any]]:
    conversation = ConversationRouter(router, THRESHOLD)
    previous: dict[str, Any] | None = None
    routes = []
    for index in range(len(texts)):
        previous = route_record(conversation.route(texts[: index + 1], previous), threshold=0.5)
        routes.append(previous)
    return routes


def test_a_vague_follow_up_stays_with_the_specialist_beyond_the_window() -> None:
    texts = ["The app crashes on start.", "ok", "and?", "hm", "still the same"]
    routes = converse(RuleRouter(SUPPORT_RULES), texts)
    assert [r["routed_to"] for r in routes] == ["technical"] * 5
    assert [r["basis"] for r in routes] == ["latest", "conversation", "conversation"] + [
        "follow-up"
    ] * 2
    assert "staying with technical" in routes[-1]["reason"]


def test_a_yes_to_triage_takes_the_best_guess_and_a_no_does_not() -> None:
    rules = RuleRouter(SUPPORT_RULES)
    yes = converse(rules, ["The payment for my parcel looks wrong.", "Yes, it's order A-1002."])
    assert yes[0]["routed_to"] == TRIAGE and yes[0]["specialist"] == "billing"
    assert yes[1]["routed_to"] == "billing" and yes[1]["basis"] == "confirmed"
    assert yes[1]["confidence"] == 1.0 and "confirmed the best guess" in yes[1]["reason"]
    no = converse(rules, ["The payment for my parcel looks wrong.", "No, not that."])
    assert no[1]["routed_to"] == TRIAGE


def test_a_clear_new_request_switches_department_mid_conversation() -> None:
    texts = ["Where is my parcel? The courier is late.", "Do you sell gift cards?"]
    routes = converse(RuleRouter(SUPPORT_RULES), texts)
    assert [r["routed_to"] for r in routes] == ["shipping", "general"]
    assert routes[1]["basis"] == "latest"


def test_every_strategy_reads_the_conversation() -> None:
    """The turn alone goes to triage; with the conversation it reaches its department."""
    texts = ["My headphones will not pair with my laptop.", "Tried that. No luck."]
    for strategy in ("rules", "embeddings", "model", "hybrid"):
        router = build_router(strategy)
        assert routed(router, texts[1]) != "technical", strategy
        assert converse(router, texts)[1]["routed_to"] == "technical", strategy


def test_the_hybrid_lets_rules_read_the_conversation_before_looser_strategies_guess() -> None:
    loose = ModelRouter(
        ScriptedChatModel(
            replies=[{"specialist": "shipping", "confidence": 0.9, "reason": "a guess"}],
            cycle=True,
        ),
        SUPPORT_DESCRIPTIONS,
    )
    hybrid = HybridRouter([RuleRouter(SUPPORT_RULES), loose], THRESHOLD)
    routes = converse(hybrid, ["The app crashes on start.", "I reinstalled it, same thing."])
    assert routes[1]["routed_to"] == "technical" and routes[1]["strategy"] == "rules"


def test_an_empty_conversation_and_a_bad_window() -> None:
    router = ConversationRouter(RuleRouter(SUPPORT_RULES), THRESHOLD)
    empty = router.route([])
    assert empty.decision is None
    assert route_record(empty, threshold=0.5)["routed_to"] == TRIAGE
    with pytest.raises(ValueError, match="window"):
        ConversationRouter(RuleRouter(SUPPORT_RULES), THRESHOLD, window=0)


# -- the strategies' own rules --------------------------------------------------------------


def test_rule_confidence_is_the_smoothed_share_of_matching_rules() -> None:
    router = RuleRouter({"billing": [r"\brefund", r"\bcharged\b"], "shipping": [r"\bparcel\b"]})
    assert router.route("what is the weather") is None
    one = router.route("refund please")
    assert one is not None and one.confidence == pytest.approx(1 / 2)
    two = router.route("I was charged, refund please")
    assert two is not None and two.confidence == pytest.approx(2 / 3)
    mixed = router.route("refund the parcel")
    assert mixed is not None and mixed.specialist == "billing"
    assert mixed.confidence == pytest.approx(1 / 3) and "shipping 1" in mixed.reason


def test_model_router_rejects_unknown_names_and_clips_confidence() -> None:
    model = ScriptedChatModel(
        replies=[
            {"specialist": "returns", "confidence": 0.9, "reason": "x"},
            {"specialist": " Billing ", "confidence": 1.7, "reason": "money"},
            {"specialist": "billing", "confidence": "very", "reason": "money"},
            {"specialist": "billing", "confidence": "very", "reason": "money"},
        ]
    )
    router = ModelRouter(model, SUPPORT_DESCRIPTIONS)
    assert router.route("can I return this?") is None
    decision = router.route("refund")
    assert decision == RouteDecision(
        specialist="billing", confidence=1.0, reason="money", strategy="model"
    )
    fallback = router.route("refund")  # invalid, asked again once, invalid again
    assert fallback is not None and fallback.specialist == "triage"
    assert fallback.confidence == 0.0, "output that does not validate falls back to triage"
    assert "no valid routing decision" in fallback.reason and "confidence" in fallback.reason


def test_hybrid_takes_the_first_confident_decision_and_skips_the_rest() -> None:
    model = ScriptedChatModel(replies=[])  # calling it would raise ScriptExhaustedError
    hybrid = HybridRouter(
        [RuleRouter(SUPPORT_RULES), ModelRouter(model, SUPPORT_DESCRIPTIONS)], THRESHOLD
    )
    decision = hybrid.route("I was charged twice, I want a refund")
    assert decision is not None and decision.strategy == "rules"
    assert decision.specialist == "billing" and model.calls == []


def test_hybrid_returns_the_best_decision_below_the_threshold_so_the_caller_falls_back() -> None:
    rules = RuleRouter(SUPPORT_RULES)
    embeddings = EmbeddingRouter(SUPPORT_EXAMPLES, create_embeddings("hash"))
    model = ModelRouter(
        ScriptedChatModel(
            replies=[{"specialist": "billing", "confidence": 0.3, "reason": "a guess"}], cycle=True
        ),
        SUPPORT_DESCRIPTIONS,
    )
    hybrid = HybridRouter([rules, embeddings, model], THRESHOLD)

    decision = hybrid.route("Hello?")

    assert decision is not None and decision.confidence < THRESHOLD
    assert routed(hybrid, "Hello?") == TRIAGE
