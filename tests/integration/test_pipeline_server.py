"""The contract-review pipeline end to end through a real `langgraph dev` server and the SDK.

The sample contract runs on the served ``pipeline`` graph (offline stand-ins for the three
stages, since no API key is set). Through `langgraph_sdk` only, as Studio or Agent Inbox
would, a reviewer edits the risks waiting at the gate after ``assess_risks``; the packet
drafted next carries the edit. A rejected review ends the run before the packet is drafted.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from demo.contract_review import CONTRACT_REQUEST, STAGE_NAMES
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "pipeline"
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS


async def _risks_waiting(client: LangGraphClient) -> tuple[str, dict[str, Any]]:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    request: Any = {"messages": [{"role": "user", "content": CONTRACT_REQUEST}]}
    await client.runs.wait(thread_id, GRAPH, input=request)
    state: Any = await client.threads.get_state(thread_id)
    [interrupt] = state["interrupts"]
    [review] = interrupt["value"]
    assert review["action_request"]["action"] == "review_stage_output", review
    assert review["action_request"]["args"]["stage"] == "assess_risks"
    return thread_id, dict(interrupt)


async def test_an_edited_review_reaches_the_packet_over_the_server(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id, interrupt = await _risks_waiting(client)
        risks = interrupt["value"][0]["action_request"]["args"]["output"]
        edited = (
            risks + "\n- [High] Clause 11 (Governing law): German law, our counsel is in the UK"
        )
        args = {"stage": "assess_risks", "output": edited}
        answer = {"type": "edit", "args": {"action": "review_stage_output", "args": args}}
        await reviewer.runs.wait(thread_id, GRAPH, command={"resume": {interrupt["id"]: answer}})
        state: Any = await client.threads.get_state(thread_id)

    assert not state.get("interrupts") and state["next"] == [], state
    values = state["values"]
    assert values["status"] == "finished"
    assert [s["name"] for s in values["stages"]] == list(STAGE_NAMES)
    assert values["stages"][1]["status"] == "edited"
    packet = values["messages"][-1]["content"]
    assert packet.startswith("Contract review packet for the procurement manager")
    assert "Clause 11: can we negotiate this" in packet
    assert [(a["action"], a["decision"], a["reviewer"]) for a in values["approvals"]] == [
        ("review_stage_output", "edit", REVIEWER)
    ]


async def test_a_rejected_review_ends_before_the_packet(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id, interrupt = await _risks_waiting(client)
        answer = {"type": "ignore", "reason": "send it to counsel first"}
        await reviewer.runs.wait(thread_id, GRAPH, command={"resume": {interrupt["id"]: answer}})
        state: Any = await client.threads.get_state(thread_id)

    values = state["values"]
    assert values["status"] == "rejected" and state["next"] == []
    assert [s["name"] for s in values["stages"]] == ["extract_obligations", "assess_risks"]
    assert f"rejected by {REVIEWER}: send it to counsel first" in values["messages"][-1]["content"]
