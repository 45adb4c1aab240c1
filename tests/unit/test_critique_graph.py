"""The critique graph: structure, accept on round 1, improve to pass, the round limit, modes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from demo.critique_stand_ins import demo_judge, demo_writer, register_stand_ins, review
from graphs.critique import build_critique_graph
from models import ScriptedChatModel
from state.critique import (
    JUDGE_ROLE,
    WRITER_ROLE,
    CritiqueContext,
    JudgeInputs,
    Verdict,
    WriterInputs,
)
from tests.snapshots import assert_matches_snapshot
from tests.stand_ins import recording_stand_ins

REQUEST = "Write a one-line apology for the late order A-1002."


def verdict(score: float, passed: bool, *issues: str) -> Verdict:
    return Verdict(score=score, passed=passed, issues=list(issues))


def run(
    drafts: list[str], verdicts: list[Any], **context: Any
) -> tuple[dict[str, Any], ScriptedChatModel, ScriptedChatModel]:
    writer = ScriptedChatModel(replies=drafts)
    judge = ScriptedChatModel(replies=verdicts)
    graph = build_critique_graph(writer, judge, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    result = graph.invoke({"messages": [("user", REQUEST)]}, config, context=context or None)
    return result, writer, judge


def test_graph_structure_snapshot() -> None:
    assert_matches_snapshot("critique", build_critique_graph().get_graph().draw_mermaid())


def test_passes_on_round_1() -> None:
    result, writer, judge = run(["Sorry, A-1002 is late."], [verdict(0.9, True)])

    assert result["outcome"] == {
        "status": "passed",
        "round": 1,
        "rounds": 1,
        "score": 0.9,
        "passed": True,
        "draft": "Sorry, A-1002 is late.",
    }
    answer = result["messages"][-1]
    assert answer.name == "critique"
    assert answer.text.startswith("Sorry, A-1002 is late.")
    assert "Passed review in round 1 (score 0.90)" in answer.text
    assert len(writer.calls) == 1 and len(judge.calls) == 1
    assert judge.calls[0].structured_output == "Verdict"
    assert REQUEST in judge.calls[0].last_text and "Sorry, A-1002" in judge.calls[0].last_text


def test_improves_to_pass_on_round_3_and_revisions_see_the_issues() -> None:
    result, writer, judge = run(
        ["late.", "Sorry, it is late.", "Sorry, A-1002 is late; it arrives Friday."],
        [
            verdict(0.3, False, "no apology", "no order id"),
            verdict(0.6, False, "no order id"),
            verdict(0.85, True),
        ],
    )

    assert result["outcome"]["status"] == "passed"
    assert result["outcome"]["round"] == 3 and result["outcome"]["score"] == 0.85
    assert [d["round"] for d in result["drafts"]] == [1, 2, 3]
    assert [v["score"] for v in result["verdicts"]] == [0.3, 0.6, 0.85]
    assert result["best"]["round"] == 3
    first_revision = writer.calls[1].last_text
    assert "> late." in first_revision, "the previous draft reaches the generator"
    assert "* no apology" in first_revision and "* no order id" in first_revision
    assert "score 0.30" in first_revision
    assert "Passed review in round 3" in result["messages"][-1].text


def test_hits_the_round_limit_and_returns_the_best_not_the_last() -> None:
    result, writer, judge = run(
        ["draft one", "draft two", "draft three"],
        [verdict(0.4, False, "a"), verdict(0.7, False, "b"), verdict(0.5, False, "c")],
    )

    outcome = result["outcome"]
    assert outcome["status"] == "limit"
    assert outcome["round"] == 2 and outcome["rounds"] == 3
    assert outcome["draft"] == "draft two" and outcome["score"] == 0.7
    assert outcome["passed"] is False
    text = result["messages"][-1].text
    assert text.startswith("draft two")
    assert "No draft passed review in 3 round(s)" in text and "round 2 (score 0.70)" in text
    assert len(writer.calls) == 3 and len(judge.calls) == 3


def test_below_threshold_is_not_accepted_even_if_the_judge_passes_it() -> None:
    result, _, _ = run(
        ["ok-ish", "good"],
        [verdict(0.6, True), verdict(0.95, True)],
        threshold=0.9,
    )

    assert result["outcome"]["status"] == "passed" and result["outcome"]["round"] == 2


def test_max_rounds_from_context() -> None:
    result, writer, _ = run(["one"], [verdict(0.2, False, "bad")], max_rounds=1)

    assert result["outcome"]["status"] == "limit" and result["outcome"]["round"] == 1
    assert len(writer.calls) == 1


def test_single_mode_revises_once_without_a_second_review() -> None:
    result, writer, judge = run(
        ["late.", "Sorry, A-1002 is late."], [verdict(0.3, False, "no apology")], mode="single"
    )

    outcome = result["outcome"]
    assert outcome["status"] == "revised" and outcome["round"] == 2
    assert outcome["score"] is None and outcome["passed"] is None
    assert len(writer.calls) == 2 and len(judge.calls) == 1
    assert result["messages"][-1].text.startswith("Sorry, A-1002 is late.")
    assert "was not reviewed again" in result["messages"][-1].text


def test_single_mode_accepted_first_draft_is_not_revised() -> None:
    result, writer, _ = run(["Sorry."], [verdict(0.9, True)], mode="single")

    assert result["outcome"]["status"] == "passed" and len(writer.calls) == 1


def test_a_tight_recursion_limit_finishes_with_the_best_draft() -> None:
    writer = ScriptedChatModel(replies=["a", "b", "c"], cycle=True)
    judge = ScriptedChatModel(replies=[verdict(0.5, False, "x"), verdict(0.1, False, "y")])
    graph = build_critique_graph(writer, judge, recursion_limit=6)

    result = graph.invoke({"messages": [("user", REQUEST)]}, context={"max_rounds": 10})

    assert result["outcome"]["status"] == "limit"
    assert result["outcome"]["draft"] == "a" and result["outcome"]["rounds"] == 2


def test_history_resets_per_request() -> None:
    writer = ScriptedChatModel(replies=["first answer", "second answer"])
    judge = ScriptedChatModel(replies=[verdict(0.9, True), verdict(0.95, True)])
    graph = build_critique_graph(writer, judge, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "two-requests"}}

    graph.invoke({"messages": [("user", "first")]}, config)
    result = graph.invoke({"messages": [("user", "second")]}, config)

    assert [d["text"] for d in result["drafts"]] == ["second answer"]
    assert result["request"] == "second" and len(result["verdicts"]) == 1


def test_the_judge_defaults_to_the_generator_model() -> None:
    model = ScriptedChatModel(replies=["a draft", verdict(0.9, True)])
    graph = build_critique_graph(model)

    result = graph.invoke({"messages": [("user", REQUEST)]})

    assert result["outcome"]["status"] == "passed"
    assert [c.structured_output for c in model.calls] == [None, "Verdict"]


def test_judge_model_from_the_context_is_a_different_model() -> None:
    writer = ScriptedChatModel(replies=["a draft", "a revision"], cycle=True)
    graph = build_critique_graph(writer)

    result = graph.invoke(
        {"messages": [("user", REQUEST)]}, context={"judge_model": "demo", "max_rounds": 2}
    )

    assert len(result["verdicts"]) == 2, "the demo judge answered, not the scripted writer"
    assert all(c.structured_output is None for c in writer.calls)


def test_offline_demo_stand_ins_improve_to_pass_on_round_3() -> None:
    """On the demo model the writer and the rubric judge play the loop offline."""
    request = "My order A-1001 arrived broken. Can you refund it?"
    result = build_critique_graph().invoke(
        {"messages": [("user", request)]}, context={"model": "demo"}
    )

    assert [v["score"] for v in result["verdicts"]] == [0.25, 0.75, 1.0]
    assert result["outcome"]["status"] == "passed" and result["outcome"]["round"] == 3
    assert result["verdicts"][0]["issues"][0].startswith("Order: name the order (A-1001)")
    final = result["outcome"]["draft"]
    assert "A-1001" in final and "sorry" in final and "Next step:" in final


@pytest.fixture
def stand_in_inputs() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Spy on the stand-ins: record the inputs each role's factory is built with."""
    with recording_stand_ins(
        {WRITER_ROLE: demo_writer, JUDGE_ROLE: demo_judge}, register_stand_ins
    ) as seen:
        yield seen


def test_the_stand_ins_get_the_declared_inputs_on_every_call(
    stand_in_inputs: dict[str, list[dict[str, Any]]],
) -> None:
    """The contract between the graph and a role's stand-in is `WriterInputs`/`JudgeInputs`."""
    request = "My order A-1001 arrived broken. Can you refund it?"
    result = build_critique_graph().invoke(
        {"messages": [("user", request)]}, context={"model": "demo"}
    )
    drafts = [d["text"] for d in result["drafts"]]
    issues = [v["issues"] for v in result["verdicts"]]

    writer, judge = stand_in_inputs[WRITER_ROLE], stand_in_inputs[JUDGE_ROLE]
    assert all(set(call) == set(WriterInputs.__annotations__) for call in writer)
    assert all(set(call) == set(JudgeInputs.__annotations__) for call in judge)
    assert writer == [
        {"request": request, "draft": None, "issues": []},
        {"request": request, "draft": drafts[0], "issues": issues[0]},
        {"request": request, "draft": drafts[1], "issues": issues[1]},
    ]
    assert judge == [{"request": request, "draft": draft} for draft in drafts]


def test_the_stand_ins_play_from_their_inputs_not_the_prompt() -> None:
    request = "Order A-1001 is late.\n- it was due on Monday"
    first = demo_writer(request=request, draft=None, issues=[]).invoke("unrelated").text
    assert first.splitlines()[1:3] == [
        "Thank you for getting in touch with us.",
        "It was due on Monday.",
    ]
    issues = review(request, first).issues
    revised = demo_writer(request=request, draft=first, issues=issues).invoke("unrelated").text
    assert "A-1001" in revised and "sorry" in revised
    verdict = demo_judge(request=request, draft=revised).with_structured_output(Verdict)
    assert verdict.invoke("unrelated") == review(request, revised)


def test_the_rubric_judges_what_the_request_calls_for() -> None:
    plain = review("What are your opening hours?", "Hello,\nWe open at nine.")
    assert plain.issues == ["Next step: say what happens next and when."]
    assert plain.score == 0.75 and not plain.passed

    late = review(f"{REQUEST} And A-1003 too.", "Sorry! Order A-1002. Next step: a refund.")
    assert [i.split(":")[0] for i in late.issues] == ["Order"] and "A-1003" in late.issues[0]

    long = review("Hi", "Next step: " + "word " * 130)
    assert [i.split(":")[0] for i in long.issues] == ["Length"]
    assert review("Hi", "Next step: we call you.").passed


def test_a_real_judge_is_not_replaced_by_the_rubric() -> None:
    judge = ScriptedChatModel(replies=[verdict(0.9, True)])
    result = build_critique_graph(judge=judge).invoke(
        {"messages": [("user", REQUEST)]}, context={"model": "demo"}
    )

    assert result["outcome"]["status"] == "passed" and len(judge.calls) == 1
    assert result["drafts"][0]["text"].startswith("Hello,")  # the demo writer drafted it


OFF_SCALE = {"score": 7, "passed": True, "issues": []}
"""A verdict that does not fit `Verdict` (the score is on a 0..10 scale)."""


def test_an_invalid_verdict_is_asked_again_with_the_error() -> None:
    result, _, judge = run(["draft one"], [OFF_SCALE, verdict(0.9, True)])

    assert result["outcome"]["status"] == "passed" and len(judge.calls) == 2
    assert "Your verdict was invalid (ValidationError" in judge.calls[1].last_text
    assert result.get("judge_error") is None


def test_a_judge_invalid_twice_ends_cleanly_with_the_best_judged_draft() -> None:
    result, writer, judge = run(
        ["draft one", "draft two"],
        [verdict(0.5, False, "too vague"), OFF_SCALE, OFF_SCALE],
        max_rounds=3,
    )

    outcome = result["outcome"]
    assert outcome["status"] == "judge_error" and outcome["round"] == 1
    assert outcome["draft"] == "draft one" and outcome["score"] == 0.5
    assert "ValidationError" in result["judge_error"]
    text = result["messages"][-1].text
    assert "verdict on round 2 was invalid" in text and "best judged draft, round 1" in text
    assert len(writer.calls) == 2 and len(judge.calls) == 3  # no third draft after the error


def test_a_first_verdict_invalid_twice_returns_the_unjudged_draft_and_says_so() -> None:
    result, _, _ = run(["draft one"], [OFF_SCALE, OFF_SCALE])

    assert result["outcome"]["status"] == "judge_error" and result["outcome"]["score"] is None
    assert "returning round 1, which nobody reviewed" in result["messages"][-1].text


def test_a_new_request_clears_the_judge_error() -> None:
    writer = ScriptedChatModel(replies=["draft one", "draft again"])
    judge = ScriptedChatModel(replies=[OFF_SCALE, OFF_SCALE, verdict(0.9, True)])
    graph = build_critique_graph(writer, judge, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [("user", REQUEST)]}, config)

    again = graph.invoke({"messages": [("user", REQUEST)]}, config)

    assert again["outcome"]["status"] == "passed" and again["judge_error"] is None


@pytest.mark.parametrize(
    "bad", [{"mode": "loop"}, {"threshold": 1.5}, {"max_rounds": 0}, {"max_rounds": 11}]
)
def test_context_is_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CritiqueContext(**bad)
