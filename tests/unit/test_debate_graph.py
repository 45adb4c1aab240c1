"""The debate graph: rounds, parallel and sequential rounds, challenges naming claims, the
facilitator's citations checked against the transcript, misbehaving models, the served demo."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from demo.product_debate import DEBATE_REQUEST
from graphs.debate import build_debate_graph, check_citations, graph
from models import ScriptedChatModel
from state.agent_spec import AgentSpec
from state.debate import Claim, FacilitatorSummary, SummaryItem
from tests.snapshots import assert_matches_snapshot

REQUEST: Any = {"messages": [HumanMessage("Should we ship the feature?")]}
OFFLINE: Any = {"model": "demo"}


def ask(text: str) -> Any:
    return {"messages": [HumanMessage(text)]}


def evidence(text: str) -> dict[str, Any]:
    return {"points": [{"kind": "evidence", "text": text, "evidence": "data"}]}


def challenge(target: str, text: str) -> dict[str, Any]:
    return {"points": [{"kind": "challenge", "text": text, "target": target}]}


def summary(
    arguments: list[tuple[str, list[str]]],
    recommendation: list[str],
    risks: list[tuple[str, list[str]]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    return {
        "strongest_arguments": [{"text": t, "claims": c} for t, c in arguments],
        "unresolved_risks": [{"text": t, "claims": c} for t, c in risks],
        "recommendation": "Ship it behind a flag.",
        "recommendation_claims": recommendation,
    }


def speaker(name: str, *replies: dict[str, Any]) -> AgentSpec:
    return AgentSpec(
        name,
        f"the {name} view",
        instructions=f"You argue for {name}.",
        model=ScriptedChatModel(replies=list(replies)),
    )


def test_structure_matches_snapshot() -> None:
    assert_matches_snapshot("debate", graph.get_graph().draw_mermaid())


def test_two_rounds_build_a_numbered_transcript_and_the_facilitator_sums_up() -> None:
    a = speaker("pro", evidence("Users asked for it."), evidence("Beta retention rose."))
    b = speaker("con", evidence("It costs a quarter."), challenge("pro-r1-1", "Only 5 asked."))
    facilitator = ScriptedChatModel(
        replies=[summary([("Demand", ["pro-r1-1", "pro-r2-1"])], ["pro-r2-1", "con-r2-1"])]
    )
    out = build_debate_graph([a, b], facilitator=facilitator, rounds=2).invoke(REQUEST)

    assert [c["id"] for c in out["transcript"]] == ["pro-r1-1", "con-r1-1", "pro-r2-1", "con-r2-1"]
    assert out["round"] == 2
    assert [(r["round"], r["perspective"], r["status"]) for r in out["contributions"]] == [
        (1, "pro", "done"),
        (1, "con", "done"),
        (2, "pro", "done"),
        (2, "con", "done"),
    ]
    last = out["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "debate"
    assert last.text.startswith("Recommendation: Ship it behind a flag. [pro-r2-1, con-r2-1]")
    assert "- Demand [pro-r1-1, pro-r2-1]" in last.text
    assert out["status"] == "answered" and out["flags"] == []
    # every perspective was asked once per round, the facilitator once
    assert len(a.model.calls) == 2 and len(b.model.calls) == 2  # type: ignore[union-attr]
    assert len(facilitator.calls) == 1
    assert "[con-r2-1] con (challenges pro-r1-1): Only 5 asked." in facilitator.calls[0].last_text


def test_parallel_rounds_see_only_the_previous_rounds() -> None:
    a = speaker("a", evidence("A1."), evidence("A2."))
    b = speaker("b", evidence("B1."), evidence("B2."))
    facilitator = ScriptedChatModel(replies=[summary([("x", ["a-r1-1"])], ["b-r2-1"])])
    build_debate_graph([a, b], facilitator=facilitator, rounds=2).invoke(REQUEST)

    b_round_1, b_round_2 = (call.last_text for call in b.model.calls)  # type: ignore[union-attr]
    assert "(no claims yet)" in b_round_1 and "[a-r1-1]" not in b_round_1
    assert "[a-r1-1]" in b_round_2 and "[a-r2-1]" not in b_round_2


def test_sequential_rounds_see_the_points_made_before_them_in_the_round() -> None:
    a = speaker("a", evidence("A1."), evidence("A2."))
    b = speaker("b", challenge("a-r1-1", "A1 is weak."), evidence("B2."))
    facilitator = ScriptedChatModel(replies=[summary([("x", ["a-r1-1"])], ["b-r1-1"])])
    out = build_debate_graph(
        [a, b], facilitator=facilitator, rounds=2, parallel_rounds=False
    ).invoke(REQUEST)

    b_round_1, b_round_2 = (call.last_text for call in b.model.calls)  # type: ignore[union-attr]
    assert "[a-r1-1] a: A1." in b_round_1
    assert "[a-r2-1] a: A2." in b_round_2
    # the challenge of a claim made earlier in the same round is known, so it keeps its target
    assert out["transcript"][1]["target"] == "a-r1-1" and out["flags"] == []


def test_a_challenge_names_the_claim_it_targets_and_an_unknown_target_is_flagged() -> None:
    a = speaker("a", evidence("A1."), challenge("b-r1-1", "B1 ignores churn."))
    b = speaker("b", evidence("B1."), challenge("a-r7-3", "A made it up."))
    facilitator = ScriptedChatModel(replies=[summary([("x", ["a-r2-1"])], ["a-r1-1"])])
    out = build_debate_graph([a, b], facilitator=facilitator, rounds=2).invoke(REQUEST)

    by_id = {claim["id"]: claim for claim in out["transcript"]}
    assert by_id["a-r2-1"]["kind"] == "challenge" and by_id["a-r2-1"]["target"] == "b-r1-1"
    assert by_id["b-r2-1"]["kind"] == "challenge" and by_id["b-r2-1"]["target"] is None
    assert out["flags"] == [
        {
            "source": "b",
            "claim": "b-r2-1",
            "problem": "challenges 'a-r7-3', not a claim of the transcript it saw",
        }
    ]
    assert "challenges 'a-r7-3'" in out["messages"][-1].text


def test_the_facilitator_cites_only_claims_of_the_scripted_transcript() -> None:
    a = speaker("a", evidence("A1."))
    b = speaker("b", evidence("B1."))
    facilitator = ScriptedChatModel(
        replies=[
            summary(
                [("Both sides", ["a-r1-1", "ghost-r1-1"]), ("Invented", ["ghost-r2-1"])],
                ["b-r1-1", "nobody-r1-1"],
                risks=[("Risk", ["b-r1-1"])],
            )
        ]
    )
    out = build_debate_graph([a, b], facilitator=facilitator, rounds=1).invoke(REQUEST)

    transcript_ids = {claim["id"] for claim in out["transcript"]}
    assert transcript_ids == {"a-r1-1", "b-r1-1"}
    checked = out["summary"]
    cited = [c for item in checked["strongest_arguments"] for c in item["claims"]]
    cited += [c for item in checked["unresolved_risks"] for c in item["claims"]]
    cited += checked["recommendation_claims"]
    assert set(cited) <= transcript_ids
    assert checked["strongest_arguments"] == [{"text": "Both sides", "claims": ["a-r1-1"]}]
    assert checked["recommendation_claims"] == ["b-r1-1"]
    problems = [flag["problem"] for flag in out["flags"]]
    assert any("'ghost-r1-1'" in p for p in problems)
    assert any("'Invented' rests on no claim" in p for p in problems)
    assert any("'nobody-r1-1'" in p for p in problems)
    assert "Invented" not in out["messages"][-1].text.split("Flagged:")[0]


def test_check_citations_flags_a_recommendation_resting_on_nothing() -> None:
    transcript = [
        Claim(
            id="a-r1-1",
            perspective="a",
            round=1,
            kind="evidence",
            text="x",
            evidence="",
            target=None,
        )
    ]
    answer = FacilitatorSummary(
        strongest_arguments=[SummaryItem(text="t", claims=["a-r1-1"])],
        recommendation="Do it.",
        recommendation_claims=["zz-r1-1"],
    )
    checked, flags = check_citations(answer, transcript)
    assert checked.recommendation_claims == []
    assert [flag["claim"] for flag in flags] == ["zz-r1-1", None]
    assert flags[-1]["problem"] == "the recommendation rests on no claim of the transcript"


def test_a_perspective_invalid_twice_is_recorded_and_the_debate_goes_on() -> None:
    a = speaker("a", evidence("A1."))
    b = speaker("b", {"points": []}, {"points": []})
    facilitator = ScriptedChatModel(replies=[summary([("x", ["a-r1-1"])], ["a-r1-1"])])
    out = build_debate_graph([a, b], facilitator=facilitator, rounds=1).invoke(REQUEST)

    failed = out["contributions"][1]
    assert failed["status"] == "invalid_output" and failed["claims"] == []
    assert "gave no valid Contribution in 2 attempts" in failed["error"]
    assert out["status"] == "answered"
    assert "Missing contributions:\n- round 1, b: the debate.perspective.b gave no valid" in (
        out["messages"][-1].text
    )


def test_a_facilitator_invalid_twice_ends_cleanly_with_the_reason() -> None:
    a = speaker("a", evidence("A1."))
    facilitator = ScriptedChatModel(replies=[{"recommendation": "Go"}], cycle=True)
    out = build_debate_graph([a], facilitator=facilitator, rounds=1).invoke(REQUEST)

    assert out["status"] == "invalid_output" and out["summary"] is None
    assert out["invalid_output"]["attempts"] == 2
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    assert last.text.startswith(
        "The debate ended without a summary: the debate.facilitator gave no valid "
        "FacilitatorSummary in 2 attempts"
    )


def test_models_that_raise_end_the_run_cleanly_saying_why() -> None:
    broken = ScriptedChatModel(replies=[ValueError("model exploded")], cycle=True)
    out = build_debate_graph([AgentSpec("a", "A")], model=broken, rounds=1).invoke(REQUEST)
    assert out["status"] == "no_claims"
    assert out["messages"][-1].text == (
        "The debate produced no claims, so there is nothing to summarise (round 1, a: the "
        "debate.perspective.a failed: ValueError: model exploded)."
    )

    a = speaker("a", evidence("A1."))
    out = build_debate_graph([a], facilitator=broken, rounds=1).invoke(REQUEST)
    assert out["status"] == "failed"
    assert out["messages"][-1].text == (
        "The debate ended without a summary: the debate.facilitator failed: ValueError: "
        "model exploded."
    )


def test_factory_validation() -> None:
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        build_debate_graph([AgentSpec("a", "A")], rounds=0)

    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    with pytest.raises(ValueError, match="has tools or a graph"):
        build_debate_graph([AgentSpec("a", "A", tools=[lookup])])
    with pytest.raises(ValueError):
        build_debate_graph([AgentSpec("facilitate", "reserved")])


def test_a_new_turn_starts_a_fresh_debate() -> None:
    a = speaker("a", evidence("First."), evidence("Second."))
    facilitator = ScriptedChatModel(replies=[summary([("x", ["a-r1-1"])], ["a-r1-1"])], cycle=True)
    compiled = build_debate_graph(
        [a], facilitator=facilitator, rounds=1, checkpointer=InMemorySaver()
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    compiled.invoke(REQUEST, config)
    out = compiled.invoke(ask("And the other feature?"), config)
    assert out["request"] == "And the other feature?"
    assert [(c["id"], c["text"]) for c in out["transcript"]] == [("a-r1-1", "Second.")]


async def test_the_async_path_runs_the_rounds() -> None:
    a = speaker("a", evidence("A1."), evidence("A2."))
    b = speaker("b", evidence("B1."), challenge("a-r1-1", "Weak."))
    facilitator = ScriptedChatModel(replies=[summary([("x", ["b-r2-1"])], ["a-r2-1"])])
    out = await build_debate_graph([a, b], facilitator=facilitator, rounds=2).ainvoke(REQUEST)
    assert [c["id"] for c in out["transcript"]] == ["a-r1-1", "b-r1-1", "a-r2-1", "b-r2-1"]
    assert out["transcript"][-1]["target"] == "a-r1-1"
    assert out["status"] == "answered"


def test_the_product_debate_runs_offline_and_cites_only_its_transcript() -> None:
    out = graph.invoke(ask(DEBATE_REQUEST), context=OFFLINE)

    transcript_ids = {claim["id"] for claim in out["transcript"]}
    assert len(out["transcript"]) == 4 + 8  # one point each in round 1, two in round 2
    challenges = [c for c in out["transcript"] if c["kind"] == "challenge"]
    assert {c["target"] for c in challenges} == {
        "finance-r1-1",
        "research-r1-1",
        "engineering-r1-1",
    }
    checked = out["summary"]
    cited = {c for item in checked["strongest_arguments"] for c in item["claims"]}
    cited |= {c for item in checked["unresolved_risks"] for c in item["claims"]}
    assert cited | set(checked["recommendation_claims"]) <= transcript_ids
    assert out["flags"] == []
    assert out["messages"][-1].text.startswith("Recommendation: Launch a read-only offline mode")


def test_a_parallel_rounds_perspectives_run_at_the_same_time() -> None:
    """Each perspective's model waits at a barrier for the other: one at a time would fail."""
    barrier = threading.Barrier(3, timeout=10)

    def meeting(text: str) -> Any:
        def reply(messages: Any) -> Any:
            barrier.wait()
            return evidence(text)

        return reply

    specs = [
        AgentSpec(name, name, model=ScriptedChatModel(replies=[meeting(name)]))
        for name in ("a", "b", "c")
    ]
    facilitator = ScriptedChatModel(replies=[summary([("x", ["a-r1-1"])], ["c-r1-1"])])
    out = build_debate_graph(specs, facilitator=facilitator, rounds=1).invoke(REQUEST)

    assert [r["status"] for r in out["contributions"]] == ["done", "done", "done"]
    assert [c["text"] for c in out["transcript"]] == ["a", "b", "c"]
