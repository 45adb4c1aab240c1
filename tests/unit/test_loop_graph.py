"""The loop graph with scripted models: judge and predicate stops, feedback between rounds,
the round limit, compiled-graph bodies, approvals inside the body, a failing body, a
misbehaving judge, and the supplier-CSV scenario offline."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command
from pydantic import BaseModel

from demo.effects import read_effects, record_effect
from demo.supplier_csv import SUPPLIER_REQUEST, csv_repair_body, extract_csv, find_problems
from graphs.loop import build_loop_graph, graph
from models import HeuristicDemoModel, ScriptedChatModel
from models.scripted import tool_calls_reply
from nodes.model_call import resolve_model
from state.agent_spec import AgentSpec
from state.loop import LoopVerdict, judge_role
from tests.snapshots import assert_matches_snapshot
from tools.registry import agent_tool

REQUEST = "Write the release note for version 2.1."
PASS = LoopVerdict(passes=True, reason="ready to publish")


def fail(*issues: str) -> LoopVerdict:
    return LoopVerdict(passes=False, reason="not ready", remaining_issues=list(issues))


def writer(replies: list[Any]) -> tuple[AgentSpec, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    return AgentSpec("writer", "writes release notes", "You write.", model=model), model


def thread() -> Any:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def run(app: Any, config: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    return dict(app.invoke({"messages": [HumanMessage(REQUEST)]}, config, context=context))


def loop_state(app: Any, config: dict[str, Any]) -> dict[str, Any]:
    return dict(app.get_state(config).values)


def test_structure_matches_snapshot() -> None:
    assert_matches_snapshot("loop", graph.get_graph().draw_mermaid())


def test_passes_in_the_first_round() -> None:
    body, body_model = writer(["Version 2.1 adds exports."])
    judge = ScriptedChatModel(replies=[PASS])
    app = build_loop_graph(body, judge=judge, checkpointer=InMemorySaver())
    config = thread()

    out = run(app, config)

    assert out["messages"][-1].text.startswith("Version 2.1 adds exports.")
    assert "Passed in round 1 of at most 3: ready to publish" in out["messages"][-1].text
    values = loop_state(app, config)
    assert values["outcome"]["status"] == "passed" and values["outcome"]["rounds"] == 1
    assert len(body_model.calls) == len(judge.calls) == 1
    assert "Version 2.1 adds exports." in judge.calls[0].last_text


def test_feedback_goes_into_the_next_round_and_every_round_is_kept() -> None:
    body, body_model = writer(["Draft one.", "Draft two, with the date."])
    judge = ScriptedChatModel(replies=[fail("Give the release date."), PASS])
    app = build_loop_graph(body, judge=judge, checkpointer=InMemorySaver())
    config = thread()

    out = run(app, config)

    second = body_model.calls[1].last_text
    assert second.startswith(REQUEST)
    assert "> Draft one." in second and "* Give the release date." in second
    rounds = loop_state(app, config)["rounds"]
    assert [(r["round"], r["output"], r["verdict"]["passes"]) for r in rounds] == [
        (1, "Draft one.", False),
        (2, "Draft two, with the date.", True),
    ]
    assert rounds[0]["input"] == REQUEST and rounds[1]["input"] == second
    assert rounds[0]["verdict"]["remaining_issues"] == ["Give the release date."]
    assert out["messages"][-1].text.startswith("Draft two, with the date.")
    assert loop_state(app, config)["outcome"]["round"] == 2


def test_never_passing_stops_at_the_round_limit_and_says_what_still_fails() -> None:
    body, body_model = writer(["Try 1.", "Try 2.", "Try 3."])
    judge = ScriptedChatModel(replies=[fail("Too vague.")], cycle=True)
    app = build_loop_graph(body, judge=judge, max_rounds=2, checkpointer=InMemorySaver())
    config = thread()

    out = run(app, config)

    text = out["messages"][-1].text
    assert text.startswith("Try 2.")
    assert "Did not pass in 2 round(s) (limit 2)" in text and "Still to fix: Too vague." in text
    outcome = loop_state(app, config)["outcome"]
    assert outcome["status"] == "limit" and outcome["passed"] is False
    assert outcome["remaining_issues"] == ["Too vague."]
    assert len(body_model.calls) == 2


def test_the_runs_max_rounds_can_only_lower_the_graphs() -> None:
    body, body_model = writer(["Try 1.", "Try 2."])
    judge = ScriptedChatModel(replies=[fail("Too vague.")], cycle=True)
    app = build_loop_graph(body, judge=judge, max_rounds=5)

    out = run(app, max_rounds=1)

    assert "Did not pass in 1 round(s) (limit 1)" in out["messages"][-1].text
    assert len(body_model.calls) == 1
    with pytest.raises(ValueError, match="max_rounds must be between 1 and 10"):
        build_loop_graph(body, max_rounds=0)


def test_a_callable_predicate_stops_the_loop_without_a_judge() -> None:
    body, body_model = writer(["almost", "DONE: the note"])
    seen: list[str] = []

    def until(output: str, state: Any) -> bool:
        seen.append(output)
        return output.startswith("DONE")

    judge = ScriptedChatModel(replies=[])  # never asked: any call would raise
    app = build_loop_graph(body, until=until, judge=judge, checkpointer=InMemorySaver())
    config = thread()

    out = run(app, config)

    assert seen == ["almost", "DONE: the note"]
    assert out["messages"][-1].text.startswith("DONE: the note")
    assert judge.calls == []
    first = loop_state(app, config)["rounds"][0]["verdict"]
    assert first == {
        "passes": False,
        "reason": "the stop condition does not hold yet",
        "remaining_issues": [],
    }


def test_a_predicate_may_return_a_verdict_with_feedback() -> None:
    body, body_model = writer(["short", "a longer answer"])

    def until(output: str, state: Any) -> LoopVerdict:
        if len(output.split()) >= 3:
            return LoopVerdict(passes=True, reason="long enough")
        return fail("Use at least three words.")

    out = run(build_loop_graph(body, until=until))

    assert "* Use at least three words." in body_model.calls[1].last_text
    assert "Passed in round 2 of at most 3: long enough" in out["messages"][-1].text


def _two_stage_body(log: list[str]) -> Any:
    """A compiled two-node graph (draft, then polish) that fixes what the feedback asks."""

    def draft(state: MessagesState) -> dict[str, Any]:
        task = state["messages"][-1].text
        log.append(task)
        text = "note with date" if "Remaining issues" in task else "note"
        return {"messages": [AIMessage(text)]}

    def polish(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(state["messages"][-1].text.capitalize() + ".")]}

    builder = StateGraph(MessagesState)
    builder.add_node("draft", draft).add_node("polish", polish)
    builder.add_edge(START, "draft").add_edge("draft", "polish")
    return builder.compile()


def test_a_compiled_graph_body_nests() -> None:
    log: list[str] = []
    body = AgentSpec("drafting", "drafts and polishes", graph=_two_stage_body(log))
    judge = ScriptedChatModel(
        replies=[lambda messages: PASS if "with date" in messages[-1].text else fail("No date.")],
        cycle=True,
    )

    out = run(build_loop_graph(body, judge=judge))

    assert out["messages"][-1].text.startswith("Note with date.")
    assert len(log) == 2 and "* No date." in log[1]


def test_a_loop_nests_inside_a_loop() -> None:
    inner_body, _ = writer(["inner answer"] * 4)
    inner = build_loop_graph(inner_body, until=lambda output, state: True, name="inner")
    outer = build_loop_graph(
        AgentSpec("inner", "an inner loop", graph=inner), until=lambda output, state: True
    )

    out = run(outer)

    text = out["messages"][-1].text
    assert text.startswith("inner answer\n\n(Passed in round 1")  # the inner loop's answer ...
    assert text.endswith("(Passed in round 1 of at most 3: the stop condition holds)")


class NoteArgs(BaseModel):
    text: str


@agent_tool(args_schema=NoteArgs, side_effects=True, idempotent=True)
def publish_note(text: str) -> dict[str, Any]:
    """Publish the release note (visible to customers)."""
    return record_effect("note_published", {"text": text})


def test_an_approval_inside_the_body_surfaces_on_the_loops_thread_and_resumes_inside() -> None:
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("publish_note", {"text": "2.1"})), "Published 2.1."]
    )
    body = AgentSpec("publisher", "publishes", "You publish.", tools=[publish_note], model=model)
    app: Any = build_loop_graph(
        body, until=lambda output, state: "Published" in output, checkpointer=InMemorySaver()
    )
    config = thread()

    run(app, config)
    [pending] = app.get_state(config).interrupts
    assert pending.value[0]["action_request"] == {"action": "publish_note", "args": {"text": "2.1"}}
    assert read_effects("note_published") == []

    out = app.invoke(Command(resume={pending.id: {"type": "accept", "reviewer": "ed"}}), config)

    assert out["messages"][-1].text.startswith("Published 2.1.")
    assert len(read_effects("note_published")) == 1
    [approval] = loop_state(app, config)["approvals"]
    assert (approval["action"], approval["round"]) == ("publish_note", 1)


def test_a_body_that_raises_fails_its_round_and_the_next_round_hears_why() -> None:
    body, body_model = writer([RuntimeError("model overloaded"), "Recovered."])
    judge = ScriptedChatModel(replies=[PASS])
    app = build_loop_graph(body, judge=judge, checkpointer=InMemorySaver())
    config = thread()

    out = run(app, config)

    first = loop_state(app, config)["rounds"][0]
    assert first["output"] == "" and "RuntimeError: model overloaded" in first["error"]
    assert first["verdict"]["passes"] is False
    assert "model overloaded" in body_model.calls[-1].last_text
    assert out["messages"][-1].text.startswith("Recovered.")
    assert len(judge.calls) == 1  # a failed round is not judged


def test_a_misbehaving_judge_ends_the_run_cleanly() -> None:
    body, _ = writer(["Draft one."])
    judge = ScriptedChatModel(replies=[{"passes": "maybe"}], cycle=True)
    app = build_loop_graph(body, judge=judge, checkpointer=InMemorySaver())
    config = thread()

    out = run(app, config)

    text = out["messages"][-1].text
    assert text.startswith("Draft one.")
    assert "Stopped: the judge's verdict on round 1 was invalid" in text
    assert "the judge gave no valid LoopVerdict in 2 attempts" in text
    outcome = loop_state(app, config)["outcome"]
    assert outcome["status"] == "judge_error" and outcome["passed"] is False
    assert len(judge.calls) == 2  # asked once more with the error


def test_a_new_turn_starts_its_rounds_afresh() -> None:
    body, _ = writer(["One.", "Two."])
    app = build_loop_graph(body, until=lambda output, state: True, checkpointer=InMemorySaver())
    config = thread()

    run(app, config)
    run(app, config)

    rounds = loop_state(app, config)["rounds"]
    assert [(r["round"], r["output"]) for r in rounds] == [(1, "Two.")]


async def test_the_async_path_runs_rounds_and_resumes_an_approval() -> None:
    model = ScriptedChatModel(
        replies=["Draft.", tool_calls_reply(("publish_note", {"text": "x"})), "Published x."]
    )
    body = AgentSpec("publisher", "publishes", "You publish.", tools=[publish_note], model=model)
    judge = ScriptedChatModel(replies=[fail("Publish it."), PASS])
    app: Any = build_loop_graph(body, judge=judge, checkpointer=InMemorySaver())
    config = thread()

    await app.ainvoke({"messages": [HumanMessage(REQUEST)]}, config)
    state = await app.aget_state(config)
    assert state.next == ("body",) and len(state.interrupts) == 1
    assert state.values["round"] == 1  # round 2 is paused inside its body

    out = await app.ainvoke(Command(resume="accept"), config)

    assert out["messages"][-1].text.startswith("Published x.")
    assert "Passed in round 2" in out["messages"][-1].text
    assert len(read_effects("note_published")) == 1


def test_the_supplier_scenario_runs_offline_and_passes_in_round_two() -> None:
    app: Any = build_loop_graph(
        csv_repair_body(), model=HeuristicDemoModel(), checkpointer=InMemorySaver()
    )
    config = thread()

    out = app.invoke({"messages": [HumanMessage(SUPPLIER_REQUEST)]}, config)

    rounds = loop_state(app, config)["rounds"]
    assert [r["verdict"]["passes"] for r in rounds] == [False, True]
    issues = rounds[0]["verdict"]["remaining_issues"]
    assert any("duplicate" in i for i in issues) and any("ISO 8601" in i for i in issues)
    text = out["messages"][-1].text
    assert "Drop duplicate rows by supplier_id" in text
    assert "Passed in round 2 of at most 3" in text
    tools_called = [m.name for m in out["messages"] if m.type == "tool"]
    assert tools_called == []  # the body's tool calls stay inside the body, not the thread


def test_the_scenarios_stand_in_plays_only_its_own_body() -> None:
    other = AgentSpec("summariser", "summarises", "You summarise.", model=HeuristicDemoModel())
    supplier = AgentSpec("csv_profiler", "profiles", "You profile.", model=HeuristicDemoModel())
    done = build_loop_graph(other, until=lambda output, state: True)
    played = build_loop_graph(supplier, until=lambda output, state: True)

    assert "No CSV sample found" not in run(done)["messages"][-1].text  # the demo model itself
    assert "No CSV sample found" in run(played)["messages"][-1].text  # the stand-in


def test_the_scenarios_judge_stand_in_judges_only_its_own_loop() -> None:
    import demo.supplier_csv  # noqa: F401 - registers the scenario's stand-ins

    demo_model = HeuristicDemoModel()
    other = resolve_model(demo_model, "", role=judge_role("summariser"), inputs={})
    inputs = {"request": "a plan", "output": "a plan", "round": 1}
    own = resolve_model(demo_model, "", role=judge_role("csv_profiler"), inputs=inputs)

    assert other is demo_model  # no stand-in for another loop's judge
    assert own is not demo_model


def test_the_sample_has_the_problems_the_judge_checks() -> None:
    keys = [p.key for p in find_problems(extract_csv(SUPPLIER_REQUEST))]
    assert keys == ["padding", "country", "email", "price", "duplicates", "dates"]
    assert extract_csv("no table here") == ""
