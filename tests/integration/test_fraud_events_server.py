"""The served ``fraud_events`` graph through a real `langgraph dev` server and the SDK.

An event is the input (its JSON as the message, the event id as the thread): a coffee at home
is allowed at once; the gift-card burst from an unknown device abroad is decided ``block``,
which waits at the approval gate, and a reviewer's accept blocks the card exactly once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from demo.fraud import FRAUD_REQUEST, demo_event
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "fraud_events"


def _event_input(text: str) -> Any:
    return {"messages": [{"role": "user", "content": text}]}


async def test_an_ordinary_event_is_allowed_over_the_server(dev_server: DevServer) -> None:
    coffee = json.dumps(demo_event("evt-server-coffee"))
    async with dev_server.client("alice") as alice:
        done: Any = await alice.runs.wait(None, GRAPH, input=_event_input(coffee))
    assert done["messages"][-1]["type"] == "ai"
    assert "ALLOW" in done["messages"][-1]["content"]


async def test_a_block_waits_for_a_reviewer_then_blocks_once(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice:
        thread = await alice.threads.create()
        await alice.runs.wait(thread["thread_id"], GRAPH, input=_event_input(FRAUD_REQUEST))
        state: Any = await alice.threads.get_state(thread["thread_id"])
    [pending] = state["interrupts"]
    assert pending["value"][0]["action_request"]["action"] == "block_card"
    async with dev_server.client("rita") as reviewer:
        decision = {pending["id"]: {"type": "accept"}}
        done: Any = await reviewer.runs.wait(
            thread["thread_id"], GRAPH, command={"resume": decision}
        )
    assert "Card block: done" in done["messages"][-1]["content"]
