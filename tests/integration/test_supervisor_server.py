"""The supervisor through a real `langgraph dev`, the SDK and Postgres.

The writer's `publish_summary` waits at the approval gate *inside* the writer worker; the run
pauses and the interrupt shows on the top-level thread, as Studio, Agent Inbox or the SDK see
it. Answering it resumes inside the writer: accepted → published once, rejected → nothing.
Offline: the graph runs on the demo model.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from tests.integration.devserver import PROJECT_ROOT, DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

GRAPH = "supervisor"
REQUEST = "Research our refund policy for damaged items and write a summary"
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS


def _summaries(server: DevServer) -> list[dict[str, Any]]:
    if not server.effects_log.exists():
        return []
    records = [json.loads(line) for line in server.effects_log.read_text().splitlines() if line]
    return [r for r in records if r["kind"] == "summary"]


async def _require_graph(client: LangGraphClient) -> None:
    """Skip (fail under CI=true) unless the server serves the graph.

    `langgraph dev` keeps assistants in ``.langgraph_api/`` across runs, so a stale assistant
    may outlive its entry: the graph must be in `langgraph.json` too.
    """
    assistants = await client.assistants.search(limit=100)
    configured = json.loads((PROJECT_ROOT / "langgraph.json").read_text())["graphs"]
    if GRAPH not in {a["graph_id"] for a in assistants} or GRAPH not in configured:
        message = f"graph {GRAPH!r} is not in langgraph.json (add ./graphs/supervisor.py:graph)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


async def _run_to_writer_gate(server: DevServer, client: LangGraphClient) -> str:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    question: Any = {"messages": [{"role": "user", "content": REQUEST}]}
    await client.runs.wait(thread_id, GRAPH, input=question, context={"model": "demo"})
    state = await client.threads.get_state(thread_id)
    interrupts = state.get("interrupts") or []
    assert len(interrupts) == 1, server.explain(f"expected one interrupt: {state!r}")
    assert state["next"] == ["writer"], state["next"]
    request = interrupts[0]["value"][0]
    assert request["action_request"]["action"] == "publish_summary"
    assert request["config"]["allow_accept"] is True
    values: Any = state["values"]
    assert [d["worker"] for d in values["delegations"]] == ["researcher"]
    return thread_id


async def test_approval_inside_a_worker_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        await _require_graph(client)
        thread_id = await _run_to_writer_gate(dev_server, client)
        before = len(_summaries(dev_server))
        assert before == 0

        await reviewer.runs.wait(
            thread_id,
            GRAPH,
            command={"resume": [{"type": "accept", "args": None}]},
            context={"model": "demo"},
        )
        state = await client.threads.get_state(thread_id)

    assert not state.get("interrupts") and state["next"] == [], state
    values: Any = state["values"]
    assert [d["worker"] for d in values["delegations"]] == ["researcher", "writer"]
    [approval] = values["approvals"]
    assert approval["decision"] == "accept" and approval["reviewer"] == REVIEWER
    assert approval["agent"] == "writer"
    summaries = _summaries(dev_server)
    assert len(summaries) == before + 1, dev_server.explain(f"summaries: {summaries}")
    assert summaries[-1]["summary_id"] in values["messages"][-1]["content"]


async def test_rejection_inside_a_worker_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        await _require_graph(client)
        thread_id = await _run_to_writer_gate(dev_server, client)
        before = len(_summaries(dev_server))

        await reviewer.runs.wait(
            thread_id,
            GRAPH,
            command={"resume": {"type": "ignore", "reason": "no"}},
        )
        state = await client.threads.get_state(thread_id)

    assert not state.get("interrupts") and state["next"] == [], state
    values: Any = state["values"]
    assert values["approvals"][0]["decision"] == "ignore"
    assert len(_summaries(dev_server)) == before
    assert "Rejected by" in values["messages"][-1]["content"]
