"""The demo model over many phrasings of the seed scenarios: which tools it calls, with what ids.

Each row is a request a newcomer might type, bound to the demo shop's tools as the served
graphs bind them (`demo.orders.order_tools`). A small driver plays the tool loop (the tools
really run, errors come back as error results) until the model answers, and the row checks the
calls it made, in order, with their key arguments (the normalised order id, the amount), and
the tools it must not call. Ids come in several forms and intents with and without the words
the tools use. Further tables: requests it must say plainly it cannot act on, swarm handoffs
over the three ``transfer_to_<agent>`` tools, and answers from recalled memories.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from demo.orders import get_payment_risk, order_tools
from demo.teams import support_agents
from models import HeuristicDemoModel
from models.heuristic_ids import find_id
from nodes.memory import render_memories
from tools.handoff import make_handoff_tool

LOOKUP, SEARCH, TICKET, REFUND = (
    "lookup_order",
    "search_help_docs",
    "create_support_ticket",
    "issue_refund",
)
ACTS = {TICKET, REFUND}


def drive(
    text: str, tools: Sequence[BaseTool], system: str = ""
) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """Run the model's tool loop to its answer: the calls made and the final text."""
    model = HeuristicDemoModel().bind_tools(list(tools))
    by_name = {tool.name: tool for tool in tools}
    history: list[BaseMessage] = [SystemMessage(system)] if system else []
    history.append(HumanMessage(text))
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(10):
        reply = model.invoke(history)
        history.append(reply)
        if not reply.tool_calls:
            return calls, reply.text
        for call in reply.tool_calls:
            calls.append((call["name"], call["args"]))
            try:
                result = by_name[call["name"]].invoke(call["args"])
                content = result if isinstance(result, str) else json.dumps(result)
                history.append(ToolMessage(content, tool_call_id=call["id"], name=call["name"]))
            except Exception as exc:  # noqa: BLE001 - a failing tool is a result here
                history.append(
                    ToolMessage(
                        str(exc), tool_call_id=call["id"], name=call["name"], status="error"
                    )
                )
    raise AssertionError(f"no answer after 10 steps: {calls}")


def looks(order_id: str) -> tuple[str, dict[str, Any]]:
    return (LOOKUP, {"order_id": order_id})


def refunds(order_id: str, amount: float) -> tuple[str, dict[str, Any]]:
    return (REFUND, {"order_id": order_id, "amount": amount})


def tickets(order_id: str) -> tuple[str, dict[str, Any]]:
    return (TICKET, {"order_id": order_id})


# (request, calls it must make in this order with these args, tools it must not call)
PHRASINGS: list[tuple[str, list[tuple[str, dict[str, Any]]], set[str]]] = [
    # where is it: look the order up, act on nothing
    ("Where is my order A-1002?", [looks("A-1002")], ACTS),
    ("Where is A-1001?", [looks("A-1001")], ACTS),
    ("where's a-1003", [looks("A-1003")], ACTS),
    ("Any news on #1002? It still hasn't arrived.", [looks("A-1002")], ACTS),
    ("tracking for a1002", [looks("A-1002")], ACTS),
    ("Has order 1003 shipped yet?", [looks("A-1003")], ACTS),
    ("What's the status of 1004?", [looks("A-1004")], ACTS),
    ("My parcel A 1002 is late", [looks("A-1002")], ACTS),
    ("When will order no. 1003 arrive?", [looks("A-1003")], ACTS),
    ("Is A1001 delivered?", [looks("A-1001")], ACTS),
    ("The package for order 1002 is missing", [looks("A-1002")], ACTS),
    ("I paid 89.99 for a kettle, where is A-1001?", [looks("A-1001")], ACTS),
    ("Compare A-1001 with 1002 please", [looks("A-1001")], ACTS),
    ("Can you check on order number 1001 for me?", [looks("A-1001")], ACTS),
    ("Track A-1004", [looks("A-1004")], ACTS),
    ("My A-1003 order is stuck", [looks("A-1003")], ACTS),
    # refunds, with and without the word
    (
        "My order A-1001 arrived broken. Can you refund it?",
        [looks("A-1001"), refunds("A-1001", 89.99)],
        {TICKET},
    ),
    ("Refund A-1001, it broke", [looks("A-1001"), refunds("A-1001", 89.99)], {TICKET}),
    ("I want my money back for a1001", [looks("A-1001"), refunds("A-1001", 89.99)], {TICKET}),
    (
        "The kettle from a-1001 is cracked, can I get my money back?",
        [looks("A-1001"), refunds("A-1001", 89.99)],
        {TICKET},
    ),
    ("reimburse me for 1004, it's defective", [looks("A-1004"), refunds("A-1004", 59.0)], {TICKET}),
    ("Please refund order #1004", [looks("A-1004"), refunds("A-1004", 59.0)], {TICKET}),
    (
        "Can I be compensated for A-1003? The mugs were smashed",
        [looks("A-1003"), refunds("A-1003", 34.5)],
        {TICKET},
    ),
    (
        "Refund $20 on order A-1002, it was late",
        [looks("A-1002"), refunds("A-1002", 20.0)],
        {TICKET},
    ),
    (
        "A1004 came damaged, pay me back please",
        [looks("A-1004"), refunds("A-1004", 59.0)],
        {TICKET},
    ),
    ("I'd like a refund for order 1002", [looks("A-1002"), refunds("A-1002", 420.0)], {TICKET}),
    (
        "Money back for A-1002 please, it never came",
        [looks("A-1002"), refunds("A-1002", 420.0)],
        {TICKET},
    ),
    (
        "The desk from 1002 arrived dented, I want a refund",
        [looks("A-1002"), refunds("A-1002", 420.0)],
        {TICKET},
    ),
    # a person should follow up: a support ticket, never a refund
    (
        "Please open a support ticket for me: order 1002 arrived with a damaged box",
        [looks("A-1002"), tickets("A-1002")],
        {REFUND},
    ),
    (
        "escalate A-1004 please, the headphones stopped working",
        [looks("A-1004"), tickets("A-1004")],
        {REFUND},
    ),
    ("Can I talk to a person about order A 1003?", [looks("A-1003"), tickets("A-1003")], {REFUND}),
    ("Raise a case for a-1001, the kettle leaks", [looks("A-1001"), tickets("A-1001")], {REFUND}),
    ("I want to file a complaint about #1002", [looks("A-1002"), tickets("A-1002")], {REFUND}),
    ("Open a ticket for 1003", [looks("A-1003"), tickets("A-1003")], {REFUND}),
    ("I need a human to look at #1004", [looks("A-1004"), tickets("A-1004")], {REFUND}),
    # a fault or a charge stated without asking for an action: look up, do not act
    ("The kettle from A-1001 broke after two days", [looks("A-1001")], ACTS),
    ("My headphones (order 1004) won't turn on", [looks("A-1004")], ACTS),
    ("I was charged twice for A-1002", [looks("A-1002")], ACTS),
    ("There's a double charge on order 1003", [looks("A-1003")], ACTS),
    ("Overcharged on A1003", [looks("A-1003")], ACTS),
    # the help centre on its own words
    ("How do refunds work for damaged items?", [(SEARCH, {})], {LOOKUP} | ACTS),
    ("What is your returns policy?", [(SEARCH, {})], {LOOKUP} | ACTS),
]


@pytest.mark.parametrize(("request_text", "expected", "forbidden"), PHRASINGS)
def test_phrasing_calls_the_right_tools(
    request_text: str, expected: list[tuple[str, dict[str, Any]]], forbidden: set[str]
) -> None:
    calls, answer = drive(request_text, order_tools())

    names = [name for name, _ in calls]
    position = 0
    for name, args in expected:
        assert name in names[position:], f"{name} not called after {names[:position]}: {names}"
        position = names.index(name, position)
        made = calls[position][1]
        assert {key: made.get(key) for key in args} == args, (name, made)
        position += 1
    assert not forbidden & set(names), names
    assert len(names) == len(set(names)), "each tool at most once per turn"
    assert "nothing to add" not in answer
    assert answer.startswith(("What the tools returned", "Some steps failed")), answer


def test_the_table_is_large_enough() -> None:
    assert len(PHRASINGS) >= 40


@pytest.mark.parametrize(
    "written",
    ["A-1001", "a-1001", "A1001", "a1001", "A 1001", "#1001", "# 1001", "order 1001", "1001"],
)
def test_ids_in_any_common_form_are_normalised_to_the_schema_pattern(written: str) -> None:
    spec = convert_to_openai_tool(order_tools()[0])["function"]["parameters"]["properties"]
    assert find_id(spec["order_id"], f"Where is {written}?") == "A-1001"


@pytest.mark.parametrize("text", ["Refund $20 please", "it was 20 dollars", "89.99 total", "hi"])
def test_money_and_small_numbers_are_not_ids(text: str) -> None:
    spec = {"type": "string", "pattern": r"^[A-Z]-\d{4}$", "description": "like A-1001."}
    assert find_id(spec, text) is None


def test_another_tool_of_the_shop_is_reached_by_its_own_words() -> None:
    calls, _ = drive("What is the fraud risk on a1004?", [*order_tools(), get_payment_risk])
    assert ("get_payment_risk", {"order_id": "A-1004"}) in calls


# -- saying plainly when it cannot act --------------------------------------------------------

# (request, tools it must call first, phrases the answer must contain)
CANNOT_ACT: list[tuple[str, list[str], list[str]]] = [
    ("Where is my order?", [], ["not an LLM", "lookup_order needs the order id", "like A-1001"]),
    ("I want a refund", [SEARCH], ["issue_refund needs the order id", "found none"]),
    ("Give me my money back", [], ["issue_refund needs the order id"]),
    ("Please open a ticket, my kettle is broken", [], ["create_support_ticket needs the order id"]),
    ("What's the weather like?", [], ["not an LLM", "could not match your request"]),
    ("hello", [], ["could not match your request"]),
    (
        "Refund A-9999",
        [LOOKUP],
        ["No order A-9999 exists", "did not go on to", "issue_refund"],
    ),
    (
        "Please open a support ticket for me: order 1042 arrived with a damaged box",
        [LOOKUP],
        ["No order A-1042 exists", "did not go on to", "create_support_ticket"],
    ),
]


@pytest.mark.parametrize(("request_text", "called", "phrases"), CANNOT_ACT)
def test_says_plainly_what_it_cannot_do(
    request_text: str, called: list[str], phrases: list[str]
) -> None:
    calls, answer = drive(request_text, order_tools())

    assert [name for name, _ in calls] == called
    for phrase in phrases:
        assert phrase in answer, answer
    assert "nothing to add" not in answer
    assert not ACTS & {name for name, _ in calls}


# -- swarm handoffs ---------------------------------------------------------------------------


def handoffs(*, without: str = "") -> list[BaseTool]:
    """The swarm's ``transfer_to_<agent>`` tools (all three, or a member's two)."""
    return [make_handoff_tool(a.name, a.description) for a in support_agents() if a.name != without]


HANDOFFS: list[tuple[str, str]] = [
    ("My parcel never showed up", "shipping"),
    ("Where is my package? It's been two weeks", "shipping"),
    ("The delivery is late, A-1002", "shipping"),
    ("You took my money twice for the same order", "billing"),
    ("I was charged twice", "billing"),
    ("There are two identical payments on my card statement", "billing"),
    ("I want my money back", "billing"),
    ("I can't log in to my account", "technical"),
    ("I forgot my password", "technical"),
    ("The app keeps logging me out", "technical"),
    ("My kettle won't turn on", "technical"),
    ("Put me through to billing please", "billing"),
]


@pytest.mark.parametrize(("request_text", "department"), HANDOFFS)
def test_a_plain_request_reaches_the_right_department(request_text: str, department: str) -> None:
    reply = HeuristicDemoModel().bind_tools(handoffs()).invoke(request_text)
    assert [call["name"] for call in reply.tool_calls] == [f"transfer_to_{department}"]


@pytest.mark.parametrize(
    ("member", "request_text", "first_call"),
    [
        ("shipping", "My order A-1001 arrived broken. Can you refund it?", "transfer_to_billing"),
        ("billing", "My order A-1001 arrived broken. Can you refund it?", LOOKUP),
        ("shipping", "Where is a1002?", LOOKUP),
        ("billing", "Where is a1002? It has not arrived", "transfer_to_shipping"),
        ("technical", "I can't sign in", None),
        ("shipping", "I can't sign in", "transfer_to_technical"),
    ],
)
def test_a_member_keeps_what_is_its_own_and_hands_on_the_rest(
    member: str, request_text: str, first_call: str | None
) -> None:
    agent = next(a for a in support_agents() if a.name == member)
    model = HeuristicDemoModel().bind_tools([*agent.tools, *handoffs(without=member)])
    reply = model.invoke(request_text)
    assert [c["name"] for c in reply.tool_calls][:1] == ([first_call] if first_call else [])


# -- memories ---------------------------------------------------------------------------------

MEMORIES = render_memories(
    [
        {"text": "I prefer email over phone calls.", "recorded_at": "2026-11-30T10:00:00"},
        {"text": "Lives in Lisbon.", "recorded_at": "2026-11-30T10:00:00"},
    ]
)


@pytest.mark.parametrize(
    ("request_text", "recalled", "not_recalled"),
    [
        ("How do I prefer to be contacted?", "I prefer email over phone calls.", "Lisbon"),
        ("Should you phone me or write?", "I prefer email over phone calls.", "Lisbon"),
        ("Where do I live?", "Lives in Lisbon.", "email"),
        ("What do you remember about me?", "Lives in Lisbon.", None),
    ],
)
def test_answers_from_recalled_memories(
    request_text: str, recalled: str, not_recalled: str | None
) -> None:
    calls, answer = drive(request_text, order_tools(), system=f"Be brief.\n\n{MEMORIES}")

    assert not calls
    assert "From earlier conversations I remember:" in answer and recalled in answer
    assert not_recalled is None or not_recalled not in answer


def test_a_recalled_preference_rides_along_with_tool_results() -> None:
    calls, answer = drive("Email me about A-1003?", order_tools(), system=MEMORIES)

    assert calls == [looks("A-1003")]
    assert "status: processing" in answer
    assert "I prefer email over phone calls." in answer
