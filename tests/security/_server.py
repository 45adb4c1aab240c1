"""Helpers of the server attack tests: status codes, a thread waiting at the gate, snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient

REFUND_A1001 = "My order A-1001 arrived broken, please refund it."
REFUND_A1002 = "Refund order A-1002 please, it is late."  # hitl: 420.00, needs a person


async def status(call: Awaitable[Any]) -> int:
    """The HTTP status an SDK call ended with (200 when it did not raise)."""
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    return 200


def random_id() -> str:
    """A thread or run id nobody created."""
    return str(uuid.uuid4())


async def thread_at_gate(
    client: LangGraphClient, graph: str = "react", text: str = REFUND_A1001, **run: Any
) -> str:
    """A new thread of `client`'s user whose refund waits at the approval gate."""
    thread = await client.threads.create()
    thread_id = str(thread["thread_id"])
    message: Any = {"messages": [{"role": "user", "content": text}]}
    await client.runs.wait(thread_id, graph, input=message, **run)
    state: Any = await client.threads.get_state(thread_id)
    assert state["next"] == ["approval_gate"] and state["interrupts"], state
    return thread_id


async def snapshot(client: LangGraphClient, thread_id: str) -> dict[str, Any]:
    """What must not change when an attack fails: checkpoint, next nodes, interrupts, values."""
    state: Any = await client.threads.get_state(thread_id)
    thread: Any = await client.threads.get(thread_id)
    return {
        "checkpoint": state["checkpoint"]["checkpoint_id"],
        "next": state["next"],
        "interrupts": [i["id"] for i in state["interrupts"]],
        "values": state["values"],
        "metadata": thread["metadata"],
    }
