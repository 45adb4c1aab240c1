"""The plan-and-execute graph with scripted models: plan approval, parallel steps, failures,
replanning, the executor's own approval gate and plan validation."""

from __future__ import annotations

import copy
import threading
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from demo.effects import read_effects
from demo.fleet import FLEET_PLAN, FLEET_REQUEST, fleet_tools
from graphs.plan_execute import build_plan_execute_graph, graph
from models import HeuristicDemoModel, ScriptedChatModel
from nodes.plan_executor import step_follower_model
from state.plan import Plan, PlanStep, Replan, merge_step_results
from tests.snapshots import assert_matches_snapshot
from tools.registry import agent_tool

FINISHED = Replan(finished=True, answer="The fleet runs 20 instances and the queue drains.")
NO_GATES = {"approve_plan": False, "approval_policy": "never"}


def build(
    plan: dict[str, Any],
    replies: list[Any] | None = None,
    tools: list[BaseTool] | None = None,
) -> tuple[CompiledStateGraph[Any, Any, Any, Any], ScriptedChatModel, ScriptedChatModel]:
    planner = ScriptedChatModel(replies=[plan])
    replanner = ScriptedChatModel(replies=replies or [FINISHED])
    compiled = build_plan_execute_graph(
        fleet_tools() if tools is None else tools,
        planner_model=planner,
        replanner_model=replanner,
        # on the demo model the executor plays its offline stand-in, which follows each step
        # it is given (`nodes.plan_executor.step_follower_model`)
        executor_model=HeuristicDemoModel(),
        checkpointer=InMemorySaver(),
    )
    return compiled, planner, replanner


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def start(
    compiled: CompiledStateGraph[Any, Any, Any, Any],
    config: dict[str, Any],
    context: dict[str, Any],
) -> dict[str, Any]:
    return dict(
        compiled.invoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=context)
    )


def answer(
    compiled: CompiledStateGraph[Any, Any, Any, Any],
    config: dict[str, Any],
    decision: dict[str, Any],
    context: dict[str, Any],
) -> dict[str, Any]:
    (pending,) = compiled.get_state(config).interrupts
    return dict(compiled.invoke(Command(resume={pending.id: decision}), config, context=context))


def results(
    compiled: CompiledStateGraph[Any, Any, Any, Any], config: dict[str, Any]
) -> dict[str, Any]:
    return dict(compiled.get_state(config).values["step_results"])


class NameArgs(BaseModel):
    name: str


def recording_note(log: list[str]) -> BaseTool:
    """A read-only tool ``note(name)`` that appends `name` to `log`."""

    @agent_tool(args_schema=NameArgs, side_effects=False)
    def note(name: str) -> str:
        """Record that a step ran."""
        log.append(name)
        return name

    return note


def plan_step(step_id: str, tool: str, *deps: str) -> dict[str, Any]:
    """A plan step calling `tool` with ``name=step_id``, after `deps`."""
    return {
        "id": step_id,
        "description": step_id,
        "tool": tool,
        "inputs": {"name": step_id},
        "depends_on": list(deps),
    }


def test_structure_matches_snapshot() -> None:
    assert_matches_snapshot("plan_execute", graph.get_graph().draw_mermaid())


def test_fleet_plan_runs_every_step_and_answers() -> None:
    compiled, planner, replanner = build(FLEET_PLAN)
    config = thread()

    out = start(compiled, config, NO_GATES)

    done = results(compiled, config)
    assert {k: v["status"] for k, v in done.items()} == {
        s["id"]: "done" for s in FLEET_PLAN["steps"]
    }
    assert '"draining": true' in done["queue_after"]["output"]
    assert [e["count"] for e in read_effects("fleet_resize")] == [20]
    assert [e["section"] for e in read_effects("runbook_update")] == ["scaling"]
    final = out["messages"][-1].text
    assert final.startswith(FINISHED.answer) and "- update_runbook" in final
    assert len(planner.calls) == 1 and len(replanner.calls) == 1
    assert '"queue_after"' in replanner.calls[0].last_text  # the replanner read the results
    assert compiled.get_state(config).values["status"] == "finished"


def _barrier_tools(parties: int) -> tuple[list[Any], threading.Barrier]:
    barrier = threading.Barrier(parties, timeout=10)

    class Args(BaseModel):
        branch: str

    @agent_tool(args_schema=Args, side_effects=False)
    def wait_for_others(branch: str) -> str:
        """Block until every branch has started (fails unless the branches overlap)."""
        barrier.wait()
        return f"{branch} ran alongside the others"

    return [wait_for_others], barrier


def test_independent_steps_run_concurrently() -> None:
    tools, barrier = _barrier_tools(3)
    plan = {
        "goal": "three branches",
        "steps": [
            {"id": b, "description": b, "tool": "wait_for_others", "inputs": {"branch": b}}
            for b in ("a", "b", "c")
        ]
        + [{"id": "join", "description": "join", "depends_on": ["a", "b", "c"]}],
    }
    compiled, _, _ = build(plan, tools=tools)
    config = thread()

    start(compiled, config, NO_GATES)

    statuses = {k: v["status"] for k, v in results(compiled, config).items()}
    assert statuses == {"a": "done", "b": "done", "c": "done", "join": "done"}
    assert not barrier.broken


def _unequal_branches() -> tuple[dict[str, Any], list[Any], threading.Event, list[str]]:
    """A slow step that only finishes once a step of another, longer branch has run."""
    released = threading.Event()
    ran: list[str] = []

    @agent_tool(args_schema=NameArgs, side_effects=False)
    def slow(name: str) -> str:
        """Wait until the other branch's last step ran (it never does under lock-step)."""
        ran.append(f"{name} started")
        outcome = "released" if released.wait(timeout=10) else "still waiting"
        ran.append(f"{name} {outcome}")
        return outcome

    @agent_tool(args_schema=NameArgs, side_effects=False)
    def quick(name: str) -> str:
        """Run at once; the branch's last step releases the slow one."""
        ran.append(name)
        if name == "b3":
            released.set()
        return name

    plan = {
        "goal": "a slow branch next to a long one",
        "steps": [
            plan_step("a1", "slow"),
            plan_step("b1", "quick"),
            plan_step("b2", "quick", "b1"),
            plan_step("b3", "quick", "b2"),
            plan_step("join", "quick", "a1", "b3"),
        ],
    }
    return plan, [slow, quick], released, ran


def test_a_branch_does_not_wait_for_a_slow_independent_step() -> None:
    """b2 and b3 start while a1 is still running: no round waits for its slowest step."""
    plan, tools, _, ran = _unequal_branches()
    compiled, _, _ = build(plan, tools=tools)
    config = thread()

    start(compiled, config, NO_GATES)

    assert results(compiled, config)["a1"]["output"] == "released"
    assert ran.index("b3") < ran.index("a1 released") and ran[-1] == "join"
    assert {r["status"] for r in results(compiled, config).values()} == {"done"}


async def test_a_branch_does_not_wait_for_a_slow_independent_step_async() -> None:
    plan, tools, _, ran = _unequal_branches()
    compiled, _, _ = build(plan, tools=tools)
    config = thread()

    await compiled.ainvoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=NO_GATES)

    values = (await compiled.aget_state(config)).values
    assert values["step_results"]["a1"]["output"] == "released"
    assert ran.index("b3") < ran.index("a1 released") and ran[-1] == "join"


def test_a_plan_wider_than_the_thread_pool_still_finishes() -> None:
    """Waiting steps hold threads under invoke; shallow steps are called first, so no deadlock."""
    calls: list[str] = []
    steps = [
        plan_step(f"{chain}{n}", "note", *([f"{chain}{n - 1}"] if n > 1 else []))
        for chain in "abc"
        for n in range(1, 5)
    ]
    plan = {"goal": "three chains of four", "steps": steps}
    compiled, _, _ = build(plan, tools=[recording_note(calls)])
    config = {**thread(), "max_concurrency": 2}

    compiled.invoke({"messages": [HumanMessage("go")]}, config, context=NO_GATES)

    assert sorted(calls) == sorted(s["id"] for s in steps)
    for chain in "abc":
        assert [c for c in calls if c.startswith(chain)] == [f"{chain}{n}" for n in range(1, 5)]


def test_steps_finished_while_another_waits_for_approval_do_not_run_again() -> None:
    """resize pauses at the executor's gate; the independent branch finishes and is saved."""
    ran: list[str] = []
    resize = {"id": "resize", "description": "resize", "tool": "resize_fleet"}
    plan = {
        "goal": "resize while reading",
        "steps": [
            {**resize, "inputs": {"count": 20}},
            plan_step("read", "note"),
            plan_step("after_read", "note", "read"),
            plan_step("after_resize", "note", "resize"),
        ],
    }
    tools = [t for t in fleet_tools() if t.name == "resize_fleet"] + [recording_note(ran)]
    compiled, _, _ = build(plan, tools=tools)
    config = thread()
    context = {"approve_plan": False}

    start(compiled, config, context)

    assert ran == ["read", "after_read"]  # after_resize waits for the paused step
    (pending,) = compiled.get_state(config).interrupts
    assert pending.value[0]["action_request"]["action"] == "resize_fleet"

    answer(compiled, config, {"type": "accept", "reviewer": "ops"}, context)

    assert ran == ["read", "after_read", "after_resize"]  # the finished steps did not run again
    assert {r["status"] for r in results(compiled, config).values()} == {"done"}
    assert len(read_effects("fleet_resize")) == 1


def test_a_dependent_step_waits_for_its_dependency() -> None:
    order: list[str] = []
    plan = {
        "goal": "chain",
        "steps": [plan_step("second", "note", "first"), plan_step("first", "note")],
    }
    compiled, _, _ = build(plan, tools=[recording_note(order)])
    start(compiled, thread(), NO_GATES)
    assert order == ["first", "second"]


def test_plan_approval_accept_runs_the_plan() -> None:
    compiled, _, _ = build(FLEET_PLAN)
    config = thread()
    context = {"approval_policy": "never"}
    start(compiled, config, context)
    (pending,) = compiled.get_state(config).interrupts
    assert pending.value[0]["action_request"]["action"] == "execute_plan"
    assert read_effects() == []  # nothing runs before the plan is approved

    answer(compiled, config, {"type": "accept", "reviewer": "ops"}, context)

    assert [e["count"] for e in read_effects("fleet_resize")] == [20]
    (record,) = compiled.get_state(config).values["approvals"]
    assert record["action"] == "execute_plan" and record["decision"] == "accept"


def test_plan_approval_edit_changes_the_plan() -> None:
    compiled, _, _ = build(FLEET_PLAN)
    config = thread()
    context = {"approval_policy": "never"}
    start(compiled, config, context)
    edited = copy.deepcopy(FLEET_PLAN)
    next(s for s in edited["steps"] if s["id"] == "resize")["inputs"] = {"count": 15}
    edited["steps"] = [s for s in edited["steps"] if s["id"] != "update_runbook"]

    answer(
        compiled,
        config,
        {"type": "edit", "args": {"action": "execute_plan", "args": edited}},
        context,
    )

    assert [e["count"] for e in read_effects("fleet_resize")] == [15]
    assert read_effects("runbook_update") == []
    assert set(results(compiled, config)) == {s["id"] for s in edited["steps"]}


def test_an_invalid_plan_edit_is_asked_again() -> None:
    compiled, _, _ = build(FLEET_PLAN)
    config = thread()
    context = {"approval_policy": "never"}
    start(compiled, config, context)
    cyclic = copy.deepcopy(FLEET_PLAN)
    cyclic["steps"][0]["depends_on"] = ["queue_after"]

    answer(
        compiled,
        config,
        {"type": "edit", "args": {"action": "execute_plan", "args": cyclic}},
        context,
    )

    (pending,) = compiled.get_state(config).interrupts
    assert "dependency cycle" in pending.value[0]["description"]
    assert read_effects() == []
    answer(compiled, config, {"type": "accept"}, context)
    assert len(read_effects("fleet_resize")) == 1


def test_plan_rejection_ends_without_running_anything() -> None:
    compiled, _, replanner = build(FLEET_PLAN)
    config = thread()
    start(compiled, config, {})

    out = answer(compiled, config, {"type": "ignore", "reviewer": "ops", "reason": "not today"}, {})

    assert read_effects() == [] and replanner.calls == []
    assert "rejected by ops: not today" in out["messages"][-1].text
    assert compiled.get_state(config).values["status"] == "rejected"
    assert compiled.get_state(config).next == ()


def _failing_plan() -> dict[str, Any]:
    plan = copy.deepcopy(FLEET_PLAN)
    next(s for s in plan["steps"] if s["id"] == "queue_before")["inputs"] = {"queue": "job"}
    return plan


def test_a_failed_step_stops_its_dependents_and_is_surfaced() -> None:
    compiled, _, replanner = build(
        _failing_plan(), replies=[Replan(finished=True, answer="Gave up.")]
    )
    config = thread()

    out = start(compiled, config, NO_GATES)

    done = results(compiled, config)
    assert done["queue_before"]["status"] == "failed"
    assert "Unknown queue 'job'" in done["queue_before"]["error"]
    for dependent in ("resize", "queue_after", "update_runbook"):
        assert done[dependent]["status"] == "skipped"
    assert "depends on queue_before" in done["resize"]["error"]
    assert {done[s]["status"] for s in ("fleet", "runbook")} == {"done"}
    assert read_effects() == []  # no resize without the measurement it depends on
    final = out["messages"][-1].text
    assert "queue_before (Measure the jobs queue before resizing): failed" in final
    assert "resize (Resize the fleet to 20 instances): skipped" in final
    assert "Unknown queue 'job'" in replanner.calls[0].last_text


def test_the_replanner_revises_the_remaining_steps() -> None:
    fix = [
        {
            "id": "queue_before",
            "description": "Measure the jobs queue (fixed name)",
            "tool": "check_queue_depth",
            "inputs": {"queue": "jobs"},
        },
        *[s for s in FLEET_PLAN["steps"] if s["id"] in ("resize", "queue_after", "update_runbook")],
    ]
    replies = [Replan(finished=False, steps=[*map(dict, fix)]), FINISHED]
    compiled, _, replanner = build(_failing_plan(), replies=replies)
    config = thread()

    out = start(compiled, config, NO_GATES)

    state = compiled.get_state(config).values
    assert state["replans"] == 1
    assert {v["status"] for v in state["step_results"].values()} == {"done"}
    assert [e["count"] for e in read_effects("fleet_resize")] == [20]
    assert len(replanner.calls) == 2
    assert out["messages"][-1].text.startswith(FINISHED.answer)


def test_replanning_is_bounded_by_max_replans() -> None:
    compiled, _, replanner = build(_failing_plan())
    config = thread()

    out = start(compiled, config, {**NO_GATES, "max_replans": 0})

    assert replanner.calls == []
    assert "Stopped after 0 replans" in out["messages"][-1].text
    assert "failed - Error" in out["messages"][-1].text


def test_side_effecting_steps_pass_the_executors_approval_gate() -> None:
    compiled, _, _ = build(FLEET_PLAN)
    config = thread()
    context = {"approve_plan": False}  # approval_policy stays "side-effects"
    start(compiled, config, context)
    (pending,) = compiled.get_state(config).interrupts
    assert pending.value[0]["action_request"] == {"action": "resize_fleet", "args": {"count": 20}}
    assert read_effects() == []

    answer(compiled, config, {"type": "accept", "reviewer": "ops"}, context)
    answer(compiled, config, {"type": "accept", "reviewer": "ops"}, context)  # runbook

    assert len(read_effects("fleet_resize")) == len(read_effects("runbook_update")) == 1
    approvals = compiled.get_state(config).values["approvals"]
    assert [(a["action"], a["step"]) for a in approvals] == [
        ("resize_fleet", "resize"),
        ("update_runbook", "update_runbook"),
    ]


def test_a_rejected_step_action_fails_the_step() -> None:
    compiled, _, _ = build(FLEET_PLAN)
    config = thread()
    context = {"approve_plan": False}
    start(compiled, config, context)

    answer(compiled, config, {"type": "ignore", "reviewer": "ops"}, context)

    done = results(compiled, config)
    assert done["resize"]["status"] == "failed"
    assert done["queue_after"]["status"] == done["update_runbook"]["status"] == "skipped"
    assert read_effects() == []


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([{"id": "a", "description": "x"}, {"id": "a", "description": "y"}], "duplicate step ids"),
        ([{"id": "a", "description": "x", "depends_on": ["b"]}], "unknown steps: b"),
        (
            [
                {"id": "a", "description": "x", "depends_on": ["b"]},
                {"id": "b", "description": "y", "depends_on": ["a"]},
            ],
            "dependency cycle",
        ),
        ([], "at least 1 item"),
    ],
)
def test_plan_validation(steps: list[dict[str, Any]], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Plan.model_validate({"goal": "g", "steps": steps})


def test_step_results_merge_by_id_and_none_removes() -> None:
    left = {"a": {"status": "failed"}, "b": {"status": "done"}}
    merged = merge_step_results(left, {"a": None, "c": {"status": "done"}})
    assert merged == {"b": {"status": "done"}, "c": {"status": "done"}}


def test_the_fleet_scenario_runs_offline_on_the_demo_model() -> None:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    context = {"model": "demo", "approve_plan": False, "approval_policy": "never"}

    out = graph.invoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=context)

    text = out["messages"][-1].text
    assert text.startswith("Offline demo (not an LLM)")
    assert text.count(": done") == len(FLEET_PLAN["steps"])
    assert [e["count"] for e in read_effects("fleet_resize")] == [20]


def test_a_planner_without_a_valid_plan_ends_the_run_with_a_message() -> None:
    compiled, planner, replanner = build({"goal": "nothing", "steps": []})
    planner.cycle = True  # the invalid plan again when asked again with the error
    config = thread()

    out = start(compiled, config, NO_GATES)

    assert len(planner.calls) == 2
    assert out["messages"][-1].text.startswith("The planner did not produce a valid plan")
    assert replanner.calls == [] and read_effects() == []
    assert compiled.get_state(config).next == ()


async def test_the_async_path_runs_steps_and_the_executor_gate() -> None:
    compiled, _, _ = build(FLEET_PLAN)
    config = thread()
    context = {"approve_plan": False}
    await compiled.ainvoke({"messages": [HumanMessage(FLEET_REQUEST)]}, config, context=context)
    for _ in range(2):  # resize_fleet, then update_runbook wait at the executor's gate
        (pending,) = (await compiled.aget_state(config)).interrupts
        decision = {pending.id: {"type": "accept", "reviewer": "ops"}}
        await compiled.ainvoke(Command(resume=decision), config, context=context)

    state = (await compiled.aget_state(config)).values
    assert {r["status"] for r in state["step_results"].values()} == {"done"}
    assert len(read_effects("fleet_resize")) == len(read_effects("runbook_update")) == 1


def test_steps_dropped_by_a_replan_are_still_reported() -> None:
    replacement = {
        "id": "queue_jobs",
        "description": "Measure jobs",
        "tool": "check_queue_depth",
        "inputs": {"queue": "jobs"},
    }
    replies = [Replan(finished=False, steps=[PlanStep(**replacement)]), FINISHED]
    compiled, _, _ = build(_failing_plan(), replies=replies)

    out = start(compiled, thread(), NO_GATES)

    final = out["messages"][-1].text
    assert "- queue_jobs (Measure jobs): done" in final
    assert "- queue_before (dropped by replanning): failed - Error" in final
    assert "- resize (dropped by replanning): skipped" in final


def test_the_executor_stand_in_follows_the_step_it_is_given_not_the_prompt() -> None:
    step = PlanStep(id="resize", description="x", tool="resize_fleet", inputs={"count": 20})
    model = step_follower_model(step, {})

    reply = model.invoke([HumanMessage("a prompt that names no tool at all")])

    (call,) = reply.tool_calls
    assert (call["name"], call["args"]) == ("resize_fleet", {"count": 20})
    other = step_follower_model(step, {"fleet": {"status": "done", "output": "10"}})
    assert other.invoke([HumanMessage("")]).tool_calls[0]["id"] != call["id"]  # new inputs


def test_an_executor_that_raises_fails_its_step_and_the_others_run() -> None:
    def explode(state: MessagesState) -> dict[str, Any]:
        if "boom" in state["messages"][-1].text:
            raise RuntimeError("executor broke")
        return {"messages": [AIMessage("ok")]}

    builder = StateGraph(MessagesState)
    builder.add_node("explode", explode).add_edge(START, "explode")
    plan = {
        "goal": "one breaks",
        "steps": [
            {"id": "boom", "description": "boom"},
            {"id": "fine", "description": "fine"},
            {"id": "after", "description": "after", "depends_on": ["boom"]},
        ],
    }
    compiled = build_plan_execute_graph(
        [],
        executor=builder.compile(),
        planner_model=ScriptedChatModel(replies=[plan]),
        replanner_model=ScriptedChatModel(replies=[FINISHED]),
        checkpointer=InMemorySaver(),
    )
    config = thread()

    start(compiled, config, NO_GATES)

    done = results(compiled, config)
    assert done["boom"]["status"] == "failed"
    assert done["boom"]["error"] == "executor failed: RuntimeError: executor broke"
    assert done["fine"] == {"status": "done", "output": "ok", "error": None}
    assert done["after"]["status"] == "skipped"
