"""Forking a thread AT the checkpoint where it waits at the approval gate.

The operator's question is "what if the refund were 20 instead of 50": fork the waiting
thread with the refund's arguments edited. The fork must wait at the gate again (for the
edited call), an approval in the fork must run the refund once, and the source's pending
request must stay as it was. Forking there used to fail inside ``update_state``
("Missing required config key 'N/A' for 'route_after_model'"), and once that was fixed the
fork went to the budget stop (``update_state`` reports two steps left to the router).

The graph is the demo shop's ReAct agent (`demo.orders.order_tools`) with a scripted model;
refunds land in `demo.effects`, which refuses a second refund of the same order.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from demo.effects import EFFECTS_LOG_ENV, clear_effects, read_effects
from demo.orders import order_tools
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from ops.fork import fork_thread

REFUND_50 = tool_calls_reply(
    ("issue_refund", {"order_id": "A-1001", "amount": 50, "reason": "arrived broken"})
)


@pytest.fixture(autouse=True)
def _effects_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EFFECTS_LOG_ENV, raising=False)
    clear_effects()


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver()


def graph_of(saver: InMemorySaver, *replies: Any) -> Any:
    return build_react_graph(
        ScriptedChatModel(replies=list(replies)), order_tools(), checkpointer=saver
    )


def config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


def waiting_source(saver: InMemorySaver) -> tuple[Any, str]:
    """The source thread waiting at the gate for a refund of 50; its checkpoint id."""
    source = graph_of(saver, REFUND_50, "source done")
    source.invoke({"messages": [("user", "A-1001 arrived broken, refund 50")]}, config("src"))
    state = source.get_state(config("src"))
    assert state.next == ("approval_gate",) and state.interrupts
    return source, str(state.config["configurable"]["checkpoint_id"])


def request(graph: Any, thread: str) -> tuple[str, dict[str, Any]]:
    """The pending interrupt's id and the action request it shows."""
    (pending,) = graph.get_state(config(thread)).interrupts
    return pending.id, pending.value[0]


def accept(graph: Any, thread: str) -> None:
    pending, _ = request(graph, thread)
    graph.invoke(Command(resume={pending: {"type": "accept", "reviewer": "ana"}}), config(thread))


def with_amount(messages: list[Any], amount: float) -> list[Any]:
    """The conversation with the last AI message's refund amount edited."""
    last = messages[-1]
    assert isinstance(last, AIMessage)
    calls = [{**call, "args": {**call["args"], "amount": amount}} for call in last.tool_calls]
    return [*messages[:-1], last.model_copy(update={"tool_calls": calls})]


def refunds() -> list[tuple[str, float]]:
    return [(e["order_id"], e["amount"]) for e in read_effects("refund")]


def test_an_edited_fork_at_the_gate_waits_and_refunds_once(saver: InMemorySaver) -> None:
    source, waiting = waiting_source(saver)
    source_pending, source_request = request(source, "src")
    messages = source.get_state(config("src")).values["messages"]

    fork_graph = graph_of(saver, "fork done")
    fork = fork_thread(
        saver,
        "src",
        waiting,
        {"messages": with_amount(messages, 20)},
        graph=fork_graph,
        new_thread_id="fork",
    )
    assert fork.next_nodes == ("approval_gate",) and fork.edited == ("messages",)
    assert fork.copied_effects == 0

    fork_graph.invoke(None, config("fork"))  # the fork asks at the gate
    _, asked = request(fork_graph, "fork")
    assert asked["action_request"]["action"] == "issue_refund"
    assert asked["action_request"]["args"]["amount"] == 20
    assert refunds() == []

    accept(fork_graph, "fork")
    assert refunds() == [("A-1001", 20)]
    assert fork_graph.get_state(config("fork")).values["messages"][-1].content == "fork done"

    # The source still waits with the same request, for 50, untouched by the fork.
    assert request(source, "src") == (source_pending, source_request)
    assert source_request["action_request"]["args"]["amount"] == 50
    assert source.get_state(config("src")).values.get("approvals") in (None, [])
    accept(source, "src")  # the shop refuses a second refund of the order
    assert refunds() == [("A-1001", 20)]


def test_a_fork_at_the_gate_asks_again_and_runs_nothing_unapproved(saver: InMemorySaver) -> None:
    """No edit: the fork waits for its own decision; running it without one pays nothing."""
    source, waiting = waiting_source(saver)
    fork_graph = graph_of(saver, "fork done")
    fork = fork_thread(saver, "src", waiting, graph=fork_graph, new_thread_id="fork")
    assert fork.next_nodes == ("approval_gate",)

    fork_graph.invoke(None, config("fork"))
    fork_pending, asked = request(fork_graph, "fork")
    assert asked["action_request"]["args"]["amount"] == 50
    source_pending, _ = request(source, "src")
    assert fork_pending != source_pending  # a new request, not the source's

    accept(source, "src")  # approving the source decides nothing in the fork
    assert refunds() == [("A-1001", 50)]
    assert request(fork_graph, "fork")[0] == fork_pending
    assert fork_graph.get_state(config("fork")).values.get("approvals") in (None, [])


def test_the_fork_routes_with_the_context_it_is_given(saver: InMemorySaver) -> None:
    """A context may tighten the fork's gate: here a deadline on the new request."""
    _, waiting = waiting_source(saver)
    fork_graph = graph_of(saver, "fork done")
    fork_thread(
        saver,
        "src",
        waiting,
        graph=fork_graph,
        new_thread_id="fork",
        context={"approval_timeout_s": 60},
    )
    fork_graph.invoke(None, config("fork"))
    _, asked = request(fork_graph, "fork")
    assert asked["deadline"] is not None
    assert refunds() == []
