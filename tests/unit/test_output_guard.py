"""The reply-claim check in every pattern with side effects, and what it must not judge.

A scripted model claims a refund it never made: the reply is replaced by a correction saying
what actually happened, the replaced text is kept in the audit (``guardrail_flags``) and an
``output_guarded`` event is emitted. The same claim after an approved refund is kept. Claims
are judged against the graph's own side-effecting tools (its sub-agents' included): a tool of
another graph in the process never turns a true reply into a false claim. The demo replies of
every served pattern are the same with the guardrails on as with them off.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from demo.effects import clear_effects
from demo.fleet import FLEET_PLAN, FLEET_REQUEST, fleet_tools
from demo.orders import issue_refund, lookup_order, order_tools
from demo.refund_orchestrator import EXAMPLE_REQUESTS, ShopPurchases, post_refund_note
from demo.routing_examples import DEPARTMENTS
from demo.scenarios import SCENARIOS
from demo.teams import support_agents, support_desks, support_routes
from graphs.memory_agent import build_memory_agent_graph
from graphs.orchestrator import build_orchestrator_graph
from graphs.plan_execute import build_plan_execute_graph
from graphs.react import build_react_graph
from graphs.registry import build_graph
from graphs.router import build_router_graph
from graphs.supervisor import build_supervisor_graph
from graphs.swarm import build_swarm_graph
from models import HeuristicDemoModel, ScriptedChatModel, tool_calls_reply
from nodes.guardrails import SERVED_GUARDRAILS, Guardrails
from nodes.output_guard import GUARD_KEY
from nodes.runtime import PatternRuntime
from observability.events import Event, add_sink
from state.agent_spec import AgentSpec
from state.orchestrator import ClaimReading
from state.plan import Replan

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
CLAIM = "Your refund of $89.99 has been issued."
CHECKS = Guardrails(claim_check=True)
ACCEPT = [{"type": "accept", "args": None, "reviewer": "lead"}]
REJECT = {"type": "ignore", "reviewer": "lead", "reason": "not eligible"}


def runtime(guardrails: Guardrails = CHECKS) -> PatternRuntime:
    return PatternRuntime(checkpointer=InMemorySaver(), guardrails=guardrails)


def thread() -> Any:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def ask(graph: Any, config: dict[str, Any], text: str = "refund A-1001", **kw: Any) -> Any:
    return graph.invoke({"messages": [HumanMessage(text)]}, config, **kw)


def last_reply(values: dict[str, Any]) -> AIMessage:
    message = values["messages"][-1]
    assert isinstance(message, AIMessage)
    return message


def assert_corrected(values: dict[str, Any], claim: str = CLAIM) -> None:
    reply = last_reply(values)
    assert reply.text.startswith("Correction:"), reply.text
    assert "no action was carried out" in reply.text
    assert reply.response_metadata[GUARD_KEY] == [{"check": "claim", "action": "corrected"}]
    audit = [f for f in values.get("guardrail_flags") or [] if f["kind"] == "output"]
    assert [f["replaced"] for f in audit] == [claim]


def assert_kept(values: dict[str, Any], claim: str = CLAIM) -> None:
    reply = last_reply(values)
    assert reply.text == claim and GUARD_KEY not in reply.response_metadata


# --- ReAct -------------------------------------------------------------------------------


def react(replies: list[Any], guardrails: Guardrails = CHECKS, tools: Any = None) -> Any:
    return build_react_graph(
        tools=order_tools() if tools is None else tools,
        model=ScriptedChatModel(replies=replies),
        runtime=runtime(guardrails),
    )


def test_react_a_refund_claimed_but_never_made_is_corrected_and_announced() -> None:
    events: list[Event] = []
    remove = add_sink(events.append)
    try:
        values = ask(react([CLAIM]), thread())
    finally:
        remove()
    assert_corrected(values)
    [event] = [e for e in events if e.kind == "output_guarded"]
    assert event.fields["check"] == "claim" and event.fields["action"] == "corrected"


def test_react_a_true_claim_after_an_approved_refund_is_kept() -> None:
    graph, config = react([tool_calls_reply(REFUND), CLAIM]), thread()
    ask(graph, config)
    assert_kept(graph.invoke(Command(resume=ACCEPT), config))


def test_react_a_claim_after_a_rejected_refund_is_corrected() -> None:
    graph, config = react([tool_calls_reply(REFUND), CLAIM]), thread()
    ask(graph, config)
    assert_corrected(graph.invoke(Command(resume=REJECT), config))


def test_react_a_refund_of_an_earlier_turn_does_not_back_a_claim_in_this_one() -> None:
    graph, config = react([tool_calls_reply(REFUND), CLAIM, "Sure.", CLAIM]), thread()
    ask(graph, config)
    assert_kept(graph.invoke(Command(resume=ACCEPT), config))
    ask(graph, config, "thanks")
    assert_corrected(ask(graph, config, "and refund A-1002 too"))


def test_react_without_the_check_the_claim_stands_and_hedged_sentences_never_count() -> None:
    assert_kept(ask(react([CLAIM], Guardrails()), thread()))
    hedged = "Once a reviewer approves it, your refund will be issued. No refund was issued yet."
    assert_kept(ask(react([hedged]), thread()), hedged)


# --- a tool of another graph must not judge this graph's replies --------------------------


def test_a_tool_of_another_graph_does_not_make_a_true_reply_a_false_claim() -> None:
    other = build_orchestrator_graph(
        ScriptedChatModel(replies=[]),
        records=ShopPurchases(),
        refund_tool=issue_refund,
        note_tool=post_refund_note,  # noun "note": lives in THAT graph only
        runtime=runtime(),
    )
    assert other is not None
    true_reply = "Note: issued."
    assert_kept(ask(react([true_reply]), thread()), true_reply)
    # the same sentence IS a claim in a graph whose own tool posts notes, and none was posted
    noted = react([true_reply], tools=[lookup_order, post_refund_note])
    assert_corrected(ask(noted, thread()), true_reply)


def test_a_graph_without_side_effecting_tools_never_corrects_a_reply() -> None:
    assert_kept(ask(react([CLAIM], tools=[lookup_order]), thread()))


# --- supervisor: the supervisor's reply may claim a worker's refund -------------------------


def supervisor(boss: list[Any], worker: list[Any]) -> Any:
    billing = AgentSpec(
        "billing",
        "refunds",
        instructions="You issue refunds.",
        tools=[lookup_order, issue_refund],
        model=ScriptedChatModel(replies=worker),
    )
    return build_supervisor_graph(
        [billing], model=ScriptedChatModel(replies=boss), runtime=runtime()
    )


DELEGATE = ("delegate_to_billing", {"task": "Refund A-1001."})


def test_supervisor_claiming_a_refund_its_worker_never_made_is_corrected() -> None:
    graph = supervisor([tool_calls_reply(DELEGATE), CLAIM], ["I looked at the order."])
    assert_corrected(ask(graph, thread()))


def test_supervisor_claiming_the_refund_its_worker_made_is_kept() -> None:
    graph = supervisor([tool_calls_reply(DELEGATE), CLAIM], [tool_calls_reply(REFUND), "Done."])
    config = thread()
    ask(graph, config)
    assert graph.get_state(config).interrupts  # the worker's refund waits for a person
    assert_kept(graph.invoke(Command(resume=ACCEPT), config))


# --- swarm and router: the agent answering the customer ------------------------------------


def swarm(billing: list[Any]) -> Any:
    agents = [
        dataclasses.replace(
            a, model=ScriptedChatModel(replies=billing if a.name == "billing" else [])
        )
        for a in support_agents()
    ]
    return build_swarm_graph(agents, default_agent="billing", runtime=runtime())


def test_swarm_agent_false_claim_is_corrected_and_true_claim_kept() -> None:
    assert_corrected(ask(swarm([CLAIM]), thread()))
    graph, config = swarm([tool_calls_reply(REFUND), CLAIM]), thread()
    ask(graph, config)
    assert_kept(graph.invoke(Command(resume=ACCEPT), config))


def router(billing: list[Any]) -> Any:
    desks = [
        dataclasses.replace(
            s, model=ScriptedChatModel(replies=billing if s.name == "billing" else [])
        )
        for s in support_desks()
    ]
    assert "billing" in DEPARTMENTS
    return build_router_graph(desks, hints=support_routes(), runtime=runtime())


def test_router_specialist_false_claim_is_corrected_and_true_claim_kept() -> None:
    rules = {"routing_strategy": "rules"}
    request = "My order A-1001 arrived broken, please refund it."
    assert_corrected(ask(router([CLAIM]), thread(), request, context=rules))
    graph, config = router([tool_calls_reply(REFUND), CLAIM]), thread()
    ask(graph, config, request, context=rules)
    assert_kept(graph.invoke(Command(resume=ACCEPT), config, context=rules))


# --- plan-and-execute: the answer may claim what a step's executor did ---------------------

RESIZED = "The fleet was resized to 20 instances."


def plan_execute(plan: dict[str, Any]) -> Any:
    return build_plan_execute_graph(
        fleet_tools(),
        planner_model=ScriptedChatModel(replies=[plan]),
        replanner_model=ScriptedChatModel(replies=[Replan(finished=True, answer=RESIZED)]),
        executor_model=HeuristicDemoModel(),
        runtime=runtime(),
    )


def test_plan_execute_answer_is_judged_against_the_steps_that_ran() -> None:
    no_gates = {"approve_plan": False, "approval_policy": "never"}
    values = ask(plan_execute(FLEET_PLAN), thread(), FLEET_REQUEST, context=no_gates)
    assert last_reply(values).text.startswith(RESIZED)
    read_only = {**FLEET_PLAN, "steps": FLEET_PLAN["steps"][:1]}
    values = ask(plan_execute(read_only), thread(), FLEET_REQUEST, context=no_gates)
    assert last_reply(values).text.startswith("Correction:")


# --- orchestrator and memory agent -------------------------------------------------------


def orchestrator(path: str, draft: str) -> dict[str, Any]:
    reading = ClaimReading(damaged_item_reported=path == "approved", claim_summary="A refund.")
    graph = build_orchestrator_graph(
        ScriptedChatModel(replies=[reading, draft]),
        records=ShopPurchases(),
        refund_tool=issue_refund,
        runtime=runtime(),
    )
    return dict(ask(graph, thread(), EXAMPLE_REQUESTS[path]))


def test_orchestrator_offer_claiming_a_refund_is_corrected_and_a_true_note_kept() -> None:
    assert_corrected(orchestrator("store_credit", CLAIM))  # outside the window: no refund
    assert_kept(orchestrator("approved", "Note: refund issued."), "Note: refund issued.")


def memory_agent(replies: list[Any]) -> Any:
    return build_memory_agent_graph(
        tools=order_tools(), model=ScriptedChatModel(replies=replies), runtime=runtime()
    )


def test_memory_agent_false_claim_is_corrected_and_true_claim_kept() -> None:
    no_facts: dict[str, Any] = {"facts": []}
    assert_corrected(ask(memory_agent([CLAIM, no_facts]), thread(), context={"user_id": "ana"}))
    graph, config = memory_agent([tool_calls_reply(REFUND), CLAIM, no_facts]), thread()
    ask(graph, config, context={"user_id": "ana"})
    assert_kept(graph.invoke(Command(resume=ACCEPT), config, context={"user_id": "ana"}))


# --- every served pattern: the demo replies are true, so the check leaves them alone --------

SIDE_EFFECT_PATTERNS = sorted(
    {
        "react",
        "hitl",
        "orchestrator",
        "router",
        "swarm",
        "supervisor",
        "plan_execute",
        "pipeline",
        "fraud_events",
        "memory_agent",
    }
    & set(SCENARIOS)
)


RANDOM_ID = re.compile(r"\b[A-Z]{2,4}-[0-9A-F]{8}\b")


def _final_texts(graph_id: str, guardrails: Guardrails) -> list[str]:
    clear_effects()  # the demo shop refuses a second refund of an order
    rt = PatternRuntime(checkpointer=InMemorySaver(), store=InMemoryStore(), guardrails=guardrails)
    graph = build_graph(graph_id, runtime=rt)
    config = thread()
    context = {"model": "demo", "approval_policy": "never"}
    graph.invoke({"messages": [("user", SCENARIOS[graph_id].question)]}, config, context=context)
    messages = graph.get_state(config).values["messages"]
    texts = [m.text for m in messages if isinstance(m, AIMessage) and not m.tool_calls]
    return [RANDOM_ID.sub("<id>", text) for text in texts]  # refund and summary ids differ


@pytest.mark.parametrize("graph_id", SIDE_EFFECT_PATTERNS)
def test_demo_replies_are_unchanged_with_the_served_guardrails(graph_id: str) -> None:
    plain = _final_texts(graph_id, Guardrails())
    guarded = _final_texts(graph_id, SERVED_GUARDRAILS)
    assert guarded == plain
    assert not any(text.startswith("Correction:") for text in guarded)
