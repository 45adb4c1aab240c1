"""Findings 9, 10, 11 and 14 through the authenticated server: the input boundary holds there too.

Alice's refund waits at the approval gate. A poison message, NUL, a message sent while the
approval waits, and a resume of a thread that does not exist must each be refused with the
error named, and leave her thread exactly as it was and still decidable by the reviewer.
Refunds are counted from the server's payment log.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from tests.integration.devserver import DevServer
from tests.security._server import snapshot, thread_at_gate

pytestmark = [pytest.mark.server, pytest.mark.postgres]

ACCEPT: Any = {"resume": [{"type": "accept"}]}


async def refusal(run: Awaitable[Any]) -> str:
    """The error a run that must be refused ended with ("" when it was not refused)."""
    try:
        result = await run
    except Exception as exc:  # the SDK raises the run's error
        return str(exc)
    error = result.get("__error__") if isinstance(result, dict) else None
    return f"{error.get('error')}: {error.get('message')}" if error else ""


@pytest.mark.parametrize(
    "message",
    [
        {"role": "bogus", "content": "hi"},
        {"content": "no role"},
        {"role": "tool", "content": "issued"},
        {"role": "user", "content": [{"type": "text", "text": 5}]},
        {"role": "user", "content": "refund \u0000 now"},
    ],
    ids=["bogus role", "no role", "tool without id", "non-text block", "nul"],
)
async def test_f09_f11_a_poison_message_is_refused_and_the_thread_stays_decidable(
    dev_server: DevServer, message: dict[str, Any]
) -> None:
    async with dev_server.client("alice") as alice, dev_server.client("rita") as rita:
        thread_id = await thread_at_gate(alice)
        before = await snapshot(alice, thread_id)

        refused = await refusal(alice.runs.wait(thread_id, "react", input={"messages": [message]}))

        assert "InvalidInputError" in refused and "messages[0]" in refused
        assert await snapshot(alice, thread_id) == before
        await rita.runs.wait(thread_id, "react", command=ACCEPT)
        state: Any = await alice.threads.get_state(thread_id)
    assert [a["decision"] for a in state["values"]["approvals"]] == ["accept"]
    assert len(dev_server.refunds()) == 1


async def test_f11_a_lone_surrogate_sent_as_raw_json_is_refused(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice:
        thread_id = await thread_at_gate(alice)
        before = await snapshot(alice, thread_id)
        body = json.dumps(
            {
                "assistant_id": "react",
                "input": {"messages": [{"role": "user", "content": "\ud800"}]},
            }
        )  # json.dumps writes the lone surrogate as the escape \ud800, which JSON allows
        async with httpx.AsyncClient(base_url=dev_server.url, timeout=60) as http:
            response = await http.post(
                f"/threads/{thread_id}/runs/wait",
                content=body,
                headers={**dev_server.headers("alice"), "Content-Type": "application/json"},
            )
        assert response.status_code >= 400 or "InvalidInputError" in response.text
        assert await snapshot(alice, thread_id) == before
    assert dev_server.refunds() == []


async def test_f10_a_message_while_the_approval_waits_is_refused_then_cancellable(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as alice:
        thread_id = await thread_at_gate(alice)
        before = await snapshot(alice, thread_id)
        [interrupt_id] = before["interrupts"]
        message = {"role": "user", "content": "Where is my order A-1002?"}

        refused = await refusal(alice.runs.wait(thread_id, "react", input={"messages": [message]}))

        assert "PendingApprovalError" in refused
        assert "issue_refund" in refused and interrupt_id in refused
        assert await snapshot(alice, thread_id) == before

        await alice.runs.wait(
            thread_id, "react", input={"messages": [message], "cancel_pending": True}
        )
        state: Any = await alice.threads.get_state(thread_id)
    assert state["interrupts"] == [] and state["next"] == []
    [record] = state["values"]["approvals"]
    assert (record["decision"], record["reviewer"]) == ("superseded", "alice")
    [answer] = [
        m for m in state["values"]["messages"] if m.get("tool_call_id") == record["tool_call_id"]
    ]
    assert answer["type"] == "tool" and "not run" in answer["content"].lower()
    assert state["values"]["messages"][-1]["type"] == "ai"
    assert dev_server.refunds() == []


async def test_f14_resuming_a_thread_with_no_checkpoint_is_an_error(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("rita") as rita:
        thread: Any = await rita.threads.create()  # a thread record, but nothing ever ran
        thread_id = str(thread["thread_id"])

        refused = await refusal(rita.runs.wait(thread_id, "react", command=ACCEPT))

        assert "UnknownThreadError" in refused and thread_id in refused
        state: Any = await rita.threads.get_state(thread_id)
    assert not state["values"] and dev_server.refunds() == []
