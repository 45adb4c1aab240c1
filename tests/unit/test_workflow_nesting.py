"""The workflow patterns compose: with each other and with the agent patterns.

Seed 001's shape: research → write → a parallel group that fact-checks and edits the draft at
the same time, as one pipeline whose third stage is a compiled parallel graph; a loop whose
body is a whole pipeline; and an approval inside a ReAct agent deep inside a parallel branch
of a pipeline stage surfaces on the top-level thread and resumes where it was.
"""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from demo.effects import read_effects
from demo.teams import publish_summary
from graphs._pending import unique_interrupts
from graphs.loop import build_loop_graph
from graphs.parallel import build_parallel_graph
from graphs.pipeline import build_pipeline_graph
from models import ScriptedChatModel
from models.scripted import tool_calls_reply
from state.agent_spec import AgentSpec

REQUEST = "Write a note on our refund policy for damaged items."


def agent(name: str, *replies: Any, tools: tuple[Any, ...] = ()) -> AgentSpec:
    model = ScriptedChatModel(replies=list(replies))
    return AgentSpec(
        name, f"the {name} agent", instructions=f"You {name}.", tools=tools, model=model
    )


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def review_group(*, check_tools: tuple[Any, ...] = (), check_replies: tuple[Any, ...] = ()) -> Any:
    """The parallel group: fact-check and edit the draft at once, a synthesizer merges."""
    fact_check = agent(
        "fact_check", *(check_replies or ("Checked: every claim holds.",)), tools=check_tools
    )
    edit = agent("edit", "Edited: We refund damaged items in full within 30 days.")
    merge = ScriptedChatModel(
        replies=["Final note: We refund damaged items in full within 30 days. (facts checked)"]
    )
    return build_parallel_graph(
        [fact_check, edit], aggregate="synthesis", synthesizer=merge, name="review"
    )


def research_write_review(group: Any) -> Any:
    return build_pipeline_graph(
        [
            agent("research", "Facts: damaged items are refunded in full within 30 days."),
            agent("write", "Draft: we refund damaged items."),
            AgentSpec("review", "fact-check and edit at once", graph=group),
        ],
        checkpointer=InMemorySaver(),
    )


def test_a_pipeline_whose_third_stage_is_a_parallel_group() -> None:
    app = research_write_review(review_group())
    config = thread()
    result = app.invoke({"messages": [HumanMessage(REQUEST)]}, config)

    last = result["messages"][-1]
    assert isinstance(last, AIMessage)
    assert last.text.startswith("Final note: We refund damaged items in full")
    stages = app.get_state(config).values["stages"]
    assert [s["name"] for s in stages] == ["research", "write", "review"]
    assert all(s["status"] == "done" for s in stages)
    assert "Draft: we refund damaged items." in stages[2]["input"]  # the group got the draft


def test_an_approval_deep_in_a_branch_of_a_stage_surfaces_and_resumes_inside() -> None:
    publish = tool_calls_reply(("publish_summary", {"title": "Refunds", "body": "Full refunds."}))
    group = review_group(check_tools=(publish_summary,), check_replies=(publish, "Published."))
    app = research_write_review(group)
    config = thread()
    app.invoke({"messages": [HumanMessage(REQUEST)]}, config)

    # the top-level thread waits (LangGraph reports the nested interrupt once per task it
    # passed through; it is one request)
    [pending] = unique_interrupts(app.get_state(config))
    request = pending.value[0]["action_request"]
    assert request["action"] == "publish_summary" and read_effects() == []
    result = app.invoke(Command(resume={pending.id: {"type": "accept", "reviewer": "ana"}}), config)

    assert [e["kind"] for e in read_effects()] == ["summary"]  # published once
    assert result["messages"][-1].text.startswith("Final note:")
    stages = app.get_state(config).values["stages"]
    assert [s["name"] for s in stages] == ["research", "write", "review"]  # none run twice


def test_a_loop_whose_body_is_a_pipeline() -> None:
    drafts = ScriptedChatModel(replies=["Draft one.", "Draft two, with the 30-day window."])
    body = build_pipeline_graph(
        [
            agent("outline", "Outline: refunds.", "Outline: refunds, 30 days."),
            AgentSpec("draft", "writes the note", model=drafts),
        ],
        name="note_pipeline",
    )

    def mentions_window(output: str, _: Any) -> bool:
        return "30-day" in output

    app = build_loop_graph(
        AgentSpec("note", "drafts the note", graph=body),
        until=mentions_window,
        max_rounds=3,
        checkpointer=InMemorySaver(),
    )
    config = thread()
    result = app.invoke({"messages": [HumanMessage(REQUEST)]}, config)

    outcome = app.get_state(config).values["outcome"]
    assert outcome["status"] == "passed" and outcome["rounds"] == 2
    assert "Draft two, with the 30-day window." in result["messages"][-1].text
