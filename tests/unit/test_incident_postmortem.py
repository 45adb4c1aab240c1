"""The incident post-mortem: a pipeline nesting the parallel triage and a post-mortem loop.

Runs offline on the demo model (no API key): the served incident-triage parallel graph is the
first stage, a loop drafting the post-mortem until every section is there and every action
item has an owner is the second (`demo.incident_postmortem`).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

import graphs.parallel
from demo.incident_postmortem import (
    POSTMORTEM_REQUEST,
    SECTIONS,
    WorkflowFactories,
    draft_postmortem,
    incident_postmortem_graph,
    register_stand_ins,
    review_postmortem,
    triage_options,
)
from graphs.loop import build_loop_graph
from graphs.parallel import build_parallel_graph
from graphs.pipeline import build_pipeline_graph

FACTORIES = WorkflowFactories(
    pipeline=build_pipeline_graph, parallel=build_parallel_graph, loop=build_loop_graph
)
TRIAGE = (
    "Root-cause hypothesis: the pool is exhausted.\n"
    "Confidence: high (3 of 3).\n"
    "Safest next action: Roll back checkout to v2.13.2 (the release before v2.14.0)."
)
REQUEST = f"Request:\n{POSTMORTEM_REQUEST}\n\nOutput of triage:\n{TRIAGE}"


def run(context: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """Run the scenario on a fresh thread; the final answer and the pipeline's state."""
    register_stand_ins()
    graph = incident_postmortem_graph(FACTORIES, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    result = graph.invoke({"messages": [("user", POSTMORTEM_REQUEST)]}, config, context=context)
    return result["messages"][-1].text, graph.get_state(config).values


@pytest.mark.parametrize("context", [{"model": "demo"}, None], ids=["demo", "no-model"])
def test_the_nested_scenario_runs_offline_to_a_complete_postmortem(
    context: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    answer, state = run(context)
    triage, postmortem = state["stages"]
    assert [(s["name"], s["status"]) for s in state["stages"]] == [
        ("triage", "done"),
        ("postmortem", "done"),
    ]
    # the commander synthesized the findings of all three specialists
    assert "3 of 3 specialists point at the pool: logs, metrics, deployments" in triage["output"]
    assert "- logs: done\n- metrics: done\n- deployments: done" in triage["output"]
    # the loop got the triage findings and passed in round 2 (round 1 lacked the owners)
    assert postmortem["input"].endswith(triage["output"])
    assert "(Passed in round 2 of at most 3:" in answer
    assert all(f"## {section}\n" in answer for section in SECTIONS)
    assert "1. Roll back checkout to v2.13.2" in answer
    assert answer.count("Owner: ") == 3
    assert state["status"] == "finished"


def test_the_first_draft_misses_the_owners_and_the_revision_passes() -> None:
    first = review_postmortem(draft_postmortem(REQUEST, with_owners=False))
    assert not first.passes
    assert len(first.remaining_issues) == 3
    assert all("names no owner" in issue for issue in first.remaining_issues)
    revised = draft_postmortem(REQUEST, with_owners=True)
    assert review_postmortem(revised).passes
    assert "Root cause\nThe pool is exhausted." in revised


def test_the_check_names_each_missing_section() -> None:
    draft = draft_postmortem(REQUEST, with_owners=True)
    without = draft.replace("## Impact", "Impact").replace("## Timeline", "Timeline")
    verdict = review_postmortem(without)
    assert not verdict.passes
    assert verdict.remaining_issues == [
        "the section 'Impact' is missing.",
        "the section 'Timeline' is missing.",
    ]
    empty = draft.split("## Action items")[0] + "## Action items\nnone yet\n"
    assert review_postmortem(empty).remaining_issues == [
        "the action items section lists no action item."
    ]


def test_the_triage_stage_is_the_served_incident_triage() -> None:
    served = graphs.parallel.SERVED_OPTIONS
    options = triage_options()
    assert [b.name for b in options["branches"]] == [b.name for b in served["branches"]]
    assert {k: v for k, v in options.items() if k != "branches"} == {
        k: v
        for k, v in served.items()
        if k not in ("branches", "runtime")  # served guardrails
    }
