"""Findings 1 and 2: crons belong to their creator and obey the run rules; assistants are admin's.

A cron replays its payload later, with nobody watching: another user or a reviewer must not
aim one at a thread, nor carry a looser safeguard in it. Assistants carry configuration and
context for every run of a graph, so only an admin may create, change or delete one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.devserver import DevServer
from tests.security._server import status

pytestmark = [pytest.mark.server, pytest.mark.postgres]

NEVER = "0 0 1 1 *"  # once a year: the crons must not fire during the test
MESSAGE: Any = {"messages": [{"role": "user", "content": "Where is my order A-1001?"}]}


async def test_f01_crons_are_owned_and_cannot_target_another_users_thread(
    dev_server: DevServer,
) -> None:
    async with (
        dev_server.client("alice") as alice,
        dev_server.client("bob") as bob,
        dev_server.client("rita") as rita,
    ):
        thread = await alice.threads.create()
        cron = await alice.crons.create_for_thread(
            thread["thread_id"], "react", schedule=NEVER, input=MESSAGE
        )
        try:
            refused = {
                "bob on alice's thread": await status(
                    bob.crons.create_for_thread(
                        thread["thread_id"], "react", schedule=NEVER, input=MESSAGE
                    )
                ),
                "reviewer on a thread": await status(
                    rita.crons.create_for_thread(
                        thread["thread_id"], "react", schedule=NEVER, input=MESSAGE
                    )
                ),
                "bob deletes alice's cron": await status(bob.crons.delete(cron["cron_id"])),
            }
            seen_by_bob = await bob.crons.search(limit=100)
            seen_by_alice = await alice.crons.search(limit=100)
        finally:
            await alice.crons.delete(cron["cron_id"])
    assert refused == {
        "bob on alice's thread": 404,
        "reviewer on a thread": 403,
        "bob deletes alice's cron": 404,
    }, str(refused)
    assert cron["cron_id"] not in {c["cron_id"] for c in seen_by_bob}
    assert cron["cron_id"] in {c["cron_id"] for c in seen_by_alice}


async def test_f02_a_cron_cannot_carry_a_looser_safeguard(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice:
        refused = await status(
            alice.crons.create(
                "react", schedule=NEVER, input=MESSAGE, context={"approval_policy": "never"}
            )
        )
        crons = await alice.crons.search(limit=100)
    assert refused == 403
    assert crons == []


async def test_f01_only_an_admin_writes_assistants(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice, dev_server.client("root") as admin:
        looser: Any = {"approval_policy": "never"}
        created = await status(alice.assistants.create("react", context=looser))
        assistant = await admin.assistants.create(
            "react", context={"approval_policy": "always"}, name="strict react"
        )
        try:
            readable = await alice.assistants.get(assistant["assistant_id"])
            refused = {
                "update": await status(
                    alice.assistants.update(assistant["assistant_id"], context=looser)
                ),
                "delete": await status(alice.assistants.delete(assistant["assistant_id"])),
            }
        finally:
            await admin.assistants.delete(assistant["assistant_id"])
    assert created == 403
    assert refused == {"update": 403, "delete": 403}, str(refused)
    assert readable["context"] == {"approval_policy": "always"}
    assert assistant["metadata"]["owner"] == "root"
