"""The supervisor graph with scripted models: delegation, context, output modes, budgets,
interrupts inside workers (one and two levels down), streaming."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from checkpointers import open_checkpointer
from demo.effects import read_effects
from demo.orders import lookup_order, search_help_docs
from demo.teams import publish_summary, research_team
from graphs.react import build_react_graph
from graphs.supervisor import (
    build_supervisor_graph,
    graph,
    make_delegation_tool,
)
from models import ScriptedChatModel, tool_calls_reply
from state.agent_spec import AgentSpec
from tests.snapshots import assert_matches_snapshot

TASK = "Find our policy on damaged items."
SEARCH = ("search_help_docs", {"query": "damaged items"})
PUBLISH = ("publish_summary", {"title": "Damaged items", "body": "Refunded in full."})


def delegate(worker: str, task: str = TASK) -> tuple[str, dict[str, Any]]:
    return (f"delegate_to_{worker}", {"task": task})


def researcher(replies: list[Any]) -> tuple[AgentSpec, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    spec = AgentSpec(
        "researcher",
        "finds facts",
        instructions="You research.",
        tools=[search_help_docs, lookup_order],
        model=model,
    )
    return spec, model


def writer(replies: list[Any]) -> tuple[AgentSpec, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    spec = AgentSpec(
        "writer",
        "writes and publishes",
        instructions="You write.",
        tools=[publish_summary],
        model=model,
    )
    return spec, model


def new_config() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def ask(app: Any, config: dict[str, Any], text: str = "Summarise the damaged-items policy.") -> Any:
    return app.invoke({"messages": [HumanMessage(text)]}, config)


def tool_messages(values: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def test_structure_snapshot() -> None:
    assert_matches_snapshot("supervisor", graph.get_graph().draw_mermaid())


def test_delegation_tool_takes_a_task_and_is_read_only() -> None:
    tool = make_delegation_tool("researcher", "finds facts")
    assert tool.name == "delegate_to_researcher"
    assert tool.args["task"]["type"] == "string"
    assert tool.metadata == {"side_effects": False, "idempotent": True, "timeout_s": None}
    assert "finds facts" in tool.description


def test_happy_path_worker_gets_only_the_task_and_its_answer_comes_back() -> None:
    worker, worker_model = researcher(
        [tool_calls_reply(SEARCH), "Damaged items are refunded in full."]
    )
    boss = ScriptedChatModel(
        replies=[tool_calls_reply(delegate("researcher")), "Damaged items: full refund."]
    )
    app = build_supervisor_graph([worker], model=boss, checkpointer=InMemorySaver())

    result = ask(app, new_config())

    assert result["messages"][-1].text == "Damaged items: full refund."
    first = worker_model.calls[0].messages
    assert [(type(m), m.text) for m in first] == [
        (SystemMessage, "You research."),
        (HumanMessage, TASK),
    ]
    [answer] = tool_messages(result)
    assert answer.name == "delegate_to_researcher"
    assert answer.text == "Damaged items are refunded in full."
    assert answer.tool_call_id == result["messages"][1].tool_calls[0]["id"]
    assert boss.calls[1].messages[-1] == answer  # the supervisor read the result
    assert boss.calls[0].tools == ["delegate_to_researcher"]
    assert result["delegations"] == [
        {
            "worker": "researcher",
            "task": TASK,
            "tool_call_id": answer.tool_call_id,
            "status": "completed",
        }
    ]


def test_full_history_is_passed_only_when_asked() -> None:
    worker, worker_model = researcher(["Found it."])
    boss = ScriptedChatModel(replies=[tool_calls_reply(delegate("researcher")), "Done."])
    app = build_supervisor_graph([worker], model=boss, pass_full_history=True)

    app.invoke({"messages": [HumanMessage("What about broken kettles?")]})

    received = worker_model.calls[0].messages
    assert [type(m).__name__ for m in received] == ["SystemMessage", "HumanMessage", "HumanMessage"]
    assert received[1].text == "What about broken kettles?"
    assert received[2].text == TASK  # the supervisor's delegating turn itself is not passed


def test_full_history_output_mode_returns_the_workers_transcript() -> None:
    worker, _ = researcher([tool_calls_reply(SEARCH), "Refunded in full."])
    boss = ScriptedChatModel(replies=[tool_calls_reply(delegate("researcher")), "Done."])
    app = build_supervisor_graph([worker], model=boss, output_mode="full_history")

    result = app.invoke({"messages": [HumanMessage("policy?")]})

    [answer] = tool_messages(result)
    assert answer.text.startswith("Transcript of researcher:")
    assert "[researcher] called search_help_docs" in answer.text
    assert "[search_help_docs] " in answer.text and "Damaged or broken items" in answer.text
    assert answer.text.endswith("[researcher] Refunded in full.")
    kinds = [m["type"] for m in answer.artifact["messages"]]
    assert answer.artifact["worker"] == "researcher" and kinds == ["ai", "tool", "ai"]
    # the supervisor's own transcript stays valid: each call answered right after its turn
    assert [type(m).__name__ for m in result["messages"]] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]


def test_parallel_delegations_each_get_one_answer() -> None:
    research, _ = researcher(["Research result."])
    write, _ = writer(["Draft written."])
    boss = ScriptedChatModel(
        replies=[
            tool_calls_reply(delegate("researcher"), delegate("writer", "Draft an intro.")),
            "Both done.",
        ]
    )
    app = build_supervisor_graph([research, write], model=boss, checkpointer=InMemorySaver())

    result = ask(app, new_config())

    calls = result["messages"][1].tool_calls
    answers = {m.tool_call_id: m.text for m in tool_messages(result)}
    assert answers == {calls[0]["id"]: "Research result.", calls[1]["id"]: "Draft written."}
    assert sorted(d["worker"] for d in result["delegations"]) == ["researcher", "writer"]
    assert {m.tool_call_id for m in boss.calls[1].messages if isinstance(m, ToolMessage)} == set(
        answers
    )


def test_own_tool_and_delegation_in_one_turn_are_both_answered() -> None:
    worker, _ = researcher(["Policy found."])
    boss = ScriptedChatModel(
        replies=[
            tool_calls_reply(("lookup_order", {"order_id": "A-1001"}), delegate("researcher")),
            "All answered.",
        ]
    )
    app = build_supervisor_graph([worker], model=boss, tools=[lookup_order])

    result = app.invoke({"messages": [HumanMessage("A-1001 broke")]})

    answered = {m.name: m for m in tool_messages(result)}
    assert set(answered) == {"lookup_order", "delegate_to_researcher"}
    assert '"status": "delivered"' in answered["lookup_order"].text
    assert result["messages"][-1].text == "All answered."


def test_unknown_tool_and_missing_task_become_errors_not_crashes() -> None:
    worker, worker_model = researcher(["unused"])
    boss = ScriptedChatModel(
        replies=[
            tool_calls_reply(
                ("delegate_to_lawyer", {"task": "sue"}), ("delegate_to_researcher", {})
            ),
            "Sorry.",
        ]
    )
    app = build_supervisor_graph([worker], model=boss)

    result = app.invoke({"messages": [HumanMessage("help")]})

    errors = {m.name: m.text for m in tool_messages(result) if m.status == "error"}
    assert "no tool named 'delegate_to_lawyer'" in errors["delegate_to_lawyer"]
    assert "needs a non-empty `task`" in errors["delegate_to_researcher"]
    assert worker_model.calls == []
    assert result["delegations"][0]["status"] == "failed"


def test_a_failing_worker_is_reported_to_the_supervisor() -> None:
    worker, _ = researcher([])  # raises ScriptExhaustedError on its first call
    boss = ScriptedChatModel(replies=[tool_calls_reply(delegate("researcher")), "It failed."])
    app = build_supervisor_graph([worker], model=boss)

    result = app.invoke({"messages": [HumanMessage("help")]})

    [answer] = tool_messages(result)
    assert answer.status == "error" and "researcher failed: ScriptExhaustedError" in answer.text
    assert result["messages"][-1].text == "It failed."


def test_endless_delegation_ends_at_the_budget_with_a_clear_message() -> None:
    worker, worker_model = researcher(["Still nothing."])
    worker_model.cycle = True
    boss = ScriptedChatModel(replies=[tool_calls_reply(delegate("researcher"))], cycle=True)
    app = build_supervisor_graph([worker], model=boss)

    result = app.invoke({"messages": [HumanMessage("loop")]}, context={"max_steps": 3})

    last = result["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "budget"
    assert "step budget (3 model calls per turn)" in last.text
    assert "delegate_to_researcher" in last.text
    assert len(boss.calls) == 3 and len(worker_model.calls) == 2
    not_run = tool_messages(result)[-1]
    assert not_run.status == "error" and not_run.text.startswith("Not run:")
    calls = [c for m in result["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    assert {c["id"] for c in calls} == {m.tool_call_id for m in tool_messages(result)}


def _writer_team() -> tuple[Any, ScriptedChatModel, ScriptedChatModel, ScriptedChatModel]:
    research, research_model = researcher([tool_calls_reply(SEARCH), "Refunded in full."])
    write, write_model = writer([tool_calls_reply(PUBLISH), "Published."])
    boss = ScriptedChatModel(
        replies=[
            tool_calls_reply(delegate("researcher")),
            tool_calls_reply(delegate("writer", "Publish: damaged items are refunded in full.")),
            "Researched and published.",
        ]
    )
    app = build_supervisor_graph([research, write], model=boss, checkpointer=InMemorySaver())
    return app, boss, research_model, write_model


def _run_to_writer_gate(app: Any, config: dict[str, Any]) -> Any:
    first = ask(app, config)
    assert "__interrupt__" in first
    state = app.get_state(config)
    assert state.next == ("writer",)
    [pending] = state.interrupts
    assert pending.value[0]["action_request"] == {"action": "publish_summary", "args": PUBLISH[1]}
    assert read_effects("summary") == []
    return pending


def test_interrupt_inside_a_worker_is_on_the_top_level_thread_and_approval_runs_once() -> None:
    app, boss, research_model, write_model = _writer_team()
    config = new_config()
    _run_to_writer_gate(app, config)
    assert (len(boss.calls), len(research_model.calls), len(write_model.calls)) == (2, 2, 1)

    result = app.invoke(
        Command(resume=[{"type": "accept", "args": None, "reviewer": "lead"}]), config
    )

    assert result["messages"][-1].text == "Researched and published."
    [effect] = read_effects("summary")
    assert effect["title"] == "Damaged items"
    # resuming re-entered the writer at its gate: nothing finished was asked again
    assert (len(boss.calls), len(research_model.calls), len(write_model.calls)) == (3, 2, 2)
    [approval] = result["approvals"]
    assert approval["decision"] == "accept" and approval["reviewer"] == "lead"
    assert approval["agent"] == "writer" and approval["action"] == "publish_summary"
    assert app.get_state(config).next == ()


def test_rejected_approval_inside_a_worker_runs_nothing() -> None:
    app, _, _, write_model = _writer_team()
    config = new_config()
    _run_to_writer_gate(app, config)

    result = app.invoke(
        Command(resume={"type": "ignore", "reviewer": "lead", "reason": "not yet"}), config
    )

    assert read_effects("summary") == []
    rejected = write_model.calls[1].messages[-1]
    assert isinstance(rejected, ToolMessage) and "Rejected by lead" in rejected.text
    assert result["approvals"][0]["decision"] == "ignore"


def test_two_level_hierarchy_interrupt_resumes_at_the_bottom() -> None:
    write, write_model = writer([tool_calls_reply(PUBLISH), "Published."])
    lead = ScriptedChatModel(
        replies=[tool_calls_reply(delegate("writer", "Publish it.")), "Team: published."]
    )
    team = build_supervisor_graph([write], model=lead, name="team")
    top = ScriptedChatModel(
        replies=[tool_calls_reply(delegate("team", "Get it published.")), "Top: done."]
    )
    app = build_supervisor_graph(
        [AgentSpec("team", "a writing team", graph=team)], model=top, checkpointer=InMemorySaver()
    )
    config = new_config()

    ask(app, config)
    state = app.get_state(config)
    assert state.next == ("team",)
    [pending] = state.interrupts
    assert pending.value[0]["action_request"]["action"] == "publish_summary"
    assert lead.calls[0].messages[-1].text == "Get it published."

    result = app.invoke(Command(resume={pending.id: "accept"}), config)

    assert result["messages"][-1].text == "Top: done."
    assert len(read_effects("summary")) == 1
    assert (len(top.calls), len(lead.calls), len(write_model.calls)) == (2, 2, 2)
    assert result["approvals"][0]["agent"] == "team/writer"
    assert tool_messages(result)[0].text == "Team: published."


def test_streaming_with_subgraphs_names_the_agent_on_every_chunk() -> None:
    worker, _ = researcher([tool_calls_reply(SEARCH), "Refunded in full."])
    boss = ScriptedChatModel(replies=[tool_calls_reply(delegate("researcher")), "Done."])
    app = build_supervisor_graph([worker], model=boss)

    chunks = list(
        app.stream(
            {"messages": [HumanMessage("policy?")]},
            stream_mode="messages",
            subgraphs=True,
        )
    )

    by_agent: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
    for namespace, (message, metadata) in chunks:
        by_agent.setdefault(metadata["lc_agent_name"], []).append((namespace, message))
    assert set(by_agent) == {"supervisor", "researcher"}
    assert all(ns == () for ns, _ in by_agent["supervisor"])
    assert all(ns and ns[0].startswith("researcher:") for ns, _ in by_agent["researcher"])
    worker_text = "".join(m.text for _, m in by_agent["researcher"] if m.type == "AIMessageChunk")
    assert "Refunded in full." in worker_text  # the worker's tokens reached the caller
    assert any(m.type == "tool" for _, m in by_agent["researcher"])  # and its tool steps


def test_a_compiled_graph_as_a_worker_and_invalid_names() -> None:
    agent = build_react_graph(ScriptedChatModel(replies=["hi"]), [], name="helper")
    app = build_supervisor_graph(
        [AgentSpec("helper", "says hi", graph=agent)],
        model=ScriptedChatModel(replies=[tool_calls_reply(delegate("helper", "say hi")), "ok"]),
    )
    assert tool_messages(app.invoke({"messages": [HumanMessage("x")]}))[0].text == "hi"
    with pytest.raises(ValueError, match="reserved"):
        build_supervisor_graph([AgentSpec("call_model", "x", graph=agent)])
    for bad in ("two words", ""):
        with pytest.raises(ValueError, match="identifier"):
            AgentSpec(bad, "x", graph=agent)
    with pytest.raises(ValueError, match="At least one"):
        build_supervisor_graph([])
    with pytest.raises(ValueError, match="unique"):
        build_supervisor_graph([AgentSpec("a", "x"), AgentSpec("a", "y")])
    with pytest.raises(ValueError, match="own prompt, tools and model"):
        AgentSpec("helper", "says hi", instructions="Be nice.", graph=agent)
    with pytest.raises(ValueError, match="unknown workers"):
        build_supervisor_graph([AgentSpec("a", "x")], pass_full_history=["b"])


def test_demo_scenario_runs_offline() -> None:
    app = build_supervisor_graph(research_team(), checkpointer=InMemorySaver())
    config = new_config()
    demo = {"model": "demo"}

    first = app.invoke(
        {
            "messages": [
                HumanMessage("Research our refund policy for damaged items and write a summary")
            ]
        },
        config,
        context=demo,
    )

    assert "__interrupt__" in first
    assert [d["worker"] for d in first["delegations"]] == ["researcher"]
    assert "Damaged items are refunded in full" in tool_messages(first)[0].text
    assert app.get_state(config).interrupts[0].value[0]["action_request"]["action"] == (
        "publish_summary"
    )
    result = app.invoke(Command(resume="accept"), config, context=demo)
    assert [d["worker"] for d in result["delegations"]] == ["researcher", "writer"]
    assert len(read_effects("summary")) == 1
    assert "published" in result["messages"][-1].text


@pytest.mark.postgres
def test_worker_interrupt_resumes_from_postgres_in_a_fresh_graph(postgres_url: str) -> None:
    config = new_config()
    with open_checkpointer(postgres_url) as saver:
        app = build_supervisor_graph(
            [writer([tool_calls_reply(PUBLISH), "Published."])[0]],
            model=ScriptedChatModel(
                replies=[
                    tool_calls_reply(delegate("writer", "Publish it.")),
                    "Published it.",
                ],
                index_by="turn",
            ),
            checkpointer=saver,
        )
        ask(app, config)
        assert app.get_state(config).next == ("writer",)
    with open_checkpointer(postgres_url) as saver:
        write, write_model = writer([tool_calls_reply(PUBLISH), "Published."])
        write_model.index_by = "turn"
        fresh = build_supervisor_graph(
            [write],
            model=ScriptedChatModel(
                replies=[tool_calls_reply(delegate("writer", "x")), "Published it."],
                index_by="turn",
            ),
            checkpointer=saver,
        )
        result = fresh.invoke(Command(resume="accept"), config)
    assert result["messages"][-1].text == "Published it."
    assert len(read_effects("summary")) == 1
    assert len(write_model.calls) == 1  # only the writer's answer after the tool ran


async def test_async_run_interrupts_in_the_worker_and_resumes_once() -> None:
    app, boss, research_model, write_model = _writer_team()
    config = new_config()

    names = set()
    async for _, (_, metadata) in app.astream(
        {"messages": [HumanMessage("policy?")]}, config, stream_mode="messages", subgraphs=True
    ):
        names.add(metadata["lc_agent_name"])
    assert names == {"supervisor", "researcher", "writer"}
    state = await app.aget_state(config)
    assert state.next == ("writer",) and len(state.interrupts) == 1

    result = await app.ainvoke(Command(resume="accept"), config)

    assert result["messages"][-1].text == "Researched and published."
    assert len(read_effects("summary")) == 1
    assert (len(boss.calls), len(research_model.calls), len(write_model.calls)) == (3, 2, 2)
