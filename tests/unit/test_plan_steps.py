"""The order in which `nodes.plan_steps` calls a plan's step tasks."""

from __future__ import annotations

from nodes.plan_steps import call_order
from state.plan import PlanStep


def steps(*specs: tuple[str, list[str]]) -> list[PlanStep]:
    return [PlanStep(id=i, description=i, depends_on=deps) for i, deps in specs]


def test_shallow_steps_come_first_then_the_plan_order() -> None:
    plan = steps(("a2", ["a1"]), ("a1", []), ("b1", []), ("join", ["a2", "b1"]), ("c1", []))
    assert [s.id for s in call_order(plan, {})] == ["a1", "b1", "c1", "a2", "join"]


def test_finished_steps_are_left_out_and_do_not_count_for_depth() -> None:
    plan = steps(("a1", []), ("a2", ["a1"]), ("a3", ["a2"]), ("b1", []))
    order = call_order(plan, {"a1": {"status": "done"}})
    assert [s.id for s in order] == ["a2", "b1", "a3"]


def test_every_step_follows_its_unfinished_dependencies() -> None:
    plan = steps(("d", ["b", "c"]), ("c", ["a"]), ("b", ["a"]), ("a", []), ("e", ["d"]))
    order = [s.id for s in call_order(plan, {})]
    for step in plan:
        assert all(order.index(dep) < order.index(step.id) for dep in step.depends_on)
