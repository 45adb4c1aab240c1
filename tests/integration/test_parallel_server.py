"""The parallel incident triage end to end through a real `langgraph dev` server and the SDK.

The alert runs on the served ``parallel`` graph (offline stand-ins for the three specialists
and the incident commander, since no API key is set), through `langgraph_sdk` only, as Studio
would: every specialist's result streams as its branch finishes, before the fan-in, and the
final message is the commander's hypothesis, confidence and next action, with every branch
reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from demo.incident import INCIDENT_REQUEST
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "parallel"
BRANCHES = ["logs", "metrics", "deployments"]


async def test_the_incident_triage_runs_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        thread = await client.threads.create()
        thread_id = thread["thread_id"]
        request: Any = {"messages": [{"role": "user", "content": INCIDENT_REQUEST}]}
        streamed = [
            part
            async for part in client.runs.stream(
                thread_id, GRAPH, input=request, stream_mode="updates", stream_subgraphs=True
            )
        ]
        state: Any = await client.threads.get_state(thread_id)

    assert not state.get("interrupts") and state["next"] == [], state
    values = state["values"]
    assert values["status"] == "answered"
    assert {k: v["status"] for k, v in values["branch_results"].items()} == dict.fromkeys(
        BRANCHES, "done"
    )
    answer = values["messages"][-1]["content"]
    assert "Confidence: high (3 of 3" in answer
    assert "Safest next action: Roll back checkout to v2.13.2" in answer

    # Each branch's result streamed as it finished, before the fan-in node ended.
    finished = [
        part.data["run_branch"]["step"]
        for part in streamed
        if isinstance(part.data, dict) and "run_branch" in part.data
    ]
    assert sorted(finished) == sorted(BRANCHES), finished
    fan_in = next(
        i
        for i, part in enumerate(streamed)
        if isinstance(part.data, dict) and "aggregate" in part.data
    )
    branch_updates = [
        i
        for i, part in enumerate(streamed)
        if isinstance(part.data, dict) and "run_branch" in part.data
    ]
    assert max(branch_updates) < fan_in


async def test_every_branch_is_reported_in_the_final_message(dev_server: DevServer) -> None:
    """``runs.wait`` returns the commander's report followed by each branch's status."""
    async with dev_server.client("alice") as client:
        thread = await client.threads.create()
        request: Any = {"messages": [{"role": "user", "content": "Is search degraded?"}]}
        final: Any = await client.runs.wait(thread["thread_id"], GRAPH, input=request)

    answer = final["messages"][-1]["content"]
    assert answer.startswith("Root-cause hypothesis:")
    assert "Branches:\n- logs: done\n- metrics: done\n- deployments: done" in answer
