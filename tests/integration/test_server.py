"""End to end through a real `langgraph dev` server, the SDK and Postgres.

The session's authenticated `langgraph dev` serves both tests of this module. It loads the
graph, the custom checkpointer and the auth from `langgraph.json`, and `server/checkpointer.py`
points that checkpointer at the session's database (``DATABASE_URL``). The tests talk to the
server only through `langgraph_sdk`, as Agent Inbox or Studio would: a customer (alice) asks
about a broken order, a reviewer (rita) finds the refund waiting at the approval gate and
answers it, and the test reads the outcome, the audit trail (which names the authenticated
reviewer) and the checkpoint rows in Postgres. The only stand-in is the offline demo model
the graph uses when no API key is set.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

QUESTION = "My order A-1001 arrived broken, please refund it."
REVIEWER = "rita"  # the reviewer in tests.integration.devserver.TEST_USERS


# -- helpers ---------------------------------------------------------------------------------


def _pending_interrupts(state: Any) -> list[dict[str, Any]]:
    """The interrupts a thread waits on: ``state["interrupts"]`` (mirrored per task)."""
    interrupts = list(state.get("interrupts") or [])
    from_tasks = [i for task in state.get("tasks") or [] for i in task.get("interrupts") or []]
    assert [i["id"] for i in interrupts] == [i["id"] for i in from_tasks], (
        f"top-level interrupts {interrupts!r} differ from the tasks' {from_tasks!r}"
    )
    return interrupts


async def _ask_until_gate(server: DevServer, database: str, client: LangGraphClient) -> str:
    """Ask for the refund on a new thread; check it waits at the gate; return the thread id."""
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    question: Any = {"messages": [{"role": "user", "content": QUESTION}]}
    await client.runs.wait(thread_id, "react", input=question)
    state = await client.threads.get_state(thread_id)
    interrupts = _pending_interrupts(state)
    assert len(interrupts) == 1, server.explain(f"expected one pending interrupt: {state!r}")
    assert state["next"] == ["approval_gate"], state["next"]

    payload = interrupts[0]["value"]  # Agent Inbox: a list of HumanInterrupt, here one
    assert isinstance(payload, list) and len(payload) == 1, payload
    request = payload[0]
    assert request["action_request"]["action"] == "issue_refund"
    assert request["action_request"]["args"]["order_id"] == "A-1001"
    assert request["config"]["allow_accept"] is True
    assert isinstance(request["description"], str) and "issue_refund" in request["description"]
    assert _checkpoint_rows(database, thread_id) > 0, server.explain("no checkpoints in Postgres")
    return thread_id


def _checkpoint_rows(database: str, thread_id: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _last_ai_text(values: Any) -> str:
    last = values["messages"][-1]
    assert last["type"] == "ai", last
    assert not last.get("tool_calls"), last
    content = last["content"]
    return content if isinstance(content, str) else str(content)


# -- tests -----------------------------------------------------------------------------------


async def test_refund_waits_for_approval_and_runs_once_accepted(
    dev_server: DevServer, server_database: str
) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        assistants = await client.assistants.search(limit=100)
        assert "react" in {a["graph_id"] for a in assistants}, assistants

        thread_id = await _ask_until_gate(dev_server, server_database, client)
        refunds_before = len(dev_server.refunds())
        rows_at_gate = _checkpoint_rows(server_database, thread_id)

        await reviewer.runs.wait(
            thread_id, "react", command={"resume": [{"type": "accept", "args": None}]}
        )
        state = await client.threads.get_state(thread_id)

    assert _pending_interrupts(state) == [] and state["next"] == [], state
    values: Any = state["values"]
    answer = _last_ai_text(values)
    assert "RF-" in answer and "issued" in answer, answer

    approvals = values["approvals"]
    assert len(approvals) == 1, approvals
    assert approvals[0]["decision"] == "accept"
    assert approvals[0]["reviewer"] == REVIEWER
    assert approvals[0]["action"] == "issue_refund"

    refunds = dev_server.refunds()
    assert len(refunds) == refunds_before + 1, refunds
    refund_id = re.search(r"RF-[0-9A-F]+", answer)
    assert refund_id is not None and refund_id.group(0) in refunds[-1], (answer, refunds)
    assert _checkpoint_rows(server_database, thread_id) > rows_at_gate


async def test_rejected_refund_is_not_issued(dev_server: DevServer, server_database: str) -> None:
    async with dev_server.client("alice") as client, dev_server.client(REVIEWER) as reviewer:
        thread_id = await _ask_until_gate(dev_server, server_database, client)
        refunds_before = len(dev_server.refunds())
        rows_at_gate = _checkpoint_rows(server_database, thread_id)

        await reviewer.runs.wait(
            thread_id,
            "react",
            command={"resume": [{"type": "ignore", "args": None, "reason": "policy"}]},
        )
        state = await client.threads.get_state(thread_id)

    assert _pending_interrupts(state) == [] and state["next"] == [], state
    values: Any = state["values"]
    answer = _last_ai_text(values)
    assert f"issue_refund: Rejected by {REVIEWER}" in answer, answer
    assert "policy" in answer and "RF-" not in answer, answer

    approvals = values["approvals"]
    assert len(approvals) == 1, approvals
    assert approvals[0]["decision"] == "ignore"
    assert approvals[0]["reviewer"] == REVIEWER
    assert approvals[0]["reason"] == "policy"

    assert len(dev_server.refunds()) == refunds_before, "a rejected refund was issued"
    assert _checkpoint_rows(server_database, thread_id) > rows_at_gate
