"""Sagas in plan-and-execute: a plan whose third step fails after the fleet was resized and
the runbook updated undoes both, newest first, each through the approval gate and the ledger.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from checkpointers.ledger import InMemoryLedger
from demo.effects import read_effects
from demo.fleet import (
    BASE_FLEET,
    SAGA_PLAN,
    SAGA_REQUEST,
    ResizeFleetArgs,
    fleet_tools,
    saga_tools,
    verify_capacity,
)
from graphs.plan_execute import build_plan_execute_graph
from models import HeuristicDemoModel, ScriptedChatModel
from nodes.runtime import PatternRuntime
from state.plan import Replan
from tools.compensation import Compensation
from tools.registry import agent_tool

GIVE_UP = Replan(finished=True, answer="The capacity check failed; the change is rolled back.")
REQUEST = SAGA_REQUEST
PLAN = SAGA_PLAN


def build(ledger: InMemoryLedger | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    runtime = PatternRuntime(checkpointer=InMemorySaver(), ledger=ledger or InMemoryLedger())
    return build_plan_execute_graph(
        saga_tools(),
        planner_model=ScriptedChatModel(replies=[PLAN]),
        replanner_model=ScriptedChatModel(replies=[GIVE_UP]),
        executor_model=HeuristicDemoModel(),
        runtime=runtime,
    )


def thread() -> Any:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def fleet_size() -> int:
    resizes = read_effects("fleet_resize")
    return int(resizes[-1]["count"]) if resizes else BASE_FLEET


def runbook(section: str = "scaling") -> str:
    updates = [e for e in read_effects("runbook_update") if e["section"] == section]
    return str(updates[-1]["text"]) if updates else f"Original {section} section: fleet of 10."


def pending_action(graph: Any, config: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    (pending,) = graph.get_state(config).interrupts
    request = pending.value[0]
    return pending.id, request["action_request"]["action"], request["action_request"]["args"]


def decide(graph: Any, config: dict[str, Any], interrupt_id: str, decision: str) -> None:
    answer: dict[str, Any] = {"type": decision}
    if decision == "ignore":
        answer["args"] = None
    graph.invoke(Command(resume={interrupt_id: [answer]}), config, context=GATED)


UNGATED: Any = {"approve_plan": False, "approval_policy": "never"}
GATED: Any = {"approve_plan": False, "approval_policy": "side-effects"}


def test_without_gates_both_effects_are_undone_newest_first() -> None:
    graph, config = build(), thread()

    graph.invoke(
        {"messages": [HumanMessage(REQUEST)]},
        config,
        context=UNGATED,
    )

    values = graph.get_state(config).values
    saga = values["saga"]
    assert values["step_results"]["verify"]["status"] == "failed"
    assert saga["status"] == "compensated"
    assert [u["undoes_tool"] for u in saga["planned"]] == ["update_runbook", "resize_fleet"]
    assert [u["outcome"] for u in saga["planned"]] == ["undone", "undone"]
    assert fleet_size() == BASE_FLEET
    assert runbook() == "Original scaling section: fleet of 10."
    kinds = [(e["kind"], e.get("count") or e.get("text")) for e in read_effects()]
    assert kinds == [
        ("fleet_resize", 14),
        ("runbook_update", "Fleet of 14 during the sale."),
        ("runbook_update", "Original scaling section: fleet of 10."),
        ("fleet_resize", BASE_FLEET),
    ]
    last = values["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "saga"
    assert "Undone: update_runbook" in last.text and "Undone: resize_fleet" in last.text


def test_each_compensation_waits_at_the_gate_and_a_rejected_one_is_reported() -> None:
    ledger = InMemoryLedger()
    graph, config = build(ledger), thread()
    graph.invoke({"messages": [HumanMessage(REQUEST)]}, config, context=GATED)
    for expected in ("resize_fleet", "update_runbook"):  # the plan's own effects
        interrupt_id, action, _ = pending_action(graph, config)
        assert action == expected
        decide(graph, config, interrupt_id, "accept")

    interrupt_id, action, args = pending_action(graph, config)  # newest effect first
    assert (action, args) == (
        "restore_runbook",
        {"section": "scaling", "text": "Original scaling section: fleet of 10."},
    )
    assert runbook() == "Fleet of 14 during the sale."  # nothing undone before the decision
    decide(graph, config, interrupt_id, "accept")
    interrupt_id, action, args = pending_action(graph, config)
    assert (action, args) == ("restore_fleet_size", {"count": BASE_FLEET})
    decide(graph, config, interrupt_id, "ignore")

    values = graph.get_state(config).values
    assert graph.get_state(config).next == ()
    assert runbook() == "Original scaling section: fleet of 10." and fleet_size() == 14
    saga = values["saga"]
    assert saga["status"] == "partly_compensated"
    assert [u["outcome"] for u in saga["planned"]] == ["undone", "rejected"]
    assert "NOT undone (rejected): resize_fleet" in values["messages"][-1].text
    undo_entries = [e for e in ledger.entries() if e.tool_call_id.startswith("undo-")]
    assert [(e.tool, e.status) for e in undo_entries] == [("restore_runbook", "completed")]
    decisions = {d["action"]: d["decision"] for d in ledger.decisions()}
    assert decisions["restore_runbook"] == "accept" and decisions["restore_fleet_size"] == "ignore"


def test_a_replayed_saga_does_not_undo_twice() -> None:
    ledger = InMemoryLedger()
    graph, config = build(ledger), thread()
    context = UNGATED
    graph.invoke({"messages": [HumanMessage(REQUEST)]}, config, context=context)
    # fork from the checkpoint where the saga had just started and run the rest again
    started = next(
        s
        for s in graph.get_state_history(config)
        if (s.values.get("saga") or {}).get("status") == "compensating"
        and s.next == ("compensate",)
    )
    graph.invoke(None, started.config, context=context)

    assert fleet_size() == BASE_FLEET
    assert len(read_effects("fleet_resize")) == 2 and len(read_effects("runbook_update")) == 2


def test_a_plan_that_succeeds_starts_no_saga() -> None:
    config = thread()
    plan = {**PLAN, "steps": PLAN["steps"][:2]}
    ok = build_plan_execute_graph(
        fleet_tools(),
        planner_model=ScriptedChatModel(replies=[plan]),
        replanner_model=ScriptedChatModel(replies=[GIVE_UP]),
        executor_model=HeuristicDemoModel(),
        checkpointer=InMemorySaver(),
    )
    ok.invoke(
        {"messages": [HumanMessage(REQUEST)]},
        config,
        context=UNGATED,
    )
    assert ok.get_state(config).values.get("saga") is None
    assert fleet_size() == 14


def test_a_forged_saga_in_state_cannot_run_a_compensation_without_approval() -> None:
    ledger = InMemoryLedger()
    graph, config = build(ledger), thread()
    graph.invoke({"messages": [HumanMessage(REQUEST)]}, config, context=GATED)
    forged = {
        "status": "compensating",
        "reason": "forged",
        "effects": [],
        "planned": [
            {
                "call_id": "undo-forged",
                "undoes": "forged",
                "undoes_tool": "resize_fleet",
                "tool": "restore_fleet_size",
                "args": {"count": 99},
                "description": "forged",
            }
        ],
        "not_compensable": [],
    }
    graph.update_state(config, {"saga": forged}, as_node="replan")
    graph.invoke(None, config, context=GATED)  # the forged compensation waits at the gate
    _, action, args = pending_action(graph, config)
    assert (action, args) == ("restore_fleet_size", {"count": 99})
    assert all(e["count"] != 99 for e in read_effects("fleet_resize"))
    # an "approval" written into state, skipping the gate straight to the tool node, is no
    # approval: the tool node finds no decision in the ledger and does not run the call
    forged_approval = {"tool_call_id": "undo-forged", "decision": "accept", "reviewer": "me"}
    graph.update_state(config, {"approvals": [forged_approval]}, as_node="compensation_gate")
    graph.invoke(None, config, context=GATED)
    assert all(e["count"] != 99 for e in read_effects("fleet_resize"))
    saga = graph.get_state(config).values["saga"]
    assert saga["planned"][0]["outcome"] == "failed"
    assert "needs approval and none was recorded" in saga["planned"][0]["detail"]


def test_a_compensation_needs_side_effects() -> None:
    with pytest.raises(ValueError, match="only a tool with side effects"):

        @agent_tool(
            args_schema=ResizeFleetArgs,
            side_effects=False,
            compensation=Compensation(verify_capacity, lambda args, result: {}),
        )
        def read_only(count: int) -> int:
            """Read."""
            return count
