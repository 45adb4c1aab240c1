"""The router through a real `langgraph dev`, the SDK and Postgres: a refund inside billing,
a customs case handed to a human, and a follow-up routed on the conversation.

The refund request is routed (rules, offline) to the billing specialist, a subgraph whose
approval gate interrupts the whole run. The interrupt must show on the *top-level* thread the
SDK reads (as Studio and Agent Inbox do), and a resume through the SDK must continue inside
billing: accepted, the refund is issued once; rejected, not at all. A customs case goes to
shipping, whose handoff to the customs team waits at the same gate; the next, vague turn on
the thread stays with shipping (the route is read back from the thread's checkpoint). The only
stand-ins are the offline demo model and its routing stand-in.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

QUESTION = "My order A-1001 arrived broken, please refund it."
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS


async def _ask_until_billing_gate(server: DevServer, client: LangGraphClient) -> str:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    question: Any = {"messages": [{"role": "user", "content": QUESTION}]}
    await client.runs.wait(thread_id, "router", input=question)
    state: Any = await client.threads.get_state(thread_id)
    interrupts = state.get("interrupts") or []
    assert len(interrupts) == 1, server.explain(f"expected one pending interrupt: {state!r}")
    assert state["next"] == ["billing"], state["next"]
    [request] = interrupts[0]["value"]
    assert request["action_request"]["action"] == "issue_refund"
    assert request["action_request"]["args"]["order_id"] == "A-1001"
    assert state["values"]["route"]["routed_to"] == "billing", state["values"]["route"]
    return thread_id


async def _resume(client: LangGraphClient, thread_id: str, answer: dict[str, Any]) -> Any:
    await client.runs.wait(thread_id, "router", command={"resume": [answer]})
    return await client.threads.get_state(thread_id)


async def test_refund_inside_billing_waits_on_the_top_thread_and_runs_once_accepted(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        assistants = await client.assistants.search(limit=100)
        assert "router" in {a["graph_id"] for a in assistants}, assistants
        thread_id = await _ask_until_billing_gate(dev_server, client)
        before = len(dev_server.refunds())

        state = await _resume(reviewer, thread_id, {"type": "accept", "args": None})

    assert not state.get("interrupts") and state["next"] == [], state
    values: Any = state["values"]
    answer = values["messages"][-1]["content"]
    assert "RF-" in answer and "issued" in answer, answer
    assert [a["decision"] for a in values["approvals"]] == ["accept"]
    assert values["approvals"][0]["reviewer"] == REVIEWER
    assert len(dev_server.refunds()) == before + 1, dev_server.refunds()
    assert len(values["route_history"]) == 1, "resuming did not route again"


async def test_rejected_refund_inside_billing_is_not_issued(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id = await _ask_until_billing_gate(dev_server, client)
        before = len(dev_server.refunds())

        state = await _resume(
            reviewer,
            thread_id,
            {"type": "ignore", "args": None, "reason": "policy"},
        )

    assert not state.get("interrupts") and state["next"] == [], state
    values: Any = state["values"]
    answer = values["messages"][-1]["content"]
    assert f"Rejected by {REVIEWER}" in answer and "RF-" not in answer, answer
    assert [a["decision"] for a in values["approvals"]] == ["ignore"]
    assert len(dev_server.refunds()) == before, "a rejected refund was issued"


async def test_customs_goes_to_a_human_through_the_gate_and_a_follow_up_stays_with_shipping(
    dev_server: DevServer,
) -> None:
    customs = "My order A-1002 is stuck in customs, please escalate it to a person."
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id = (await client.threads.create())["thread_id"]
        first: Any = {"messages": [{"role": "user", "content": customs}]}
        await client.runs.wait(thread_id, "router", input=first)
        state: Any = await client.threads.get_state(thread_id)
        assert state["next"] == ["shipping"], dev_server.explain(
            f"not at shipping's gate: {state!r}"
        )
        [request] = state["interrupts"][0]["value"]
        assert request["action_request"]["action"] == "escalate_to_human"
        assert request["action_request"]["args"]["team"] == "customs"

        state = await _resume(reviewer, thread_id, {"type": "accept", "args": None})
        assert "ESC-" in state["values"]["messages"][-1]["content"], state["values"]["messages"]

        vague: Any = {"messages": [{"role": "user", "content": "Thanks. How long will that take?"}]}
        await client.runs.wait(thread_id, "router", input=vague)
        state = await client.threads.get_state(thread_id)

    routes = [(r["routed_to"], r["basis"]) for r in state["values"]["route_history"]]
    assert routes[0] == ("shipping", "latest") and routes[1][0] == "shipping", routes
    assert routes[1][1] in ("conversation", "follow-up"), routes
    log = dev_server.effects_log.read_text(encoding="utf-8")
    assert log.count('"kind": "escalation"') == 1, log
