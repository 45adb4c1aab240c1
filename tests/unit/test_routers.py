"""Routing strategies on a labelled set of support requests, and the hybrid's fallback.

Accuracy is measured on ``tests/data/routing_requests.json`` (42 requests: 12 per department
and 6 too vague to route, labelled ``triage``), written apart from the examples the embedding
router ships with. "Routed accuracy" counts where a request would go: the decided specialist
when its confidence reaches the threshold, else triage. The floors are a little under what was
measured, so a regression fails while the numbers stay honest (see docs/patterns/router.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from demo.routing_examples import SUPPORT_DESCRIPTIONS, SUPPORT_EXAMPLES, SUPPORT_RULES
from memory.embeddings import create_embeddings
from models import ScriptedChatModel
from nodes.routers import (
    TRIAGE,
    EmbeddingRouter,
    HybridRouter,
    ModelRouter,
    Router,
    RuleRouter,
)
from state.routing import RouteDecision

DATA = Path(__file__).resolve().parents[1] / "data" / "routing_requests.json"
REQUESTS: list[dict[str, str]] = json.loads(DATA.read_text(encoding="utf-8"))["requests"]
LABELS = {item["text"]: item["label"] for item in REQUESTS}
THRESHOLD = 0.5


def routed(router: Router, text: str, threshold: float = THRESHOLD) -> str:
    decision = router.route(text)
    if decision is None or decision.confidence < threshold:
        return TRIAGE
    return decision.specialist


def accuracy(router: Router) -> tuple[float, float]:
    """(top-1 accuracy on the department requests, routed accuracy on all requests)."""
    departments = [r for r in REQUESTS if r["label"] != TRIAGE]
    top1 = sum(
        (d := router.route(r["text"])) is not None and d.specialist == r["label"]
        for r in departments
    ) / len(departments)
    routed_ok = sum(routed(router, r["text"]) == r["label"] for r in REQUESTS) / len(REQUESTS)
    return top1, routed_ok


def scripted_router_model() -> ScriptedChatModel:
    """A model that knows the labels: confident on departments, unsure on vague requests."""

    def answer(messages: list[BaseMessage]) -> dict[str, Any]:
        label = LABELS[messages[-1].text]
        if label == TRIAGE:
            return {"specialist": "shipping", "confidence": 0.2, "reason": "vague"}
        return {"specialist": label, "confidence": 0.9, "reason": f"about {label}"}

    return ScriptedChatModel(replies=[answer], cycle=True)


def test_the_labelled_set_is_large_varied_and_apart_from_the_examples() -> None:
    counts = {label: 0 for label in (*SUPPORT_DESCRIPTIONS, TRIAGE)}
    for item in REQUESTS:
        counts[item["label"]] += 1
    assert all(counts[name] >= 12 for name in SUPPORT_DESCRIPTIONS), counts
    assert counts[TRIAGE] >= 5 and len(REQUESTS) >= 36
    examples = {text.lower() for texts in SUPPORT_EXAMPLES.values() for text in texts}
    assert not examples & {item["text"].lower() for item in REQUESTS}


def test_rule_router_accuracy() -> None:
    top1, routed_ok = accuracy(RuleRouter(SUPPORT_RULES))
    print(f"rules: top-1 {top1:.2f}, routed {routed_ok:.2f}")
    assert top1 >= 0.8 and routed_ok >= 0.8


@pytest.mark.parametrize(
    ("department", "rule"),
    [(name, rule) for name, rules in SUPPORT_RULES.items() for rule in rules],
)
def test_every_rule_matches_a_request_of_its_department(department: str, rule: str) -> None:
    """A rule that matches nothing (an English sentence used as a regex) is dead weight."""
    texts = [r["text"] for r in REQUESTS if r["label"] == department]
    texts += SUPPORT_EXAMPLES[department]
    assert any(re.search(rule, text, re.IGNORECASE) for text in texts), rule


def test_embedding_router_accuracy_with_offline_hash_embeddings() -> None:
    router = EmbeddingRouter(SUPPORT_EXAMPLES, create_embeddings("hash"))
    top1, routed_ok = accuracy(router)
    print(f"embeddings (hash): top-1 {top1:.2f}, routed {routed_ok:.2f}")
    assert top1 >= 0.65 and routed_ok >= 0.5


def test_model_router_with_a_scripted_model_routes_every_request() -> None:
    model = scripted_router_model()
    router = ModelRouter(model, SUPPORT_DESCRIPTIONS)
    top1, routed_ok = accuracy(router)
    assert top1 == 1.0 and routed_ok == 1.0
    prompt = model.calls[0].messages[0].text
    assert all(f"- {name}:" in prompt for name in SUPPORT_DESCRIPTIONS)
    assert model.calls[0].structured_output == "RouteDecision"


def test_hybrid_router_accuracy_rules_then_embeddings() -> None:
    rules = RuleRouter(SUPPORT_RULES)
    embeddings = EmbeddingRouter(SUPPORT_EXAMPLES, create_embeddings("hash"))
    top1, routed_ok = accuracy(HybridRouter([rules, embeddings], THRESHOLD))
    print(f"hybrid (rules, embeddings): top-1 {top1:.2f}, routed {routed_ok:.2f}")
    assert top1 >= 0.85 and routed_ok >= 0.8


def test_hybrid_with_the_scripted_model_last_routes_everything() -> None:
    rules = RuleRouter(SUPPORT_RULES)
    embeddings = EmbeddingRouter(SUPPORT_EXAMPLES, create_embeddings("hash"))
    model = ModelRouter(scripted_router_model(), SUPPORT_DESCRIPTIONS)
    _, routed_ok = accuracy(HybridRouter([rules, embeddings, model], THRESHOLD))
    print(f"hybrid (rules, embeddings, scripted model): routed {routed_ok:.2f}")
    assert routed_ok >= 0.8


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("the parcel never came", "shipping"),
        ("package is missing", "shipping"),
        ("it still has not shown up, A-1003", "shipping"),
        ("you took my money twice", "billing"),
        ("why did you bill me two times?", "billing"),
        ("I want my money back for A-1001", "billing"),
        ("I cannot get into my account", "technical"),
        ("password reset does not work", "technical"),
        ("my headphones make a buzzing noise", "technical"),
    ],
)
def test_plainly_worded_requests_reach_their_department_offline(text: str, department: str) -> None:
    """The served router's offline strategies (rules, then hash embeddings) at threshold 0.5."""
    hybrid = HybridRouter(
        [RuleRouter(SUPPORT_RULES), EmbeddingRouter(SUPPORT_EXAMPLES, create_embeddings("hash"))],
        0.5,
    )
    assert routed(hybrid, text) == department


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
            {"specialist": "fraud", "confidence": 0.9, "reason": "x"},
            {"specialist": " Billing ", "confidence": 1.7, "reason": "money"},
            {"specialist": "billing", "confidence": "very", "reason": "money"},
            {"specialist": "billing", "confidence": "very", "reason": "money"},
        ]
    )
    router = ModelRouter(model, SUPPORT_DESCRIPTIONS)
    assert router.route("is this fraud?") is None
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
