"""A `hitl` run waiting for approval survives a `langgraph dev` restart (Postgres checkpoints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.devserver import running_dev_server

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

QUESTION = "Refund order A-1002 please, it is late."


async def test_interrupted_hitl_run_resumes_after_the_server_restarts(
    postgres_url: str, tmp_path: Path
) -> None:
    with running_dev_server(postgres_url, tmp_path) as first:
        async with first.client("alice") as client:
            thread = await client.threads.create()
            thread_id = thread["thread_id"]
            await client.runs.wait(
                thread_id, "hitl", input={"messages": [{"role": "user", "content": QUESTION}]}
            )
            before: Any = await client.threads.get_state(thread_id)
    assert before["next"] == ["approval_gate"], before
    [pending] = before["interrupts"]
    assert pending["value"][0]["action_request"]["args"]["amount"] == 420.0
    assert first.process.returncode is not None, "the first server is stopped"

    with running_dev_server(postgres_url, tmp_path) as second:
        async with second.client("alice") as client, second.client("rita") as reviewer:
            after: Any = await client.threads.get_state(thread_id)
            assert [i["id"] for i in after["interrupts"]] == [pending["id"]], second.explain(
                "the pending approval did not survive the restart"
            )
            await reviewer.runs.wait(
                thread_id, "hitl", command={"resume": {pending["id"]: {"type": "accept"}}}
            )
            final: Any = await client.threads.get_state(thread_id)
        refunds = second.refunds()

    values = final["values"]
    assert final["next"] == [] and not final["interrupts"]
    assert values["approvals"][-1]["reviewer"] == "rita"
    assert "Refund RF-" in values["messages"][-1]["content"]
    assert len(refunds) == 1, refunds
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT status, attempts FROM agent_patterns_effect_ledger WHERE thread_id = %s",
            (thread_id,),
        ).fetchone()
    assert row == ("completed", 1), "the refund is in the Postgres ledger, once"
