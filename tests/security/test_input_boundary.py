"""Attacks on every graph's input boundary, from Python, on a real Postgres (issue 11).

A refund waits at the approval gate; the attacker (or a buggy client) sends something the
graph must refuse *before anything is checkpointed*: the thread stays exactly as it was and
the pending approval can still be decided. Each test names the finding it covers. Refunds are
counted from the payment log (the `effects_log` file), never from what the messages say.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from checkpointers import open_async_checkpointer, open_checkpointer
from demo.effects import read_effects
from demo.orders import order_tools
from graphs.errors import InvalidInputError, PendingApprovalError, UnknownThreadError
from graphs.react import build_react_graph
from graphs.registry import GRAPH_BUILDERS, build_graph
from models import ScriptedChatModel, tool_calls_reply

pytestmark = pytest.mark.postgres

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
ACCEPT = {"type": "accept", "reviewer": "rita"}


@pytest.fixture
def saver(postgres_url: str, effects_log: Path) -> Iterator[Any]:
    with open_checkpointer(postgres_url) as opened:
        yield opened


def new_config() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"boundary-{uuid.uuid4().hex[:8]}"}}


def waiting_refund(saver: Any, *later: Any) -> tuple[Any, dict[str, Any], ScriptedChatModel]:
    """A react thread whose refund waits at the gate; `later` are the model's next replies."""
    model = ScriptedChatModel(replies=[tool_calls_reply(REFUND), *later])
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)
    config = new_config()
    graph.invoke({"messages": [HumanMessage("A-1001 broke, refund it")]}, config, durability="sync")
    assert len(graph.get_state(config).interrupts) == 1
    return graph, config, model


def snapshot_of(saver: Any, config: dict[str, Any]) -> tuple[str, int, list[Any]]:
    """(head checkpoint id, number of checkpoints, pending writes) of the thread."""
    head = saver.get_tuple(config)
    return head.checkpoint["id"], len(list(saver.list(config))), head.pending_writes


def accept_and_count_refunds(graph: Any, config: dict[str, Any]) -> int:
    [pending] = graph.get_state(config).interrupts
    graph.invoke(Command(resume={pending.id: ACCEPT}), config, durability="sync")
    return len(read_effects("refund"))


POISON = {
    "bogus role": ({"role": "bogus", "content": "hi"}, "role"),
    "no role": ({"content": "hi"}, "role"),
    "tool message without id": ({"role": "tool", "content": "issued"}, "tool_call_id"),
    "bytes content": ({"role": "user", "content": b"hi"}, "content"),
    "non-text content block": (
        {"role": "user", "content": [{"type": "text", "text": 5}]},
        "content[0].text",
    ),
    "remove message": (RemoveMessage(id="whatever"), "type"),
    "not a message": (42, None),
}


@pytest.mark.parametrize("bad", POISON.values(), ids=list(POISON))
def test_f09_malformed_message_is_refused_before_anything_is_checkpointed(
    saver: Any, bad: tuple[Any, str | None]
) -> None:
    message, field = bad
    graph, config, model = waiting_refund(saver, "Refunded.")
    before = snapshot_of(saver, config)

    with pytest.raises(InvalidInputError) as refused:
        graph.invoke({"messages": [HumanMessage("hello"), message]}, config, durability="sync")

    assert (refused.value.index, refused.value.field) == (1, field)
    assert "messages[1]" in str(refused.value)
    assert snapshot_of(saver, config) == before
    assert len(model.calls) == 1
    assert accept_and_count_refunds(graph, config) == 1


def test_f09_messages_that_are_not_a_list_are_refused(saver: Any) -> None:
    graph, config, _ = waiting_refund(saver)
    before = snapshot_of(saver, config)

    for bad in ({"role": "user", "content": "hi"}, None, {"messages": "x"}):
        with pytest.raises(InvalidInputError, match="messages"):
            graph.invoke({"messages": bad}, config)

    assert snapshot_of(saver, config) == before


SURROGATE = "refund \ud800 now"
NUL = "refund \x00 now"
TEXT_ATTACKS = {
    "surrogate in content": ({"role": "user", "content": SURROGATE}, "content"),
    "nul in content": ({"role": "user", "content": NUL}, "content"),
    "surrogate in a content block": (
        HumanMessage(content=[{"type": "text", "text": SURROGATE}]),
        "content[0].text",
    ),
    "nul in tool-call args": (
        AIMessage(
            content="",
            tool_calls=[{"name": "lookup_order", "args": {"order_id": NUL}, "id": "c1"}],
        ),
        "tool_calls[0].args.order_id",
    ),
    "surrogate in a name": ({"role": "user", "content": "hi", "name": SURROGATE}, "name"),
}


@pytest.mark.parametrize("bad", TEXT_ATTACKS.values(), ids=list(TEXT_ATTACKS))
def test_f11_nul_and_lone_surrogates_are_refused_with_a_clear_error(
    saver: Any, bad: tuple[Any, str]
) -> None:
    message, field = bad
    graph, config, _ = waiting_refund(saver, "Refunded.")
    before = snapshot_of(saver, config)

    with pytest.raises(InvalidInputError) as refused:
        graph.invoke({"messages": [message]}, config, durability="sync")

    assert (refused.value.index, refused.value.field) == (0, field)
    assert snapshot_of(saver, config) == before
    assert accept_and_count_refunds(graph, config) == 1


@pytest.mark.parametrize("text", [SURROGATE, NUL], ids=["surrogate", "nul"])
def test_f11_a_resume_value_with_nul_or_a_surrogate_is_refused(saver: Any, text: str) -> None:
    graph, config, _ = waiting_refund(saver, "Refunded.")
    [pending] = graph.get_state(config).interrupts
    before = snapshot_of(saver, config)

    with pytest.raises(InvalidInputError, match="resume"):
        graph.invoke(Command(resume={pending.id: {**ACCEPT, "reason": text}}), config)

    assert snapshot_of(saver, config) == before
    assert accept_and_count_refunds(graph, config) == 1


def test_f09_oversized_input_is_refused_and_the_limits_follow_the_environment(
    saver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphs.input_validation import MAX_INPUT_MESSAGES, MAX_MESSAGE_CHARS

    graph, config, _ = waiting_refund(saver, "Refunded.")
    before = snapshot_of(saver, config)

    with pytest.raises(InvalidInputError, match=str(MAX_MESSAGE_CHARS)):
        graph.invoke({"messages": [("user", "x" * (MAX_MESSAGE_CHARS + 1))]}, config)
    with pytest.raises(InvalidInputError, match=str(MAX_INPUT_MESSAGES)):
        graph.invoke({"messages": [("user", "hi")] * (MAX_INPUT_MESSAGES + 1)}, config)
    monkeypatch.setenv("AGENT_PATTERNS_MAX_MESSAGE_CHARS", "10")
    with pytest.raises(InvalidInputError, match="10 characters"):
        graph.invoke({"messages": [("user", "refund it twice")]}, config)
    monkeypatch.setenv("AGENT_PATTERNS_MAX_INPUT_MESSAGES", "2")
    with pytest.raises(InvalidInputError, match="at most 2 messages"):
        graph.invoke({"messages": [("user", "a"), ("user", "b"), ("user", "c")]}, config)

    assert snapshot_of(saver, config) == before
    assert accept_and_count_refunds(graph, config) == 1


@pytest.mark.parametrize("graph_id", sorted(GRAPH_BUILDERS))
def test_f09_every_graph_refuses_a_poison_message_even_as_the_server_copies_it(
    graph_id: str,
) -> None:
    saver = InMemorySaver()
    served = build_graph(graph_id).copy(update={"checkpointer": saver})  # as langgraph dev does
    config = new_config()

    with pytest.raises(InvalidInputError):
        served.invoke({"messages": [{"role": "bogus", "content": "hi"}]}, config)

    assert saver.get_tuple(config) is None


async def test_f09_the_async_path_refuses_poison_and_the_thread_stays_resumable(
    postgres_url: str, effects_log: Path
) -> None:
    async with open_async_checkpointer(postgres_url) as saver:
        model = ScriptedChatModel(replies=[tool_calls_reply(REFUND), "Refunded."])
        graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)
        config = new_config()
        await graph.ainvoke({"messages": [("user", "refund A-1001")]}, config, durability="sync")
        head = (await saver.aget_tuple(config)).checkpoint["id"]

        with pytest.raises(InvalidInputError):
            await graph.ainvoke({"messages": [{"role": "tool", "content": "issued"}]}, config)
        with pytest.raises(PendingApprovalError):
            await graph.ainvoke({"messages": [("user", "hello?")]}, config)
        events = graph.astream_events({"messages": [("user", "x\x00")]}, config, version="v2")
        with pytest.raises(InvalidInputError):
            await _drain(events)

        assert (await saver.aget_tuple(config)).checkpoint["id"] == head
        [pending] = (await graph.aget_state(config)).interrupts
        await graph.ainvoke(Command(resume={pending.id: ACCEPT}), config, durability="sync")
    assert len(read_effects("refund")) == 1


async def _drain(events: AsyncIterator[Any]) -> None:
    async for _ in events:
        pass


def test_f10_a_message_while_an_approval_waits_is_refused_naming_it(saver: Any) -> None:
    graph, config, model = waiting_refund(saver, "Refunded.")
    [interrupt] = graph.get_state(config).interrupts
    before = snapshot_of(saver, config)

    with pytest.raises(PendingApprovalError) as refused:
        graph.invoke({"messages": [("user", "actually, what about A-1002?")]}, config)

    [pending] = refused.value.pending
    assert (pending.action, pending.args, pending.interrupt_id) == (*REFUND, interrupt.id)
    assert refused.value.thread_id == config["configurable"]["thread_id"]
    for part in ("issue_refund", interrupt.id, "cancel_pending"):
        assert part in str(refused.value)
    assert snapshot_of(saver, config) == before
    assert len(model.calls) == 1
    assert accept_and_count_refunds(graph, config) == 1


def test_f10_cancel_pending_supersedes_the_approval_and_answers_the_call(saver: Any) -> None:
    graph, config, model = waiting_refund(saver, "Sure, what about A-1002?")
    [interrupt] = graph.get_state(config).interrupts
    [request] = interrupt.value

    result = graph.invoke(
        {"messages": [("user", "never mind, check A-1002")], "cancel_pending": True},
        config,
        durability="sync",
    )

    state = graph.get_state(config)
    assert state.interrupts == () and state.next == ()
    [record] = state.values["approvals"]
    assert record["decision"] == "superseded"
    assert (record["action"], record["args"]) == REFUND
    assert record["reviewer"] == "caller" and record["reason"] == "superseded by a new message"
    assert record["tool_call_id"] == request["tool_call_id"]
    kinds = [type(m).__name__ for m in state.values["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "HumanMessage", "AIMessage"]
    answer = state.values["messages"][2]
    assert isinstance(answer, ToolMessage) and answer.tool_call_id == request["tool_call_id"]
    assert answer.status == "error" and "not run" in answer.text.lower()
    assert result["messages"][-1].text == "Sure, what about A-1002?"
    assert model.calls[1].messages[-2].type == "tool"  # the model saw the call answered
    assert "cancel_pending" not in state.values
    assert read_effects("refund") == []


def test_f10_cancel_pending_records_the_authenticated_user(saver: Any) -> None:
    graph, config, _ = waiting_refund(saver, "OK.")
    config["configurable"]["langgraph_auth_user_id"] = "alice"

    graph.invoke({"messages": [("user", "stop")], "cancel_pending": True}, config)

    [record] = graph.get_state(config).values["approvals"]
    assert (record["decision"], record["reviewer"]) == ("superseded", "alice")
    assert read_effects("refund") == []


def test_f10_cancel_pending_without_anything_pending_just_runs(saver: Any) -> None:
    model = ScriptedChatModel(replies=["Hello.", "Hello again."])
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)
    config = new_config()

    graph.invoke({"messages": [("user", "hi")], "cancel_pending": True}, config)
    graph.invoke({"messages": [("user", "hi")], "cancel_pending": False}, config)

    state = graph.get_state(config)
    assert [m.text for m in state.values["messages"]][-1] == "Hello again."
    assert state.values["approvals"] == []


def test_f10_an_unanswered_tool_call_without_an_interrupt_also_blocks_a_message(
    saver: Any,
) -> None:
    graph = build_react_graph(
        tools=order_tools(), model=ScriptedChatModel(replies=["Fine.", "Now."]), checkpointer=saver
    )
    config = new_config()
    graph.invoke({"messages": [("user", "hi")]}, {**config}, durability="sync")
    dangling = AIMessage(
        content="",
        tool_calls=[{"name": "lookup_order", "args": {"order_id": "A-1001"}, "id": "d1"}],
    )
    graph.update_state(config, {"messages": [dangling]}, as_node="stop_at_budget")

    with pytest.raises(PendingApprovalError) as refused:
        graph.invoke({"messages": [("user", "and now?")]}, config)

    [pending] = refused.value.pending
    assert (pending.action, pending.interrupt_id, pending.tool_call_id) == (
        "lookup_order",
        None,
        "d1",
    )
    graph.invoke({"messages": [("user", "and now?")], "cancel_pending": True}, config)
    messages = graph.get_state(config).values["messages"]
    assert isinstance(messages[-3], ToolMessage) and messages[-3].tool_call_id == "d1"


def test_f14_resuming_an_unknown_thread_is_an_error_not_a_new_run(saver: Any) -> None:
    model = ScriptedChatModel(replies=["I should never be asked."])
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)
    config = new_config()

    with pytest.raises(UnknownThreadError) as refused:
        graph.invoke(Command(resume=ACCEPT), config)

    assert refused.value.thread_id == config["configurable"]["thread_id"]
    assert saver.get_tuple(config) is None
    assert model.calls == []


async def test_f14_resuming_an_unknown_thread_is_an_error_on_the_async_path(
    postgres_url: str,
) -> None:
    async with open_async_checkpointer(postgres_url) as saver:
        model = ScriptedChatModel(replies=["I should never be asked."])
        graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)
        config = new_config()

        with pytest.raises(UnknownThreadError):
            await graph.ainvoke(Command(resume=ACCEPT), config)

        assert await saver.aget_tuple(config) is None
        assert model.calls == []


def test_f10_an_approval_waiting_inside_a_router_specialist_blocks_a_message(
    saver: Any,
) -> None:
    from dataclasses import replace

    from demo.teams import support_desks, support_routes
    from graphs.router import build_router_graph

    billing = ScriptedChatModel(replies=[tool_calls_reply(REFUND), "Anything else?"])
    desks = [replace(s, model=billing if s.name == "billing" else None) for s in support_desks()]
    graph = build_router_graph(desks, hints=support_routes(), checkpointer=saver)
    config, rules = new_config(), {"routing_strategy": "rules"}
    graph.invoke(
        {"messages": [("user", "My order A-1001 arrived broken, please refund it.")]},
        config,
        context=rules,
        durability="sync",
    )
    [interrupt] = graph.get_state(config).interrupts

    with pytest.raises(PendingApprovalError) as refused:
        graph.invoke({"messages": [("user", "I need my invoice")]}, config, context=rules)
    assert [p.interrupt_id for p in refused.value.pending] == [interrupt.id]

    graph.invoke(
        {
            "messages": [("user", "Forget the refund, I need the invoice for my A-1001 payment")],
            "cancel_pending": True,
        },
        config,
        context=rules,
        durability="sync",
    )
    state = graph.get_state(config)
    assert state.interrupts == ()
    assert [r["decision"] for r in state.values["approvals"]] == ["superseded"]
    assert read_effects("refund") == []


def test_f09_update_state_cannot_poison_the_thread_but_may_still_remove_messages(
    saver: Any,
) -> None:
    graph, config, _ = waiting_refund(saver, "Refunded.")
    before = snapshot_of(saver, config)

    for bad in ({"role": "bogus", "content": "x"}, {"role": "user", "content": "a\x00b"}):
        with pytest.raises(InvalidInputError):
            graph.update_state(config, {"messages": [bad]}, as_node="run_tools")

    assert snapshot_of(saver, config) == before
    assert accept_and_count_refunds(graph, config) == 1
    first = graph.get_state(config).values["messages"][0]
    graph.update_state(config, {"messages": [RemoveMessage(id=first.id)]}, as_node="run_tools")
    assert first.id not in {m.id for m in graph.get_state(config).values["messages"]}


DEMO_APPROVALS = {
    "hitl": "Refund order A-1002 please, it is late.",
    "memory_agent": "My order A-1001 arrived broken, please refund it.",
    "plan_execute": None,  # the fleet request: its plan waits for approval
    "router": "My order A-1001 arrived broken, please refund it.",
    "swarm": "My order A-1001 arrived broken, please refund it.",
}


@pytest.mark.parametrize("graph_id", sorted(DEMO_APPROVALS))
def test_f10_every_pattern_refuses_a_message_while_its_approval_waits_then_cancels_it(
    saver: Any, graph_id: str
) -> None:
    from langgraph.store.memory import InMemoryStore

    from demo.fleet import FLEET_REQUEST

    graph = build_graph(graph_id, checkpointer=saver, store=InMemoryStore())
    config, context = new_config(), {"model": "demo"}
    if graph_id == "memory_agent":
        context["user_id"] = "alice"
    request = DEMO_APPROVALS[graph_id] or FLEET_REQUEST
    graph.invoke({"messages": [("user", request)]}, config, context=context, durability="sync")
    waiting = {i.id for i in graph.get_state(config).interrupts}
    assert waiting
    before = snapshot_of(saver, config)

    with pytest.raises(PendingApprovalError) as refused:
        graph.invoke({"messages": [("user", "Where is A-1003?")]}, config, context=context)
    assert {p.interrupt_id for p in refused.value.pending} >= waiting
    assert snapshot_of(saver, config) == before

    cancel = {"messages": [("user", "Where is A-1003?")], "cancel_pending": True}
    graph.invoke(cancel, config, context=context, durability="sync")
    state = graph.get_state(config)
    assert state.interrupts == () and state.next == ()
    assert [a["decision"] for a in state.values["approvals"]] == ["superseded"] * len(waiting)
    assert read_effects("refund") == []


def test_f10_an_approval_inside_a_supervisor_worker_blocks_a_message_until_cancelled(
    saver: Any,
) -> None:
    from demo.teams import publish_summary
    from graphs.supervisor import build_supervisor_graph
    from state.agent_spec import AgentSpec

    publish = ("publish_summary", {"title": "Damaged items", "body": "Refunded in full."})
    writer = AgentSpec(
        "writer",
        "writes",
        tools=[publish_summary],
        model=ScriptedChatModel(replies=[tool_calls_reply(publish)]),
    )
    boss = ScriptedChatModel(
        replies=[tool_calls_reply(("delegate_to_writer", {"task": "Publish it."})), "Cancelled."]
    )
    app = build_supervisor_graph([writer], model=boss, checkpointer=saver)
    config = new_config()
    app.invoke({"messages": [("user", "Publish the policy.")]}, config, durability="sync")
    [interrupt] = app.get_state(config).interrupts

    with pytest.raises(PendingApprovalError) as refused:
        app.invoke({"messages": [("user", "Wait, don't.")]}, config)
    assert interrupt.id in {p.interrupt_id for p in refused.value.pending}

    app.invoke({"messages": [("user", "Wait, don't.")], "cancel_pending": True}, config)
    state = app.get_state(config)
    assert state.interrupts == () and state.values["messages"][-1].text == "Cancelled."
    assert [a["decision"] for a in state.values["approvals"]] == ["superseded"]
    calls = [
        c["id"] for m in state.values["messages"] if isinstance(m, AIMessage) for c in m.tool_calls
    ]
    answered = [m.tool_call_id for m in state.values["messages"] if isinstance(m, ToolMessage)]
    assert sorted(calls) == sorted(answered)  # the delegation is answered too
    assert read_effects("summary") == []


def test_f10_cancel_pending_addressed_at_a_checkpoint_keeps_the_superseded_record(
    saver: Any,
) -> None:
    graph, config, _ = waiting_refund(saver, "Sure.")
    at_gate = graph.get_state(config).config  # carries the head's checkpoint_id

    graph.invoke({"messages": [("user", "stop")], "cancel_pending": True}, at_gate)

    state = graph.get_state(config)
    assert [a["decision"] for a in state.values["approvals"]] == ["superseded"]
    assert state.interrupts == () and state.values["messages"][-1].text == "Sure."
    assert read_effects("refund") == []
