"""``AGENT_PATTERNS_LOG=json`` on a real `langgraph dev`: the server's graphs log JSON lines.

One server for the module (its own database and directory) started with the setting. alice
asks the ReAct agent for a refund, giving her card number and e-mail address; rita accepts it
through the SDK. The server's output must hold a JSON line per model call, tool call and
approval event of those runs, carrying the thread as ``conversation_id``, the authenticated
user (alice; rita as the reviewer) and the server's run id, and neither the card number nor
the e-mail address anywhere. The only stand-in is the offline demo model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import fresh_database
from tests.integration.devserver import DevServer, running_dev_server

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

EMAIL, CARD = "alice.private@example.com", "4111 1111 1111 1111"
REFUND = f"My order A-1001 arrived broken, please refund it. Card {CARD}, mail {EMAIL}."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """This module's own server, logging JSON lines."""
    with fresh_database("ap_json_logs") as database:
        workdir = tmp_path_factory.mktemp("json-logs-dev")
        with running_dev_server(database, workdir, env={"AGENT_PATTERNS_LOG": "json"}) as dev:
            yield dev


def _records(server: DevServer) -> list[dict[str, Any]]:
    """The JSON event lines of the server's output (LangGraph's own lines are not ours)."""
    found = []
    for line in server.service.log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith('{"timestamp"'):
            record = json.loads(line)
            if "action" in record:
                found.append(record)
    return found


async def test_the_servers_runs_log_json_lines_with_the_authenticated_users(
    server: DevServer,
) -> None:
    async with server.client("alice") as alice, server.client("rita") as rita:
        thread = await alice.threads.create()
        thread_id = str(thread["thread_id"])
        question: Any = {"messages": [{"role": "user", "content": REFUND}]}
        first: Any = await alice.runs.create(thread_id, "react", input=question)
        await alice.runs.join(thread_id, first["run_id"])
        waiting: Any = await alice.threads.get_state(thread_id)
        assert waiting["next"] == ["approval_gate"], server.explain(f"no gate: {waiting!r}")
        resume: Any = {"resume": [{"type": "accept", "args": None}]}
        second: Any = await rita.runs.create(thread_id, "react", command=resume)
        await rita.runs.join(thread_id, second["run_id"])

    records = [r for r in _records(server) if r.get("conversation_id") == thread_id]
    actions = [r["action"] for r in records]
    for kind in ("model_call", "tool_call", "approval_requested", "approval_decided"):
        assert kind in actions, server.explain(f"no {kind} line: {actions}")
    runs = {r["run_id"] for r in records}
    assert runs == {first["run_id"], second["run_id"]}, runs  # the server's own run ids
    asked = [r for r in records if r["run_id"] == first["run_id"]]
    assert {r.get("user_id") for r in asked} == {"alice"}
    [decided] = [r for r in records if r["action"] == "approval_decided"]
    assert decided["reviewer"] == "rita" and decided["user_id"] == "rita"
    assert decided["decision"] == "accept" and decided["graph_id"] == "react"
    tools = [r for r in records if r["action"] == "tool_call"]
    [refund] = [r for r in tools if r["tool_name"] == "issue_refund"]
    assert refund["success"] is True and refund["side_effect"] is True
    finished = [r["outcome"] for r in records if r["action"] == "run_finished"]
    assert finished == ["interrupted", "success"]
    log = server.service.log.read_text(encoding="utf-8", errors="replace")
    # The card whole, compact or in its groups (not a bare "4111": a latency such as
    # 0.141117 holds those digits, which made this check fail at random).
    card_forms = (CARD, CARD.replace(" ", ""), "4111 1111", "1111 1111 1111")
    assert EMAIL not in log and not any(form in log for form in card_forms)
