"""The research pattern end to end through a real `langgraph dev` server, the SDK and Postgres.

The market-expansion question runs on the served ``research`` graph (offline stand-ins for
the root and the five workers, since no API key is set). Through `langgraph_sdk` only: the
nodes stream in order (open, plan, two levels of assign and research, synthesise), the state
keeps the workstream tree with its capability-matched workers and the one split, and the
brief names the conflict between two workstreams. A run's context may lower the depth limit
(no split then) and cannot raise it.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from demo.market_research import RESEARCH_REQUEST
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "research"
NODES = ("open", "plan", "assign", "research", "synthesise")


async def _run(
    client: LangGraphClient, context: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[Any]]:
    """Run the research question on a new thread; return its final state and streamed updates."""
    thread = await client.threads.create()
    request: Any = {"messages": [{"role": "user", "content": RESEARCH_REQUEST}]}
    updates = [
        part
        async for part in client.runs.stream(
            thread["thread_id"], GRAPH, input=request, stream_mode="updates", context=context
        )
    ]
    state: Any = await client.threads.get_state(thread["thread_id"])
    return dict(state), updates


def _streamed_nodes(updates: list[Any]) -> list[str]:
    """The graph nodes whose updates were streamed, in order."""
    return [
        node
        for part in updates
        if isinstance(part.data, dict) and "run_id" not in part.data
        for node in part.data
        if node in NODES
    ]


async def test_the_market_research_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        state, updates = await _run(client)

    assert not state.get("interrupts") and state["next"] == [], state
    assert _streamed_nodes(updates) == [
        "open",
        "plan",
        "assign",
        "research",
        "assign",
        "research",
        "synthesise",
    ]
    values = state["values"]
    tree = {r["id"]: (r["worker"], r["status"]) for r in values["workstreams"]}
    assert tree == {
        "ws1": ("market", "done"),
        "ws2": ("regulatory", "done"),
        "ws3": ("logistics", "split"),
        "ws4": ("finance", "done"),
        "ws5": ("generalist", "done"),
        "ws3.1": ("logistics", "done"),
        "ws3.2": ("logistics", "done"),
    }
    assert values["limits"] == {"max_depth": 2, "max_workstreams": 12}
    assert [c["workstreams"] for c in values["brief"]["conflicts"]] == [["ws4", "ws3.1"]]
    assert values["status"] == "answered" and values["flags"] == []
    answer = values["messages"][-1]
    assert answer["type"] == "ai" and answer["content"].startswith("Executive brief")
    assert "ws4 (Unit economics) vs ws3.1 (Last-mile delivery)" in answer["content"]


async def test_a_run_may_lower_the_depth_limit_not_raise_it(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        lower, _ = await _run(client, {"max_depth": 1})
        higher, _ = await _run(client, {"max_depth": 9})

    values = lower["values"]
    assert values["limits"]["max_depth"] == 1
    assert [r["id"] for r in values["workstreams"]] == ["ws1", "ws2", "ws3", "ws4", "ws5"]
    assert all(r["status"] == "done" for r in values["workstreams"])
    assert values["brief"]["conflicts"] == []  # no last-mile workstream to conflict with
    assert higher["values"]["limits"]["max_depth"] == 2
    assert len(higher["values"]["workstreams"]) == 7
