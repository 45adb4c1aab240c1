"""The refund orchestrator end to end through a real `langgraph dev` server, the SDK, Postgres.

The served ``orchestrator`` graph runs the demo shop's example requests on the offline
stand-ins (no API key is set). Through `langgraph_sdk` only: the approved path refunds once
with no person involved; the manual-review path waits at the gate with the drafted packet, and
a reviewer's accept refunds once while a reject pays nothing; the three other paths never pay;
a refund whose processing note the accounting ledger refuses is reversed (the saga) once a
reviewer accepts the reversal, exactly once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from demo.refund_orchestrator import EXAMPLE_REQUESTS, SAGA_REQUEST
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "orchestrator"
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS


async def _run(client: LangGraphClient, path: str) -> tuple[str, dict[str, Any]]:
    """Start a thread with the example request of `path`; return its id and state."""
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    request: Any = {"messages": [{"role": "user", "content": EXAMPLE_REQUESTS[path]}]}
    await client.runs.wait(thread_id, GRAPH, input=request)
    state: Any = await client.threads.get_state(thread_id)
    return thread_id, dict(state)


async def _answer(
    client: LangGraphClient, thread_id: str, state: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    [interrupt] = state["interrupts"]
    await client.runs.wait(thread_id, GRAPH, command={"resume": {interrupt["id"]: answer}})
    return dict(await client.threads.get_state(thread_id))


def _refunds(server: DevServer) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.refunds()]


async def test_the_approved_path_refunds_once_without_a_person(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client:
        _, state = await _run(client, "approved")

    values = state["values"]
    assert not state.get("interrupts") and state["next"] == []
    assert values["route"]["path"] == "approved"
    assert values["outcome"]["status"] == "issued"
    approvals = [(a["action"], a["reviewer"]) for a in values["approvals"]]
    assert approvals == [
        ("issue_refund", "policy:orchestrator"),
        ("post_refund_note", "policy:orchestrator"),
    ]
    [refund] = _refunds(dev_server)
    assert refund["order_id"] == "A-1001" and refund["amount"] == 89.99
    assert refund["refund_id"] in values["messages"][-1]["content"]
    assert "Posted to the accounting ledger" in values["messages"][-1]["content"]
    assert values.get("saga") is None


def _effects(server: DevServer, kind: str) -> list[dict[str, Any]]:
    lines = server.effects_log.read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["kind"] == kind]


async def test_a_refused_note_reverses_the_refund_once_a_reviewer_accepts(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread = await client.threads.create()
        request: Any = {"messages": [{"role": "user", "content": SAGA_REQUEST}]}
        await client.runs.wait(thread["thread_id"], GRAPH, input=request)
        state: Any = dict(await client.threads.get_state(thread["thread_id"]))
        [interrupt] = state["interrupts"]
        [action] = interrupt["value"]
        assert action["action_request"]["action"] == "reverse_refund"
        assert _effects(dev_server, "refund_reversal") == []

        state = await _answer(reviewer, thread["thread_id"], state, {"type": "accept"})
        again = await client.runs.wait(thread["thread_id"], GRAPH, input=None)

    [refund], [reversal] = _effects(dev_server, "refund"), _effects(dev_server, "refund_reversal")
    assert reversal["refund_id"] == refund["refund_id"] and refund["order_id"] == "A-1003"
    saga = state["values"]["saga"]
    assert saga["status"] == "compensated"
    assert [(u["undoes_tool"], u["outcome"]) for u in saga["planned"]] == [
        ("issue_refund", "undone")
    ]
    reversal_approval = state["values"]["approvals"][-1]
    assert (reversal_approval["action"], reversal_approval["reviewer"]) == (
        "reverse_refund",
        REVIEWER,
    )
    assert state["values"]["messages"][-1]["content"].startswith("The run failed")
    assert again is not None and len(_effects(dev_server, "refund_reversal")) == 1


async def test_manual_review_waits_with_the_packet_and_an_accept_refunds_once(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id, state = await _run(client, "manual_review")
        [interrupt] = state["interrupts"]
        [request] = interrupt["value"]
        assert request["action_request"]["args"]["order_id"] == "A-1002"
        assert "Manual review packet" in request["description"]
        assert _refunds(dev_server) == []

        state = await _answer(reviewer, thread_id, state, {"type": "accept"})

    values = state["values"]
    assert values["outcome"]["status"] == "issued"
    reviewers = {a["action"]: a["reviewer"] for a in values["approvals"]}
    assert reviewers == {"issue_refund": REVIEWER, "post_refund_note": "policy:orchestrator"}
    assert [r["amount"] for r in _refunds(dev_server)] == [420.0]


async def test_manual_review_rejected_pays_nothing(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id, state = await _run(client, "manual_review")
        answer = {"type": "ignore", "reason": "no photos"}
        state = await _answer(reviewer, thread_id, state, answer)

    values = state["values"]
    assert values["outcome"]["status"] == "not_issued"
    assert values["messages"][-1]["content"].startswith("No refund was issued for order A-1002")
    assert _refunds(dev_server) == []


@pytest.mark.parametrize("path", ["denied", "fraud_hold", "store_credit"])
async def test_the_paths_without_a_refund_never_pay(dev_server: DevServer, path: str) -> None:
    async with dev_server.client("alice") as client:
        _, state = await _run(client, path)

    assert state["values"]["route"]["path"] == path
    assert not state.get("interrupts") and state["next"] == []
    assert _refunds(dev_server) == []
