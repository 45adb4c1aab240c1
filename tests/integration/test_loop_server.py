"""Critique and reflexion through a real `langgraph dev`, the SDK, Postgres and the Chroma store.

Every graph `langgraph.json` lists must be served. Then, offline (the demo model plays the
patterns' stand-ins), a critique run improves its reply to pass in round 3 and streams each
verdict; a reflexion run fails twice, reflects and passes, its lessons go to the server's
store, and a second run for the same owner recalls them and passes on its first attempt.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient

from tests.integration.devserver import PROJECT_ROOT, DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]


async def _run(
    client: LangGraphClient, graph: str, text: str, context: dict[str, Any]
) -> tuple[Any, list[Any]]:
    """Run `graph` on a new thread; return its final values and the streamed updates."""
    thread = await client.threads.create()
    updates = []
    async for part in client.runs.stream(
        thread["thread_id"],
        graph,
        input={"messages": [{"role": "user", "content": text}]},
        context=context,
        stream_mode="updates",
    ):
        if part.event == "updates":
            updates.append(part.data)
    state: Any = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == [] and not state.get("interrupts"), state
    return state["values"], updates


async def test_every_graph_in_langgraph_json_is_served(dev_server: DevServer) -> None:
    listed = json.loads(Path(PROJECT_ROOT, "langgraph.json").read_text())["graphs"]
    async with dev_server.client("alice") as client:
        served = {a["graph_id"] for a in await client.assistants.search(limit=100)}
    assert served == set(listed), dev_server.explain(f"served {sorted(served)}")


async def test_critique_improves_to_pass_over_the_server(dev_server: DevServer) -> None:
    request = "My order A-1001 arrived broken. Can you refund it?"
    async with dev_server.client("alice") as client:
        values, updates = await _run(client, "critique", request, {"model": "demo"})

    assert values["outcome"]["status"] == "passed" and values["outcome"]["round"] == 3
    assert [v["score"] for v in values["verdicts"]] == [0.25, 0.75, 1.0]
    streamed = [u["judge"]["verdicts"][-1]["score"] for u in updates if "judge" in u]
    assert streamed == [0.25, 0.75, 1.0], "each verdict streams as the judge gives it"
    assert "Next step:" in values["messages"][-1]["content"]


async def test_reflexion_learns_and_a_second_run_recalls_the_lessons(
    dev_server: DevServer,
) -> None:
    """Lessons belong to the authenticated user (bob), whatever ``context.owner`` says."""
    context = {"model": "demo", "owner": f"server-test-{uuid.uuid4().hex[:8]}"}
    async with dev_server.client("root") as admin:  # earlier tests may have taught them
        for user in ("bob", "alice"):
            for item in (await admin.store.search_items(["lessons", user], limit=100))["items"]:
                await admin.store.delete_item(item["namespace"], item["key"])
    async with dev_server.client("bob") as client, dev_server.client("alice") as stranger_client:
        first, _ = await _run(client, "reflexion", "Do the slugify task.", context)
        second, _ = await _run(client, "reflexion", "slugify again, please", context)
        stranger, _ = await _run(stranger_client, "reflexion", "slugify", context)

    assert first["succeeded"] is True
    assert [e["passed"] for e in first["evaluations"]] == [False, False, True]
    assert first["lessons"] == [] and len(first["reflections"]) == 2
    assert "Succeeded on attempt 3" in first["messages"][-1]["content"]

    assert second["lessons"], "the second run recalled nothing from the server's store"
    assert second["succeeded"] is True and len(second["attempts"]) == 1
    assert stranger["lessons"] == [] and len(stranger["attempts"]) == 3  # lessons are per user
