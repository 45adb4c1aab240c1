"""The orchestrator's saga: the refund is followed by posting its processing note; when the
post fails, the refund is reversed through the approval gate and the ledger, exactly once."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel

from checkpointers.ledger import InMemoryLedger
from demo.effects import read_effects
from demo.orders import issue_refund
from demo.refund_orchestrator import (
    EXAMPLE_REQUESTS,
    SAGA_REQUEST,
    ShopPurchases,
    post_refund_note,
)
from graphs.orchestrator import build_orchestrator_graph
from models import ScriptedChatModel
from nodes.runtime import PatternRuntime
from state.orchestrator import ClaimReading
from tools.registry import agent_tool

READING = ClaimReading(damaged_item_reported=True, claim_summary="The kettle arrived broken.")


class NoteArgs(BaseModel):
    order_id: str
    refund_id: str
    note: str


@agent_tool(args_schema=NoteArgs, side_effects=True, idempotent=True, name="post_refund_note")
def unavailable_note(order_id: str, refund_id: str, note: str) -> str:
    """Post the note to an accounting system that is down."""
    raise ConnectionRefusedError("accounting ledger unavailable")


def run(note_tool: BaseTool, refund_tool: BaseTool = issue_refund, **context: Any) -> Any:
    ledger = InMemoryLedger()
    runtime = PatternRuntime(checkpointer=InMemorySaver(), ledger=ledger)
    graph = build_orchestrator_graph(
        ScriptedChatModel(replies=[READING, "Note: refund issued."]),
        records=ShopPurchases(),
        refund_tool=refund_tool,
        note_tool=note_tool,
        runtime=runtime,
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    request: Any = {"messages": [("user", EXAMPLE_REQUESTS["approved"])]}
    run_context: Any = context or None
    graph.invoke(request, config, context=run_context)
    return graph, config, ledger


def test_a_posted_note_ends_the_run_with_the_note() -> None:
    graph, config, _ = run(post_refund_note)

    state = graph.get_state(config)
    [refund], [note] = read_effects("refund"), read_effects("refund_note")
    assert note["refund_id"] == refund["refund_id"] and note["note"] == "Note: refund issued."
    assert state.values.get("saga") is None and state.next == ()
    last = state.values["messages"][-1].text
    assert last.startswith("Note: refund issued.\nPosted to the accounting ledger:")
    assert note["note_id"] in last
    reviewers = {r["action"]: r["reviewer"] for r in state.values["approvals"]}
    assert reviewers == {
        "issue_refund": "policy:orchestrator",
        "post_refund_note": "policy:orchestrator",
    }


def test_a_failed_note_reverses_the_refund_after_a_person_approves() -> None:
    graph, config, ledger = run(unavailable_note)

    [pending] = graph.get_state(config).interrupts  # the reversal waits for a person
    action = pending.value[0]["action_request"]
    [refund] = read_effects("refund")
    assert action["action"] == "reverse_refund"
    assert action["args"]["refund_id"] == refund["refund_id"]
    assert "processing note could not be posted" in pending.value[0]["description"]
    assert read_effects("refund_reversal") == []  # nothing undone before the decision

    graph.invoke(Command(resume={pending.id: [{"type": "accept"}]}), config)

    state = graph.get_state(config).values
    [reversal] = read_effects("refund_reversal")
    assert reversal["refund_id"] == refund["refund_id"]
    assert state["saga"]["status"] == "compensated"
    assert "Undone: issue_refund" in state["messages"][-1].text
    assert [(e.tool, e.result_status) for e in ledger.entries()] == [
        ("issue_refund", "success"),
        ("post_refund_note", "error"),
        ("reverse_refund", "success"),
    ]
    graph.invoke(None, config)  # nothing left to do: no second reversal
    assert len(read_effects("refund_reversal")) == 1


def test_a_rejected_reversal_leaves_the_refund_and_says_so() -> None:
    graph, config, _ = run(unavailable_note)
    [pending] = graph.get_state(config).interrupts

    graph.invoke(Command(resume={pending.id: [{"type": "ignore", "args": None}]}), config)

    state = graph.get_state(config).values
    assert read_effects("refund_reversal") == [] and len(read_effects("refund")) == 1
    assert state["saga"]["status"] == "partly_compensated"
    assert "NOT undone (rejected): issue_refund" in state["messages"][-1].text


def test_without_a_declared_compensation_the_refund_stands_and_a_person_is_asked() -> None:
    undeclared = issue_refund.model_copy(
        update={
            "metadata": {
                k: v for k, v in (issue_refund.metadata or {}).items() if k != "compensation"
            }
        }
    )
    graph, config, _ = run(unavailable_note, refund_tool=undeclared)

    state = graph.get_state(config)
    assert state.next == () and state.values.get("saga") is None
    assert len(read_effects("refund")) == 1
    assert "A person must post the note" in state.values["messages"][-1].text


def test_the_offline_demo_reverses_a_refund_whose_note_the_ledger_refuses() -> None:
    graph = build_orchestrator_graph(
        records=ShopPurchases(),
        refund_tool=issue_refund,
        note_tool=post_refund_note,
        checkpointer=InMemorySaver(),
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    request: Any = {"messages": [("user", SAGA_REQUEST)]}
    graph.invoke(request, config)

    [pending] = graph.get_state(config).interrupts
    assert pending.value[0]["action_request"]["action"] == "reverse_refund"
    assert "not invoiced yet" in pending.value[0]["description"]
    graph.invoke(Command(resume={pending.id: [{"type": "accept"}]}), config)

    [refund], [reversal] = read_effects("refund"), read_effects("refund_reversal")
    assert (refund["order_id"], reversal["refund_id"]) == ("A-1003", refund["refund_id"])
    assert graph.get_state(config).values["saga"]["status"] == "compensated"
