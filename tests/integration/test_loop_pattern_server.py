"""The loop pattern end to end through a real `langgraph dev` server, the SDK and Postgres.

The supplier-CSV request runs on the served ``loop`` graph (offline stand-ins for the body and
the judge, since no API key is set). Through `langgraph_sdk` only: the judge's verdict on each
round streams as it is given, round 1 fails with the remaining issues, round 2 passes, and the
state keeps every round; a run that may use one round only ends at the limit and says what
still fails.

(`test_loop_server` is another test: critique and reflexion, the older specialised loops.)
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from demo.supplier_csv import SUPPLIER_REQUEST
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "loop"


async def _run(
    client: LangGraphClient, context: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[Any]]:
    """Run the supplier request on a new thread; return its final state and streamed updates."""
    thread = await client.threads.create()
    request: Any = {"messages": [{"role": "user", "content": SUPPLIER_REQUEST}]}
    updates = [
        part
        async for part in client.runs.stream(
            thread["thread_id"], GRAPH, input=request, context=context, stream_mode="updates"
        )
    ]
    state: Any = await client.threads.get_state(thread["thread_id"])
    return dict(state), updates


def _streamed_nodes(updates: list[Any]) -> list[str]:
    """The nodes whose updates were streamed, in order (the server streams only the output
    schema's fields of each update, so the rounds themselves are read from the state)."""
    return [
        node
        for part in updates
        if isinstance(part.data, dict) and "run_id" not in part.data
        for node in part.data
    ]


async def test_the_supplier_loop_passes_in_round_two_over_the_server(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client:
        state, updates = await _run(client)

    assert not state.get("interrupts") and state["next"] == [], state
    values = state["values"]
    assert _streamed_nodes(updates) == ["begin", "body", "check", "body", "check", "finish"]
    rounds = values["rounds"]
    assert [r["verdict"]["passes"] for r in rounds] == [False, True]
    assert [r["round"] for r in rounds] == [1, 2]
    assert any("duplicate" in issue for issue in rounds[0]["verdict"]["remaining_issues"])
    assert "Remaining issues to fix" in rounds[1]["input"]
    assert values["outcome"]["status"] == "passed" and values["outcome"]["rounds"] == 2
    answer = values["messages"][-1]
    assert answer["type"] == "ai"
    assert "Drop duplicate rows by supplier_id" in answer["content"]
    assert "Passed in round 2 of at most 3" in answer["content"]


async def test_a_run_limited_to_one_round_ends_at_the_limit(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        state, _ = await _run(client, context={"max_rounds": 1})

    values = state["values"]
    assert values["outcome"]["status"] == "limit" and values["outcome"]["rounds"] == 1
    text = values["messages"][-1]["content"]
    assert "Did not pass in 1 round(s) (limit 1)" in text and "Still to fix:" in text
