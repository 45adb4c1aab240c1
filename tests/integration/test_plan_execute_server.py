"""Plan-and-execute end to end through a real `langgraph dev` server, the SDK and Postgres.

The fleet request runs on the served ``plan_execute`` graph (offline stand-ins for the
planner, executor and replanner, since no API key is set). Through `langgraph_sdk` only, as
Studio or Agent Inbox would, the tests approve the plan, then the resize and the runbook
update that wait at the executor's gate inside their steps, and read the step results; the
steps' progress streams as it happens. A rejected plan runs nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from demo.fleet import FLEET_PLAN, FLEET_REQUEST
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "plan_execute"
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS
STEPS = [step["id"] for step in FLEET_PLAN["steps"]]


def _effects(server: DevServer, kind: str) -> list[dict[str, Any]]:
    if not server.effects_log.exists():
        return []
    records = [json.loads(line) for line in server.effects_log.read_text().splitlines() if line]
    return [r for r in records if r.get("kind") == kind]


async def _only_interrupt(client: LangGraphClient, thread_id: str) -> dict[str, Any]:
    state: Any = await client.threads.get_state(thread_id)
    interrupts = list(state.get("interrupts") or [])
    assert len(interrupts) == 1, state
    return dict(interrupts[0])


def _action(interrupt: dict[str, Any]) -> str:
    [request] = interrupt["value"]
    return str(request["action_request"]["action"])


async def _decide(
    client: LangGraphClient, thread_id: str, interrupt: dict[str, Any], decision: str
) -> list[Any]:
    """Answer one interrupt; return the streamed updates (subgraphs included)."""
    answer = {"type": decision}
    if decision == "ignore":
        answer["reason"] = "not this week"
    parts = []
    async for part in client.runs.stream(
        thread_id,
        GRAPH,
        command={"resume": {interrupt["id"]: answer}},
        stream_mode="updates",
        stream_subgraphs=True,
    ):
        parts.append(part)
    return parts


async def _plan_waiting_for_approval(client: LangGraphClient) -> tuple[str, dict[str, Any]]:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    request: Any = {"messages": [{"role": "user", "content": FLEET_REQUEST}]}
    await client.runs.wait(thread_id, GRAPH, input=request)
    interrupt = await _only_interrupt(client, thread_id)
    assert _action(interrupt) == "execute_plan", interrupt
    [plan_request] = interrupt["value"]
    assert [s["id"] for s in plan_request["action_request"]["args"]["steps"]] == STEPS
    return thread_id, interrupt


async def test_the_fleet_plan_runs_over_the_server_with_every_approval(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        resizes_before = len(_effects(dev_server, "fleet_resize"))
        thread_id, plan = await _plan_waiting_for_approval(client)

        streamed = await _decide(reviewer, thread_id, plan, "accept")
        resize = await _only_interrupt(client, thread_id)
        assert _action(resize) == "resize_fleet", resize
        state: Any = await client.threads.get_state(thread_id)
        assert state["next"] == ["execute"], state["next"]

        streamed += await _decide(reviewer, thread_id, resize, "accept")
        runbook = await _only_interrupt(client, thread_id)
        assert _action(runbook) == "update_runbook", runbook

        streamed += await _decide(reviewer, thread_id, runbook, "accept")
        state = await client.threads.get_state(thread_id)

    assert not state.get("interrupts") and state["next"] == [], state
    values = state["values"]
    assert values["status"] == "finished"
    assert {k: v["status"] for k, v in values["step_results"].items()} == dict.fromkeys(
        STEPS, "done"
    )
    assert '"draining": true' in values["step_results"]["queue_after"]["output"]
    assert [(a["action"], a.get("step")) for a in values["approvals"]] == [
        ("execute_plan", None),
        ("resize_fleet", "resize"),
        ("update_runbook", "update_runbook"),
    ]
    assert {a["reviewer"] for a in values["approvals"]} == {REVIEWER}
    assert len(_effects(dev_server, "fleet_resize")) == resizes_before + 1

    # Each step's result streamed as it finished, before the execute node ended.
    finished = [
        part.data["execute_step"]["step"]
        for part in streamed
        if isinstance(part.data, dict) and "execute_step" in part.data
    ]
    assert sorted(finished) == sorted(STEPS), finished


async def test_a_rejected_plan_runs_nothing_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        resizes_before = len(_effects(dev_server, "fleet_resize"))
        thread_id, plan = await _plan_waiting_for_approval(client)

        await _decide(reviewer, thread_id, plan, "ignore")
        state: Any = await client.threads.get_state(thread_id)

    assert not state.get("interrupts") and state["next"] == [], state
    values = state["values"]
    assert values["status"] == "rejected"
    assert values.get("step_results") in ({}, None)
    assert f"rejected by {REVIEWER}" in values["messages"][-1]["content"]
    assert len(_effects(dev_server, "fleet_resize")) == resizes_before
