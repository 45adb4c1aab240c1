"""The debate pattern end to end through a real `langgraph dev` server, the SDK and Postgres.

The product decision runs on the served ``debate`` graph (offline stand-ins for the four
perspectives and the facilitator, since no API key is set). Through `langgraph_sdk` only: the
nodes stream in order (open, two rounds, the facilitator), the state keeps the numbered
transcript with round 2's challenges naming round 1's claims, and the facilitator's summary
cites only claims of that transcript.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from demo.product_debate import DEBATE_REQUEST
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "debate"


async def _run(client: LangGraphClient) -> tuple[dict[str, Any], list[Any]]:
    """Run the product decision on a new thread; return its final state and streamed updates."""
    thread = await client.threads.create()
    request: Any = {"messages": [{"role": "user", "content": DEBATE_REQUEST}]}
    updates = [
        part
        async for part in client.runs.stream(
            thread["thread_id"], GRAPH, input=request, stream_mode="updates"
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
        if node in ("open", "debate_round", "facilitate")
    ]


async def test_the_product_debate_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        state, updates = await _run(client)

    assert not state.get("interrupts") and state["next"] == [], state
    assert _streamed_nodes(updates) == ["open", "debate_round", "debate_round", "facilitate"]
    values = state["values"]
    transcript = values["transcript"]
    ids = {claim["id"] for claim in transcript}
    assert len(transcript) == 12 and values["round"] == 2
    challenges = [claim for claim in transcript if claim["kind"] == "challenge"]
    assert challenges and all(claim["target"] in ids for claim in challenges)
    assert all(claim["round"] == 2 for claim in challenges)
    summary = values["summary"]
    cited = {c for item in summary["strongest_arguments"] for c in item["claims"]}
    cited |= {c for item in summary["unresolved_risks"] for c in item["claims"]}
    assert cited | set(summary["recommendation_claims"]) <= ids
    assert values["status"] == "answered" and values["flags"] == []
    answer = values["messages"][-1]
    assert answer["type"] == "ai"
    assert answer["content"].startswith("Recommendation: Launch a read-only offline mode")


async def test_a_second_question_on_the_thread_starts_a_fresh_debate(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client:
        thread = await client.threads.create()
        for text in (DEBATE_REQUEST, "And should we launch it on the web too?"):
            request: Any = {"messages": [{"role": "user", "content": text}]}
            await client.runs.wait(thread["thread_id"], GRAPH, input=request)
        state: Any = await client.threads.get_state(thread["thread_id"])

    values = state["values"]
    assert values["request"] == "And should we launch it on the web too?"
    assert len(values["transcript"]) == 12 and values["round"] == 2
    assert [m["type"] for m in values["messages"]] == ["human", "ai", "human", "ai"]
