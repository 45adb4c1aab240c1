"""Each pattern's invalid structured output, through the shared policy (`nodes.ask`).

For every structured answer a pattern asks for: a scripted model answering invalid first and
valid then (the re-ask works and carried the validation error), and one invalid every time
(the run ends cleanly, or falls back where the pattern says so, and state says why). The
critique judge's two cases are in `test_critique_graph` (``test_an_invalid_verdict_...``,
``test_a_judge_invalid_twice_...``); reflexion asks for text only.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from demo.effects import read_effects
from demo.fleet import FLEET_PLAN, fleet_tools
from demo.orders import order_tools
from demo.refund_desk import refund_desk
from demo.teams import support_desks, support_routes
from graphs.hitl import build_hitl_graph
from graphs.memory_agent import build_memory_agent_graph
from graphs.plan_execute import build_plan_execute_graph
from graphs.router import build_router_graph
from memory.embeddings import HashEmbeddings
from models import ScriptedChatModel
from models.heuristic import HeuristicDemoModel
from state.plan import Replan

FLEET_REQUEST = "Check the fleet and resize it for the jobs queue."
NO_GATES = {"approve_plan": False, "approval_policy": "never"}


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def reasked_with(model: ScriptedChatModel, call: int, *needles: str) -> bool:
    """Whether call `call` (0-based) re-asked, carrying each of `needles` (the error)."""
    text = model.calls[call].last_text
    return " was invalid (" in text and all(needle in text for needle in needles)


# -- plan_execute: planner and replanner ------------------------------------------------------


def plan_graph(
    planner: list[Any], replanner: list[Any]
) -> tuple[Any, ScriptedChatModel, ScriptedChatModel]:
    planner_model = ScriptedChatModel(replies=planner)
    replanner_model = ScriptedChatModel(replies=replanner)
    graph = build_plan_execute_graph(
        fleet_tools(),
        planner_model=planner_model,
        replanner_model=replanner_model,
        executor_model=HeuristicDemoModel(),  # the executor's stand-in follows each step
        checkpointer=InMemorySaver(),
    )
    return graph, planner_model, replanner_model


def run_plan(graph: Any) -> dict[str, Any]:
    """Run the fleet request; the thread's whole state (the output schema hides status)."""
    config = thread()
    graph.invoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=NO_GATES)
    return dict(graph.get_state(config).values)


def test_planner_invalid_then_valid_plans_and_runs() -> None:
    graph, planner, _ = plan_graph(
        [{"goal": "g", "steps": []}, FLEET_PLAN], [Replan(finished=True, answer="Done.")]
    )

    out = run_plan(graph)

    assert len(planner.calls) == 2
    assert reasked_with(planner, 1, "ValidationError", "steps")
    assert out["status"] == "finished" and out.get("invalid_output") is None
    assert out["messages"][-1].text.startswith("Done.")


def test_planner_invalid_every_time_ends_with_no_plan_and_the_reason() -> None:
    graph, planner, replanner = plan_graph([{"goal": "g", "steps": []}] * 2, [])

    out = run_plan(graph)

    assert out["status"] == "no_plan" and len(planner.calls) == 2 and replanner.calls == []
    record = out["invalid_output"]
    assert record["role"] == "planner" and record["schema"] == "Plan" and record["attempts"] == 2
    assert record["outcome"] == "ended" and record["reason"] in out["messages"][-1].text
    assert read_effects() == []


def test_replanner_invalid_then_valid_finishes() -> None:
    graph, _, replanner = plan_graph(
        [FLEET_PLAN], [{"answer": "no flag"}, Replan(finished=True, answer="All done.")]
    )

    out = run_plan(graph)

    assert len(replanner.calls) == 2 and reasked_with(replanner, 1, "finished: Field required")
    assert out["status"] == "finished" and out["messages"][-1].text.startswith("All done.")


def test_replanner_invalid_every_time_finishes_cleanly_with_the_results_and_the_reason() -> None:
    graph, _, replanner = plan_graph([FLEET_PLAN], [{"answer": "no flag"}] * 2)

    out = run_plan(graph)

    assert len(replanner.calls) == 2 and out["status"] == "finished"
    text = out["messages"][-1].text
    assert text.startswith("Stopped: the replanner gave no valid Replan in 2 attempts")
    assert text.count(": done") == len(FLEET_PLAN["steps"]), "the steps' results are reported"
    assert out["invalid_output"]["role"] == "replanner"


# -- router: the model strategy ---------------------------------------------------------------


def router_graph(router_replies: list[Any]) -> tuple[Any, ScriptedChatModel, ScriptedChatModel]:
    billing = ScriptedChatModel(replies=["Your refund request is noted."])
    desks = [
        replace(spec, model=billing if spec.name == "billing" else ScriptedChatModel(replies=[]))
        for spec in support_desks()
    ]
    router_model = ScriptedChatModel(replies=router_replies)
    graph = build_router_graph(
        desks, model=router_model, hints=support_routes(), checkpointer=InMemorySaver()
    )
    return graph, router_model, billing


def route(graph: Any) -> dict[str, Any]:
    return dict(
        graph.invoke(
            {"messages": [HumanMessage("I was charged twice.")]},
            thread(),
            context={"routing_strategy": "model"},
        )
    )


def test_router_invalid_then_valid_routes_to_the_specialist() -> None:
    valid = {"specialist": "billing", "confidence": 0.9, "reason": "a double charge"}
    graph, router_model, billing = router_graph([{"specialist": "billing"}, valid])

    out = route(graph)

    assert reasked_with(router_model, 1, "confidence: Field required")
    assert out["route"]["routed_to"] == "billing" and len(billing.calls) == 1


def test_router_invalid_every_time_falls_back_to_triage_with_the_reason() -> None:
    graph, router_model, billing = router_graph([{"specialist": "billing"}] * 2)

    out = route(graph)

    assert len(router_model.calls) == 2 and billing.calls == []
    assert out["route"]["routed_to"] == "triage" and out["route"]["confidence"] == 0.0
    assert out["route"]["reason"].startswith("no valid routing decision: the router gave no")
    assert out["messages"][-1].name == "triage"


# -- hitl: the refund recommendation ----------------------------------------------------------


RECOMMEND = {
    "decision": "approve",
    "amount": 89.99,
    "cited_facts": ["arrived broken"],
    "rationale": "Damaged on arrival.",
}


def refund_run(replies: list[Any]) -> tuple[Any, ScriptedChatModel, dict[str, Any]]:
    model = ScriptedChatModel(replies=replies)
    graph = build_hitl_graph(model=model, desk=refund_desk(), checkpointer=InMemorySaver())
    config = thread()
    graph.invoke(
        {"messages": [("user", "My kettle A-1001 arrived broken, please refund it.")]}, config
    )
    return graph, model, config


def test_refund_recommendation_invalid_then_valid_proceeds() -> None:
    graph, model, config = refund_run(
        [{**RECOMMEND, "decision": "maybe"}, RECOMMEND, "Refund issued."]
    )

    assert reasked_with(model, 1, "decision: Input should be 'approve', 'deny' or 'need_more_info'")
    assert graph.get_state(config).values["outcome"]["status"] == "issued"
    assert [e["amount"] for e in read_effects("refund")] == [89.99]


def test_refund_recommendation_invalid_every_time_ends_with_no_refund_and_the_reason() -> None:
    bad = {**RECOMMEND, "amount": -5}
    graph, model, config = refund_run(
        [bad, bad, "We are looking into it; nothing was refunded yet."]
    )

    state = graph.get_state(config)
    values = state.values
    assert state.next == () and not state.interrupts, "ended, not waiting at the gate"
    assert read_effects("refund") == []
    assert values["recommendation"] is None
    assert values["outcome"]["why"] == "invalid_recommendation"
    assert "refund recommender gave no valid RefundRecommendation" in values["outcome"]["reason"]
    assert values["policy"]["invalid_output"]["attempts"] == 2
    assert "could not be assessed automatically" in model.calls[2].last_text, "the reply's facts"
    assert values["messages"][-1].name == "customer_reply"


# -- memory_agent: fact extraction ------------------------------------------------------------


def memory_run(replies: list[Any]) -> tuple[dict[str, Any], ScriptedChatModel, InMemoryStore]:
    store = InMemoryStore(index={"dims": 512, "embed": HashEmbeddings(), "fields": ["text"]})
    model = ScriptedChatModel(replies=replies)
    graph = build_memory_agent_graph(
        tools=order_tools(), model=model, checkpointer=InMemorySaver(), store=store
    )
    result = graph.invoke(
        {"messages": [HumanMessage("I prefer email.")]}, thread(), context={"user_id": "ana"}
    )
    return dict(result), model, store


def test_memory_extraction_invalid_then_valid_stores_the_fact() -> None:
    fact = {"facts": [{"text": "Prefers email", "category": "preference"}]}
    result, model, store = memory_run(["Noted.", {"facts": [{"text": ""}]}, fact])

    assert reasked_with(model, 2, "ValidationError", "facts.0.text")
    assert [r["status"] for r in result["remembered"]] == ["stored"]
    assert [item.value["text"] for item in store.search(("memories", "ana"))] == ["Prefers email"]


def test_memory_extraction_invalid_every_time_records_the_failure_and_answers() -> None:
    result, _, store = memory_run(["Noted.", {"facts": "none"}, {"facts": "none"}])

    assert result["messages"][-1].text == "Noted."
    [failed] = result["remembered"]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("the memory extractor gave no valid ExtractedFacts")
    assert store.search(("memories", "ana")) == []
