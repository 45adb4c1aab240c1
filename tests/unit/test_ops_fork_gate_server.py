"""The served fork route at the approval gate: refund 20 instead of 50, on `langgraph dev`.

An admin forks alice's thread at the checkpoint where her refund waits for approval, with the
refund's amount edited (``POST /ops/api/runs/{id}/fork``); the fork must wait at the gate for
the edited call, a reviewer's approval in the fork refunds once, and her source thread is unchanged.
The in-process cases are in `tests/unit/test_ops_fork_gate.py`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.devserver import DevServer
from tests.security._server import snapshot, thread_at_gate

pytestmark = [pytest.mark.server, pytest.mark.postgres]

ACCEPT: Any = {"resume": [{"type": "accept"}]}


def with_amount(messages: list[dict[str, Any]], amount: float) -> list[dict[str, Any]]:
    """The conversation (as the server shows it) with the refund's amount edited."""
    last = messages[-1]
    calls = [{**c, "args": {**c["args"], "amount": amount}} for c in last["tool_calls"]]
    return [*messages[:-1], {**last, "tool_calls": calls}]


async def test_an_admin_forks_a_waiting_refund_with_another_amount(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice, dev_server.client("rita") as rita:
        source = await thread_at_gate(alice)
        before = await snapshot(alice, source)
        state: Any = await alice.threads.get_state(source)
        body = {
            "checkpoint_id": state["checkpoint"]["checkpoint_id"],
            "values": {"messages": with_amount(state["values"]["messages"], 20)},
        }
        response = httpx.post(
            f"{dev_server.url}/ops/api/runs/{source}/fork",
            json=body,
            headers=dev_server.headers("root"),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        fork = response.json()["fork"]
        assert fork["next_nodes"] == ["approval_gate"] and fork["edited"] == ["messages"]

        # The server has no thread record of the fork yet: alice's run makes it (hers).
        fork_id = fork["thread_id"]
        await alice.runs.wait(fork_id, "react", input=None, if_not_exists="create")
        forked: Any = await alice.threads.get_state(fork_id)
        (pending,) = forked["interrupts"]
        assert pending["value"][0]["action_request"]["args"]["amount"] == 20
        assert dev_server.refunds() == []

        await rita.runs.wait(fork_id, "react", command=ACCEPT)  # a reviewer
        refunds = [json.loads(line) for line in dev_server.refunds()]
        assert [(r["order_id"], r["amount"]) for r in refunds] == [("A-1001", 20)]
        assert await snapshot(alice, source) == before
