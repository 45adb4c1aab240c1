"""The swarm end to end through a real `langgraph dev` server, the SDK and Postgres.

A refund question starts at shipping, which hands off to billing; the refund waits at the
approval gate *inside* the billing agent. Through `langgraph_sdk` only, as Agent Inbox or
Studio would, the tests find that interrupt on the swarm's own thread, answer it (accept:
the refund is issued once; reject: none) and read the outcome, the handoff trail and the
approval audit. The graph must be listed in `langgraph.json` as ``swarm``; until it is, the
tests skip with a notice (under ``CI=true`` they fail).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "swarm"
QUESTION = "My order A-1001 arrived broken, please refund it."
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS


async def _require_swarm(client: LangGraphClient) -> None:
    served = sorted({a["graph_id"] for a in await client.assistants.search(limit=100)})
    if GRAPH not in served:
        message = f"graph {GRAPH!r} is not listed in langgraph.json (served: {served})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def _pending_interrupts(state: Any) -> list[dict[str, Any]]:
    interrupts = list(state.get("interrupts") or [])
    from_tasks = [i for task in state.get("tasks") or [] for i in task.get("interrupts") or []]
    assert [i["id"] for i in interrupts] == [i["id"] for i in from_tasks], (interrupts, state)
    return interrupts


async def _ask_until_billing_gate(server: DevServer, client: LangGraphClient) -> str:
    """Ask for the refund on a new thread; check it waits inside billing; return the thread."""
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    question: Any = {"messages": [{"role": "user", "content": QUESTION}]}
    await client.runs.wait(thread_id, GRAPH, input=question)
    state = await client.threads.get_state(thread_id)
    interrupts = _pending_interrupts(state)
    assert len(interrupts) == 1, server.explain(f"expected one pending interrupt: {state!r}")
    assert state["next"] == ["billing"], state["next"]
    values: Any = state["values"]
    assert values["active_agent"] == "billing"
    assert [(h["from"], h["to"]) for h in values["handoffs"]] == [("shipping", "billing")]

    [request] = interrupts[0]["value"]
    assert request["action_request"]["action"] == "issue_refund"
    assert request["action_request"]["args"]["order_id"] == "A-1001"

    inner = await client.threads.get_state(thread_id, subgraphs=True)
    [task] = inner["tasks"]
    assert task["name"] == "billing"
    assert task["state"]["next"] == ["approval_gate"], task
    return thread_id


async def test_refund_inside_billing_waits_on_the_swarm_thread_and_runs_once_accepted(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        await _require_swarm(client)
        thread_id = await _ask_until_billing_gate(dev_server, client)
        refunds_before = len(dev_server.refunds())

        await reviewer.runs.wait(
            thread_id,
            GRAPH,
            command={"resume": [{"type": "accept", "args": None}]},
        )
        state = await client.threads.get_state(thread_id)

    assert _pending_interrupts(state) == [] and state["next"] == [], state
    values: Any = state["values"]
    last = values["messages"][-1]
    assert last["type"] == "ai" and last["name"] == "billing" and not last.get("tool_calls")
    assert "issue_refund" in last["content"] and "issued" in last["content"], last
    assert values["active_agent"] == "billing"
    [approval] = values["approvals"]
    assert approval["decision"] == "accept" and approval["reviewer"] == REVIEWER
    assert len(dev_server.refunds()) == refunds_before + 1


async def test_rejected_refund_inside_billing_is_not_issued(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        await _require_swarm(client)
        thread_id = await _ask_until_billing_gate(dev_server, client)
        refunds_before = len(dev_server.refunds())

        await reviewer.runs.wait(
            thread_id,
            GRAPH,
            command={"resume": [{"type": "ignore", "args": None, "reason": "policy"}]},
        )
        state = await client.threads.get_state(thread_id)

    assert _pending_interrupts(state) == [] and state["next"] == [], state
    values: Any = state["values"]
    answer = values["messages"][-1]["content"]
    assert f"issue_refund: Rejected by {REVIEWER}" in answer and "RF-" not in answer, answer
    assert values["approvals"][0]["decision"] == "ignore"
    assert len(dev_server.refunds()) == refunds_before, "a rejected refund was issued"


async def test_subgraph_stream_carries_the_agent_name(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        await _require_swarm(client)
        thread = await client.threads.create()
        question: Any = {"messages": [{"role": "user", "content": "Where is my order A-1002?"}]}
        agents = []
        async for part in client.runs.stream(
            thread["thread_id"],
            GRAPH,
            input=question,
            stream_mode="messages-tuple",
            stream_subgraphs=True,
        ):
            if part.event.startswith("messages") and isinstance(part.data, list):
                _, metadata = part.data
                if metadata.get("langgraph_node") == "call_model":
                    agents.append(metadata.get("agent"))
                    assert part.event.split("|")[1].startswith("shipping:"), part.event

    assert agents and set(agents) == {"shipping"}, agents
