"""The router graph with scripted specialists: every department, the catch-all, triage and a yes
to its guess, multi-turn routing, each desk's own rule, approvals across levels (a refund, a
customs escalation), resuming inside a specialist, streaming with the agent's name, the step
budget."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from cli.approvals import pending_approvals
from demo.effects import read_effects
from demo.routing_examples import DEPARTMENTS
from demo.teams import DESK_RULES, support_desks, support_routes
from graphs.router import build_router_graph
from models import ScriptedChatModel, tool_calls_reply
from tests.snapshots import assert_matches_snapshot

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
LOOKUP = ("lookup_order", {"order_id": "A-1001"})
REFUND_REQUEST = "My order A-1001 arrived broken, please refund it."
RULES = {"routing_strategy": "rules"}


def make(
    scripts: dict[str, list[Any]], **kwargs: Any
) -> tuple[Any, dict[str, ScriptedChatModel], dict[str, Any]]:
    """A router whose specialists answer from scripts (an empty script must not be called)."""
    models = {name: ScriptedChatModel(replies=scripts.get(name, [])) for name in DEPARTMENTS}
    desks = [replace(spec, model=models[spec.name]) for spec in support_desks()]
    graph = build_router_graph(
        desks, hints=support_routes(), checkpointer=InMemorySaver(), **kwargs
    )
    return graph, models, {"configurable": {"thread_id": uuid.uuid4().hex}}


def ask(
    graph: Any, config: dict[str, Any], text: str, context: dict[str, Any] | None = None
) -> Any:
    return graph.invoke({"messages": [HumanMessage(text)]}, config, context=context or RULES)


def test_graph_structure_snapshot() -> None:
    served = build_router_graph(support_desks(), hints=support_routes())
    assert_matches_snapshot("router", served.get_graph().draw_mermaid())


def test_happy_path_routes_to_one_specialist_which_answers() -> None:
    graph, models, config = make(
        {
            "shipping": [
                tool_calls_reply(("lookup_order", {"order_id": "A-1002"})),
                "UPS, due 24 Nov.",
            ]
        }
    )

    result = ask(graph, config, "Where is my order A-1002? The tracking page is blank.")

    assert result["messages"][-1].text == "UPS, due 24 Nov."
    assert result["route"]["routed_to"] == "shipping" and result["route"]["strategy"] == "rules"
    assert result["route_history"] == [result["route"]]
    assert [len(models[n].calls) for n in DEPARTMENTS] == [0, 0, 0, 2, 0, 0]
    assert models["shipping"].calls[0].messages[0].text.startswith("You are the shipping desk")
    assert models["shipping"].calls[0].tools == [
        "lookup_order",
        "search_help_docs",
        "escalate_to_human",
    ]
    assert [m.name for m in result["messages"] if isinstance(m, ToolMessage)] == ["lookup_order"]


def test_low_confidence_falls_back_to_triage_without_calling_a_specialist() -> None:
    graph, models, config = make({})

    result = ask(graph, config, "Hello? Anyone?", {"routing_strategy": "hybrid", "model": "demo"})

    answer = result["messages"][-1]
    assert isinstance(answer, AIMessage) and answer.name == "triage"
    assert all(f"- {name}:" in answer.text for name in DEPARTMENTS)
    assert result["route"]["routed_to"] == "triage"
    assert result["route"]["confidence"] < result["route"]["threshold"]
    assert all(not m.calls for m in models.values())


def test_a_raised_threshold_sends_even_a_rule_match_to_triage_and_keeps_the_guess() -> None:
    graph, _, config = make({})

    result = ask(
        graph, config, "refund please", {"routing_strategy": "rules", "confidence_threshold": 0.9}
    )

    assert result["route"]["specialist"] == "billing" and result["route"]["routed_to"] == "triage"
    assert "best guess was billing" in result["messages"][-1].text
    assert "just say yes" in result["messages"][-1].text


def test_misroutes_are_observable_in_the_route_history() -> None:
    graph, models, config = make({"shipping": ["Let me check.", "Checked."], "billing": ["Sure."]})

    ask(graph, config, "The courier lost my parcel")
    ask(graph, config, "My card was charged twice")

    history = graph.get_state(config).values["route_history"]
    assert [h["routed_to"] for h in history] == ["shipping", "billing"]
    assert all(
        {"specialist", "confidence", "reason", "strategy", "threshold", "basis"} <= set(h)
        for h in history
    )


def _until_gate(graph: Any, config: dict[str, Any]) -> Any:
    ask(graph, config, REFUND_REQUEST)
    return graph.get_state(config)


def test_refund_inside_billing_interrupts_the_whole_run_on_the_top_level_thread() -> None:
    graph, models, config = make(
        {"billing": [tool_calls_reply(LOOKUP), tool_calls_reply(REFUND), "Refunded."]}
    )

    state = _until_gate(graph, config)

    assert state.next == ("billing",)
    [pending] = state.interrupts
    [request] = pending.value
    assert request["action_request"] == {"action": "issue_refund", "args": REFUND[1]}
    assert read_effects("refund") == []
    assert len(models["billing"].calls) == 2


def test_approved_refund_runs_once_and_resumes_inside_billing_without_rerunning_it() -> None:
    graph, models, config = make(
        {"billing": [tool_calls_reply(LOOKUP), tool_calls_reply(REFUND), "Refunded."]}
    )
    _until_gate(graph, config)

    result = graph.invoke(
        Command(resume=[{"type": "accept", "args": None, "reviewer": "ana"}]), config, context=RULES
    )

    assert result["messages"][-1].text == "Refunded."
    assert len(read_effects("refund")) == 1
    assert len(models["billing"].calls) == 3, "only the final answer was asked for after resume"
    assert [m.name for m in result["messages"] if isinstance(m, ToolMessage)] == [
        "lookup_order",
        "issue_refund",
    ]
    [record] = result["approvals"]
    assert record["decision"] == "accept" and record["reviewer"] == "ana"
    assert len(result["route_history"]) == 1, "routing did not run again on resume"
    assert graph.get_state(config).next == ()


def test_rejected_refund_is_not_issued() -> None:
    graph, models, config = make(
        {"billing": [tool_calls_reply(LOOKUP), tool_calls_reply(REFUND), "Declined."]}
    )
    _until_gate(graph, config)

    result = graph.invoke(
        Command(resume=[{"type": "ignore", "args": None, "reviewer": "dee", "reason": "fraud"}]),
        config,
        context=RULES,
    )

    assert read_effects("refund") == []
    seen = models["billing"].calls[-1].messages[-1]
    assert isinstance(seen, ToolMessage) and "Rejected by dee" in seen.text
    assert result["approvals"][0]["decision"] == "ignore"


def test_the_cli_approvals_list_shows_the_refund_waiting_inside_billing() -> None:
    saver = InMemorySaver()
    models = {"billing": ScriptedChatModel(replies=[tool_calls_reply(REFUND)])}
    desks = [replace(spec, model=models.get(spec.name)) for spec in support_desks()]
    graph = build_router_graph(desks, hints=support_routes(), checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "router-cli"}}
    ask(graph, config, REFUND_REQUEST)

    [pending] = pending_approvals(saver)

    assert pending.thread_id == "router-cli" and pending.graph_id == "router"
    assert pending.action == "issue_refund" and pending.args == REFUND[1]
    assert pending.interrupt_id == graph.get_state(config).interrupts[0].id


def test_streaming_with_subgraphs_names_the_agent_on_every_specialist_chunk() -> None:
    graph, _, config = make({"billing": [tool_calls_reply(LOOKUP), "It was delivered."]})

    chunks = list(
        graph.stream(
            {"messages": [HumanMessage("I need the invoice for A-1001")]},
            config,
            context=RULES,
            stream_mode=["updates", "messages"],
            subgraphs=True,
        )
    )

    inner = [(ns, mode, chunk) for ns, mode, chunk in chunks if ns]
    assert inner and all(ns[0].startswith("billing:") for ns, _, _ in inner)
    messages = [chunk for _, mode, chunk in inner if mode == "messages"]
    assert messages and all(meta["agent"] == "billing" for _, meta in messages)
    tokens = "".join(m.text for m, _ in messages if m.type == "AIMessageChunk" or m.type == "ai")
    assert "It was delivered." in tokens
    top = [chunk for ns, mode, chunk in chunks if not ns and mode == "updates"]
    assert "route_request" in top[0] and "billing" in top[-1]


def test_a_specialist_looping_on_tool_calls_stops_at_the_budget_with_a_message() -> None:
    graph, models, config = make(
        {"technical": [tool_calls_reply(("search_help_docs", {"query": "kettle"}))] * 10}
    )

    result = ask(graph, config, "The app crashes with an error", {**RULES, "max_steps": 3})

    last = result["messages"][-1]
    assert last.name == "budget" and "step budget (3 model calls per turn)" in last.text
    assert len(models["technical"].calls) == 3
    assert graph.get_state(config).next == ()


# -- the five departments, the catch-all, triage, conversations ----------------------------------

EVERY_DESK = [
    ("I was charged twice for my desk, please refund one.", "billing"),
    ("The app crashes with an error when I open my orders.", "technical"),
    ("My two-factor code is rejected every time I sign in.", "account"),
    ("Where is my parcel? The tracking has not moved.", "shipping"),
    ("There is a charge I did not make, I think my card was stolen.", "fraud"),
    ("Do you sell gift cards?", "general"),
]


def test_every_department_and_the_catch_all_is_routed_and_answers_with_its_own_prompt() -> None:
    graph, models, _ = make({name: [f"{name} here."] for name in DEPARTMENTS})

    for text, desk in EVERY_DESK:
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        result = ask(graph, config, text)
        assert result["route"]["routed_to"] == desk, (text, result["route"])
        assert result["messages"][-1].text == f"{desk} here."

    assert all(len(models[name].calls) == 1 for name in DEPARTMENTS)
    for name in DEPARTMENTS:
        prompt = models[name].calls[0].messages[0].text
        assert DESK_RULES[name] in prompt, name
    assert models["general"].calls[0].tools == ["get_store_info"]
    assert models["fraud"].calls[0].tools == [
        "lookup_order",
        "get_payment_risk",
        "escalate_to_human",
    ]


def test_the_seeds_rules_are_in_their_desks_prompts() -> None:
    graph, models, config = make({"fraud": ["Thank you, I am looking into it."]})

    ask(graph, config, "Someone used my card on your shop without my permission.")

    prompt = models["fraud"].calls[0].messages[0].text
    assert "Never accuse the customer" in prompt
    instructions = {spec.name: spec.instructions for spec in support_desks()}
    assert "Never request passwords" in instructions["account"]
    assert "Escalate customs issues to a human" in instructions["shipping"]
    assert "Never quote prices from memory" in instructions["billing"]


CUSTOMS = (
    "escalate_to_human",
    {"team": "customs", "summary": "A-1002 held at customs", "order_id": "A-1002"},
)


def test_a_customs_case_is_escalated_to_a_human_through_the_gate() -> None:
    graph, models, config = make(
        {
            "shipping": [
                tool_calls_reply(("lookup_order", {"order_id": "A-1002"})),
                tool_calls_reply(CUSTOMS),
                "A person from the customs team will contact you.",
            ]
        }
    )

    ask(graph, config, "My desk A-1002 is stuck in customs, they want papers.")

    state = graph.get_state(config)
    assert state.next == ("shipping",)
    [pending] = state.interrupts
    assert pending.value[0]["action_request"] == {"action": CUSTOMS[0], "args": CUSTOMS[1]}
    assert read_effects("escalation") == []

    result = graph.invoke(
        Command(resume=[{"type": "accept", "args": None, "reviewer": "ana"}]), config, context=RULES
    )

    [case] = read_effects("escalation")
    assert case["team"] == "customs" and case["order_id"] == "A-1002"
    assert result["messages"][-1].text.startswith("A person from the customs team")
    assert "escalate_to_human" in models["shipping"].calls[0].tools


def test_below_the_threshold_triage_asks_and_a_yes_takes_its_guess() -> None:
    graph, models, config = make({"billing": ["Let me look at A-1002's payment."]})

    first = ask(graph, config, "The payment for my parcel looks wrong.")

    assert first["route"]["routed_to"] == "triage" and first["messages"][-1].name == "triage"
    assert "My best guess was billing" in first["messages"][-1].text
    assert all(not m.calls for m in models.values())

    second = ask(graph, config, "Yes, it's order A-1002.")

    assert second["route"]["routed_to"] == "billing" and second["route"]["basis"] == "confirmed"
    assert second["messages"][-1].text == "Let me look at A-1002's payment."
    seen = [m.text for m in models["billing"].calls[0].messages]
    assert "The payment for my parcel looks wrong." in seen, "billing sees the whole conversation"


def test_a_follow_up_stays_with_technical_and_a_new_request_moves_on() -> None:
    graph, models, config = make(
        {"technical": ["Try restarting it.", "Then I will file a ticket."], "general": ["9-20h."]}
    )

    ask(graph, config, "The app crashes when I open my wishlist.")
    follow_up = ask(graph, config, "I restarted it and it still does the same.")
    moved = ask(graph, config, "Another thing: what are your opening hours?")

    history = graph.get_state(config).values["route_history"]
    assert [h["routed_to"] for h in history] == ["technical", "technical", "general"]
    assert follow_up["route"]["basis"] == "conversation"
    assert moved["route"]["basis"] == "latest" and moved["messages"][-1].text == "9-20h."
    assert len(models["technical"].calls) == 2


def test_the_offline_model_strategy_routes_with_its_stand_in() -> None:
    graph, models, config = make({"fraud": ["We will look into it."]})

    result = ask(
        graph,
        config,
        "somebody bought things with my stolen card",
        {"routing_strategy": "model", "model": "demo"},
    )

    assert result["route"]["routed_to"] == "fraud" and result["route"]["strategy"] == "model"
    assert "words seen in fraud requests" in result["route"]["reason"]
