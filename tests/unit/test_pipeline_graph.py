"""The sequential pipeline with scripted models: order and the stage contract, the trace,
approve / edit / reject between stages, a ReAct stage's own approval gate, nesting, failures,
and the served contract-review scenario offline."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from demo.contract_review import CONTRACT_REQUEST, STAGE_NAMES, contract_stages
from demo.effects import read_effects
from demo.teams import publish_summary
from graphs.pipeline import SERVED_OPTIONS, build_pipeline_graph, graph
from models import ScriptedChatModel
from models.scripted import tool_calls_reply
from state.agent_spec import AgentSpec
from tests.snapshots import assert_matches_snapshot

REQUEST = "Write about damaged items."
Graph = CompiledStateGraph[Any, Any, Any, Any]


def stage(
    name: str, *replies: Any, tools: tuple[Any, ...] = ()
) -> tuple[AgentSpec, ScriptedChatModel]:
    model = ScriptedChatModel(replies=list(replies))
    return AgentSpec(
        name, f"the {name} stage", instructions=f"You {name}.", tools=tools, model=model
    ), model


def three(**options: Any) -> tuple[Graph, list[ScriptedChatModel]]:
    specs, models = zip(
        stage("research", "Facts: damaged items are refunded."),
        stage("write", "Draft: we refund damaged items."),
        stage("edit", "Final: We refund damaged items in full."),
        strict=True,
    )
    return build_pipeline_graph(list(specs), checkpointer=InMemorySaver(), **options), list(models)


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def start(
    app: Graph, config: dict[str, Any], text: str = REQUEST, **context: Any
) -> dict[str, Any]:
    return dict(app.invoke({"messages": [HumanMessage(text)]}, config, context=context))


def answer(app: Graph, config: dict[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
    (pending,) = app.get_state(config).interrupts
    return dict(app.invoke(Command(resume={pending.id: decision}), config))


def trace(app: Graph, config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(app.get_state(config).values["stages"])


def test_structure_matches_snapshot() -> None:
    assert_matches_snapshot("pipeline", graph.get_graph().draw_mermaid())


def test_stages_run_in_order_each_on_the_request_and_the_previous_output() -> None:
    app, (research, write, edit) = three()
    config = thread()

    out = start(app, config)

    assert research.calls[0].last_text == REQUEST
    assert write.calls[0].last_text == (
        f"Request:\n{REQUEST}\n\nOutput of research:\nFacts: damaged items are refunded."
    )
    assert edit.calls[0].last_text.endswith("Output of write:\nDraft: we refund damaged items.")
    final = out["messages"][-1]
    assert isinstance(final, AIMessage) and final.name == "pipeline"
    assert final.text == "Final: We refund damaged items in full."
    records = trace(app, config)
    assert [(r["name"], r["status"], r["error"]) for r in records] == [
        ("research", "done", None),
        ("write", "done", None),
        ("edit", "done", None),
    ]
    assert records[1]["input"] == write.calls[0].last_text
    assert records[1]["output"] == "Draft: we refund damaged items."
    assert app.get_state(config).values["status"] == "finished"


def test_a_new_turn_starts_a_new_trace() -> None:
    specs = [stage("first", "one", "three")[0], stage("second", "two", "four")[0]]
    app = build_pipeline_graph(specs, checkpointer=InMemorySaver())
    config = thread()
    start(app, config, "first request")
    out = start(app, config, "second request")
    assert out["messages"][-1].text == "four"
    assert [r["output"] for r in trace(app, config)] == ["three", "four"]
    assert trace(app, config)[0]["input"] == "second request"


def test_accept_between_stages_continues() -> None:
    app, (_, write, edit) = three(approve_after=("write",))
    config = thread()
    start(app, config)
    (pending,) = app.get_state(config).interrupts
    request = pending.value[0]["action_request"]
    assert request == {
        "action": "review_stage_output",
        "args": {"stage": "write", "output": "Draft: we refund damaged items."},
    }
    assert edit.calls == []  # nothing after the gate ran yet

    out = answer(app, config, {"type": "accept", "reviewer": "legal"})

    assert out["messages"][-1].text == "Final: We refund damaged items in full."
    assert len(write.calls) == 1  # the reviewed stage was not run again
    [approval] = out["approvals"]
    assert approval["decision"] == "accept" and approval["reviewer"] == "legal"


def test_edit_replaces_the_output_the_next_stage_receives() -> None:
    app, (_, _, edit) = three(approve_after=("write",))
    config = thread()
    start(app, config)

    edited = {"stage": "write", "output": "Draft: refunds within 5 days."}
    answer(app, config, {"type": "edit", "args": {"action": "review_stage_output", "args": edited}})

    assert edit.calls[0].last_text.endswith("Output of write:\nDraft: refunds within 5 days.")
    write_record = trace(app, config)[1]
    assert (write_record["status"], write_record["output"]) == ("edited", edited["output"])


@pytest.mark.parametrize(
    "decision",
    [
        {"type": "ignore", "reviewer": "legal", "reason": "wrong facts"},
        {"type": "response", "reviewer": "legal", "args": "wrong facts"},
    ],
)
def test_reject_between_stages_ends_the_run_with_a_message(decision: dict[str, Any]) -> None:
    app, (_, _, edit) = three(approve_after=("write",))
    config = thread()
    start(app, config)

    out = answer(app, config, decision)

    assert edit.calls == []
    text = out["messages"][-1].text
    assert "The output of write was rejected by legal: wrong facts" in text
    assert "Stages not run: edit." in text
    assert app.get_state(config).values["status"] == "rejected"
    assert app.get_state(config).next == ()


def test_context_can_skip_the_gates() -> None:
    app, (_, _, edit) = three(approve_after=("write",))
    config = thread()
    out = start(app, config, approve_stages=False)
    assert app.get_state(config).interrupts == ()
    assert out["messages"][-1].text == "Final: We refund damaged items in full."
    assert len(edit.calls) == 1


def test_react_stage_approval_surfaces_on_the_top_level_thread_and_resumes_inside() -> None:
    research, research_model = stage("research", "Facts: refunds in full.")
    publish = ("publish_summary", {"title": "Damaged items", "body": "Refunded in full."})
    writer, writer_model = stage(
        "publisher", tool_calls_reply(publish), "Published the summary.", tools=(publish_summary,)
    )
    closer, _ = stage("close", "Closed: the summary is published.")
    app = build_pipeline_graph([research, writer, closer], checkpointer=InMemorySaver())
    config = thread()

    start(app, config)
    (pending,) = app.get_state(config).interrupts
    assert pending.value[0]["action_request"] == {"action": "publish_summary", "args": publish[1]}
    assert read_effects("summary") == []

    out = answer(app, config, {"type": "accept", "reviewer": "lead"})

    [effect] = read_effects("summary")
    assert effect["title"] == "Damaged items"
    assert out["messages"][-1].text == "Closed: the summary is published."
    # resuming re-entered the publisher at its gate: the research stage was not run again
    assert (len(research_model.calls), len(writer_model.calls)) == (1, 2)
    [approval] = out["approvals"]
    assert approval["agent"] == "publisher" and approval["action"] == "publish_summary"
    assert trace(app, config)[1]["output"] == "Published the summary."


def test_a_stage_can_be_a_compiled_pipeline() -> None:
    inner = build_pipeline_graph(
        [stage("outline", "Outline: A, B")[0], stage("expand", "Text: A then B")[0]],
        name="writing",
    )
    research, _ = stage("research", "Facts: A and B.")
    review, review_model = stage("review", "Reviewed: A then B")
    app = build_pipeline_graph(
        [research, AgentSpec("writing", "outlines and expands", graph=inner), review],
        checkpointer=InMemorySaver(),
    )
    config = thread()

    out = start(app, config)

    assert out["messages"][-1].text == "Reviewed: A then B"
    assert trace(app, config)[1]["output"] == "Text: A then B"
    assert review_model.calls[0].last_text.endswith("Output of writing:\nText: A then B")


def test_a_failing_stage_ends_the_run_cleanly_with_what_was_done() -> None:
    research, _ = stage("research", "Facts: refunds in full.")
    broken, _ = stage("write")  # an empty script: its first call raises
    edit, edit_model = stage("edit", "never")
    app = build_pipeline_graph([research, broken, edit], checkpointer=InMemorySaver())
    config = thread()

    out = start(app, config)

    assert edit_model.calls == []
    text = out["messages"][-1].text
    assert text.startswith("The pipeline stopped at stage write: write failed: ")
    assert "- research: done\n- write: failed" in text and "- edit: not run" in text
    assert text.endswith("Last output (research):\nFacts: refunds in full.")
    values = app.get_state(config).values
    assert values["status"] == "failed" and values["stages"][1]["status"] == "failed"
    assert app.get_state(config).next == ()


def test_a_model_raising_an_error_ends_the_run_cleanly() -> None:
    research, _ = stage("research", ValueError("the model returned garbage"))
    app = build_pipeline_graph([research, stage("write", "never")[0]], checkpointer=InMemorySaver())
    config = thread()

    out = start(app, config)

    assert isinstance(out["messages"][-1], AIMessage)
    assert "the model returned garbage" in out["messages"][-1].text
    assert app.get_state(config).next == ()


def test_a_stage_that_answers_nothing_fails() -> None:
    research, _ = stage("research", "")
    app = build_pipeline_graph([research, stage("write", "never")[0]], checkpointer=InMemorySaver())
    out = start(app, thread())
    assert "research failed: it returned no answer" in out["messages"][-1].text


def test_invalid_options_are_refused() -> None:
    specs = [stage("a", "x")[0], stage("b", "y")[0]]
    with pytest.raises(ValueError, match="unknown stages"):
        build_pipeline_graph(specs, approve_after=("c",))
    with pytest.raises(ValueError, match="last stage"):
        build_pipeline_graph(specs, approve_after=("b",))
    with pytest.raises(ValueError, match="reserved"):
        build_pipeline_graph([stage("finish", "x")[0]])
    with pytest.raises(ValueError, match="unique"):
        build_pipeline_graph([specs[0], specs[0]])


def test_served_contract_review_runs_offline_with_its_gate() -> None:
    assert [s.name for s in contract_stages()] == list(STAGE_NAMES)
    app = build_pipeline_graph(**SERVED_OPTIONS, checkpointer=InMemorySaver())
    config = thread()
    start(app, config, CONTRACT_REQUEST, model="demo")
    (pending,) = app.get_state(config).interrupts
    risks = pending.value[0]["action_request"]["args"]["output"]
    assert "[High] Clause 6 (Term and renewal)" in risks
    assert "[High] Clause 8 (Liability)" in risks
    obligations = trace(app, config)[0]["output"]
    assert "Clause 4 (Fees): Customer shall pay EUR 42,000" in obligations

    edited = risks + "\n- [High] Clause 11 (Governing law): German law, our counsel is in the UK"
    args = {"stage": "assess_risks", "output": edited}
    out = answer(
        app, config, {"type": "edit", "args": {"action": "review_stage_output", "args": args}}
    )

    packet = out["messages"][-1].text
    assert packet.startswith("Contract review packet for the procurement manager")
    assert "Acme Retail Ltd" in packet and "Clause 9 (Data protection)" in packet
    assert "- Clause 11: can we negotiate this (German law, our counsel is in the UK)?" in packet
    assert "Clause 4: can we negotiate" not in packet  # a Low risk raises no question
