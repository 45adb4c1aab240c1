"""The swarm graph driven by one ScriptedChatModel per agent (and the offline demo model)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from demo.effects import read_effects
from demo.teams import support_agents
from graphs.swarm import build_swarm_graph
from models import ScriptedChatModel, tool_calls_reply
from state.agent_spec import AgentSpec
from tests.snapshots import assert_matches_snapshot

LOOKUP = ("lookup_order", {"order_id": "A-1001"})
REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
TO_BILLING = ("transfer_to_billing", {"reason": "a refund"})
TO_SHIPPING = ("transfer_to_shipping", {"reason": "a delivery question"})


def make(
    **scripts: list[Any],
) -> tuple[Any, dict[str, ScriptedChatModel], dict[str, Any]]:
    """The support swarm with a scripted model per agent (an unscripted agent must not run)."""
    models = {
        agent.name: ScriptedChatModel(replies=scripts.get(agent.name, []))
        for agent in support_agents()
    }
    agents = [dataclasses.replace(a, model=models[a.name]) for a in support_agents()]
    graph = build_swarm_graph(agents, checkpointer=InMemorySaver())
    return graph, models, {"configurable": {"thread_id": uuid.uuid4().hex}}


def ask(graph: Any, config: dict[str, Any], text: str = "refund A-1001", **kw: Any) -> Any:
    return graph.invoke({"messages": [HumanMessage(text)]}, config, **kw)


def tool_results(values: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def assert_every_call_answered(messages: list[Any]) -> None:
    calls = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert sorted(calls) == sorted(answered), "a tool call has no ToolMessage (or vice versa)"


def test_graph_structure_snapshot() -> None:
    served = build_swarm_graph(support_agents())
    assert_matches_snapshot("swarm", served.get_graph().draw_mermaid())


def test_agent_that_answers_keeps_the_conversation() -> None:
    graph, models, config = make(shipping=[tool_calls_reply(LOOKUP), "Delivered on 12 Nov."])

    result = ask(graph, config, "Where is A-1001?")

    assert result["messages"][-1].text == "Delivered on 12 Nov."
    assert result["messages"][-1].name == "shipping"
    assert result["active_agent"] == "shipping" and result["handoffs"] == []
    assert models["shipping"].calls[0].tools == [
        "lookup_order",
        "search_help_docs",
        "transfer_to_billing",
        "transfer_to_technical",
    ]
    system = models["shipping"].calls[0].messages[0]
    assert system.type == "system" and "shipping department" in system.text


def test_happy_path_hands_off_and_the_next_agent_answers() -> None:
    graph, models, config = make(
        shipping=[tool_calls_reply(TO_BILLING)],
        billing=["Billing here: what went wrong with A-1001?"],
    )

    result = ask(graph, config)

    assert result["messages"][-1].text.startswith("Billing here")
    assert result["messages"][-1].name == "billing"
    assert result["active_agent"] == "billing"
    assert result["handoffs"] == [
        {
            "from": "shipping",
            "to": "billing",
            "reason": "a refund",
            "turn": 1,
            "status": "handed off",
        }
    ]
    seen = models["billing"].calls[0].messages
    assert "billing department" in seen[0].text
    assert (
        isinstance(seen[-1], ToolMessage)
        and seen[-1].text == "Transferred to billing. Reason: a refund"
    )
    assert len(models["shipping"].calls) == 1
    assert_every_call_answered(result["messages"])


def test_tool_call_and_handoff_in_the_same_turn_are_both_answered_then_the_next_agent_runs() -> (
    None
):
    graph, models, config = make(
        shipping=[tool_calls_reply(LOOKUP, TO_BILLING)],
        billing=["The kettle cost 89.99; shall I refund it?"],
    )

    result = ask(graph, config)

    results = tool_results(result)
    assert [m.name for m in results] == ["lookup_order", "transfer_to_billing"]
    assert '"status": "delivered"' in results[0].text and results[0].status == "success"
    assert_every_call_answered(result["messages"])
    assert len(models["shipping"].calls) == 1, "shipping stops after handing off"
    billing_prompt = models["billing"].calls[0].messages
    assert [m.name for m in billing_prompt if isinstance(m, ToolMessage)] == [
        "lookup_order",
        "transfer_to_billing",
    ], "the next agent sees the normal tool's result too"
    assert result["active_agent"] == "billing"


def test_next_user_turn_goes_to_the_agent_that_holds_the_conversation() -> None:
    graph, models, config = make(
        shipping=[tool_calls_reply(TO_BILLING)],
        billing=["Which order?", "Thanks, looking at A-1001."],
    )
    ask(graph, config, "I want money back")

    result = ask(graph, config, "It is A-1001")

    assert len(models["shipping"].calls) == 1, "the second turn did not start at shipping"
    assert len(models["billing"].calls) == 2
    assert models["billing"].calls[1].last_text == "It is A-1001"
    assert result["messages"][-1].text == "Thanks, looking at A-1001."
    assert result["active_agent"] == "billing"
    assert graph.get_state(config).values["active_agent"] == "billing"


def test_handoff_loop_ends_at_max_handoffs_with_a_clear_message() -> None:
    graph, models, config = make(
        shipping=[tool_calls_reply(TO_BILLING)] * 10,
        billing=[tool_calls_reply(TO_SHIPPING)] * 10,
    )

    result = ask(graph, config)

    last = result["messages"][-1]
    assert last.name == "swarm" and not last.tool_calls
    assert last.text.startswith(
        "I was passed between billing and shipping 4 times without an answer"
    )
    assert "4 handoffs per message" in last.text
    statuses = [h["status"] for h in result["handoffs"]]
    assert statuses == ["handed off"] * 4 + ["refused"]
    assert len(models["shipping"].calls) == 3 and len(models["billing"].calls) == 2
    assert result["active_agent"] == "shipping", "the agent that tried once more keeps it"
    assert_every_call_answered(result["messages"])

    # The limit is per user turn: the next turn starts with a fresh allowance.
    again = ask(graph, config, "Still nothing?", context={"max_handoffs": 1})
    assert again["messages"][-1].text.startswith("I was passed between billing and shipping once")
    assert [h["status"] for h in again["handoffs"] if h["turn"] == 2] == ["handed off", "refused"]


def test_zero_handoffs_allowed_ends_the_first_handoff_attempt() -> None:
    graph, models, config = make(shipping=[tool_calls_reply(TO_BILLING)])

    result = ask(graph, config, context={"max_handoffs": 0})

    assert result["messages"][-1].text.startswith(
        "shipping tried to hand you to billing, so I stopped here (the limit is 0 handoffs"
    )
    assert models["billing"].calls == []


def test_handoff_to_an_unknown_agent_is_reported_back_to_the_same_agent() -> None:
    graph, models, config = make(
        shipping=[tool_calls_reply(("transfer_to_legal", {"reason": "lawyers"})), "Sorry."],
    )

    result = ask(graph, config)

    error = tool_results(result)[0]
    assert error.status == "error" and "transfer_to_legal" in error.text
    assert models["shipping"].calls[1].messages[-1].tool_call_id == error.tool_call_id
    assert result["messages"][-1].text == "Sorry."
    assert result["handoffs"][0]["status"] == "unknown agent"
    assert result["active_agent"] == "shipping"


def _ask_until_billing_gate() -> tuple[Any, dict[str, ScriptedChatModel], dict[str, Any]]:
    graph, models, config = make(
        shipping=[tool_calls_reply(LOOKUP, TO_BILLING)],
        billing=[tool_calls_reply(REFUND), "Refund handled."],
    )
    ask(graph, config)
    return graph, models, config


def test_refund_inside_billing_interrupts_the_whole_run_on_the_top_level_thread() -> None:
    graph, models, config = _ask_until_billing_gate()

    state = graph.get_state(config)
    assert state.next == ("billing",)
    [pending] = state.interrupts
    [request] = pending.value
    assert request["action_request"] == {"action": "issue_refund", "args": REFUND[1]}
    assert state.values["active_agent"] == "billing"
    inner = graph.get_state(config, subgraphs=True).tasks[0].state
    assert inner.next == ("approval_gate",), "the run waits inside the billing agent"
    assert read_effects("refund") == []


def test_approved_refund_inside_an_agent_runs_once_and_resumes_without_rerunning() -> None:
    graph, models, config = _ask_until_billing_gate()
    assert len(models["billing"].calls) == 1

    result = graph.invoke(Command(resume={"type": "accept", "reviewer": "ana"}), config)

    assert result["messages"][-1].text == "Refund handled."
    assert len(read_effects("refund")) == 1
    assert len(models["shipping"].calls) == 1, "finished agents did not run again"
    assert len(models["billing"].calls) == 2, "billing's first model call was not repeated"
    [record] = result["approvals"]
    assert record["decision"] == "accept" and record["reviewer"] == "ana"
    assert [m.name for m in tool_results(result)] == [
        "lookup_order",
        "transfer_to_billing",
        "issue_refund",
    ]
    assert graph.get_state(config).interrupts == ()
    assert result["active_agent"] == "billing"


def test_rejected_refund_inside_an_agent_is_not_issued() -> None:
    graph, models, config = _ask_until_billing_gate()

    result = graph.invoke(
        Command(resume={"type": "ignore", "reviewer": "dee", "reason": "fraud"}), config
    )

    assert read_effects("refund") == []
    seen = models["billing"].calls[1].messages[-1]
    assert isinstance(seen, ToolMessage) and seen.status == "error"
    assert "Rejected by dee" in seen.text and "fraud" in seen.text
    assert result["approvals"][0]["decision"] == "ignore"
    assert result["messages"][-1].text == "Refund handled."


def test_streaming_with_subgraphs_carries_the_agent_name() -> None:
    graph, _, config = make(
        shipping=[tool_calls_reply(LOOKUP, TO_BILLING)], billing=["Billing answers."]
    )

    chunks = list(
        graph.stream(
            {"messages": [HumanMessage("refund A-1001")]},
            config,
            stream_mode="messages",
            subgraphs=True,
        )
    )

    model_chunks = [(ns, md) for ns, (_, md) in chunks if md["langgraph_node"] == "call_model"]
    agents = [md["agent"] for _, md in model_chunks]
    assert list(dict.fromkeys(agents)) == ["shipping", "billing"]  # text streams in pieces
    for namespace, metadata in model_chunks:
        assert namespace[0].split(":")[0] == metadata["agent"]
    tools_streamed = [md["agent"] for _, (m, md) in chunks if isinstance(m, ToolMessage)]
    assert tools_streamed == ["shipping", "shipping"]

    steps = list(graph.stream(None, config, stream_mode="updates", subgraphs=True))
    assert steps == [], "the finished thread has nothing left to run"


def test_agent_updates_stream_under_the_agent_namespace() -> None:
    graph, _, config = make(shipping=[tool_calls_reply(TO_BILLING)], billing=["Done."])

    steps = list(
        graph.stream(
            {"messages": [HumanMessage("refund")]}, config, stream_mode="updates", subgraphs=True
        )
    )

    where = [(ns[0].split(":")[0] if ns else "swarm", next(iter(update))) for ns, update in steps]
    assert where == [
        ("shipping", "call_model"),
        ("shipping", "run_tools"),
        ("swarm", "shipping"),
        ("swarm", "handoff"),
        ("billing", "call_model"),
        ("swarm", "billing"),
        ("swarm", "handoff"),
    ]


def test_demo_model_hands_a_refund_from_shipping_to_billing_which_asks_for_approval() -> None:
    graph = build_swarm_graph(support_agents(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "demo"}}

    ask(
        graph,
        config,
        "My order A-1001 arrived broken, please refund it.",
        context={"model": "demo"},
    )

    state = graph.get_state(config)
    assert state.values["handoffs"][0]["from"] == "shipping"
    assert state.values["handoffs"][0]["to"] == "billing"
    [pending] = state.interrupts
    assert pending.value[0]["action_request"]["action"] == "issue_refund"
    assert pending.value[0]["action_request"]["args"]["amount"] == 89.99

    result = graph.invoke(Command(resume={"type": "accept"}), config, context={"model": "demo"})

    assert "issue_refund" in result["messages"][-1].text and "issued" in result["messages"][-1].text
    assert len(read_effects("refund")) == 1
    assert result["active_agent"] == "billing"


def _compiled_agent() -> Any:
    return build_swarm_graph([AgentSpec("c", "x")])


@pytest.mark.parametrize(
    ("agents", "default", "problem"),
    [
        ([], None, "At least one agent"),
        ([AgentSpec("a", "x", "y"), AgentSpec("a", "x", "y")], None, "unique"),
        ([AgentSpec("handoff", "x", "y")], None, "reserved"),
        ([AgentSpec("a", "x", "y")], "b", "default_agent"),
        (
            [
                AgentSpec("a", "x", "y"),
                AgentSpec("b", "x", graph=build_swarm_graph([AgentSpec("c", "x")])),
            ],
            None,
            "compiled graph",
        ),
    ],
)
def test_invalid_swarms_are_refused(
    agents: list[AgentSpec], default: str | None, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        build_swarm_graph(agents, default_agent=default)


def test_cli_approvals_list_finds_a_refund_waiting_inside_a_swarm_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli.approvals import pending_approvals

    saver = InMemorySaver()
    graph = build_swarm_graph(support_agents(), checkpointer=saver)
    config = {"configurable": {"thread_id": "desk-1"}}
    ask(
        graph,
        config,
        "My order A-1001 arrived broken, please refund it.",
        context={"model": "demo"},
    )

    [pending] = pending_approvals(saver)

    assert (pending.thread_id, pending.graph_id, pending.action) == (
        "desk-1",
        "swarm",
        "issue_refund",
    )
    assert pending.interrupt_id == graph.get_state(config).interrupts[0].id
