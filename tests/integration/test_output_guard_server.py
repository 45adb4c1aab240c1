"""The served graphs' output checks through a real `langgraph dev`, the SDK and Postgres.

The served router answers "how do I reach you" from the shop's store info, whose contact line
holds an e-mail address: with the served guardrails (PII redaction on) the reply carries
``[email]``. A client asking for the check to be off (the run's context) and forging the
operator's settings in ``configurable`` still gets the redacted reply; a client tightening
them (a canary of its own) gets a refusal. The only stand-in is the offline demo model.
"""

from __future__ import annotations

from typing import Any

import pytest

from nodes.output_guard import CANARY_REFUSAL
from tests.integration.devserver import DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

QUESTION = "What is the contact for the shop? Opening hours too"
SHOP_EMAIL = "help@example.shop"
RULES = {"routing_strategy": "rules"}
LOOSEN = {"guardrails": {"pii_mode": "off", "claim_check": False, "canaries": []}}
FORGED = {
    key: {"pii_mode": "off", "claim_check": False}
    for key in ("guardrails", "__agent_patterns_guardrails", "__agent_patterns_controls")
}


async def _reply(server: DevServer, context: dict[str, Any], **run: Any) -> dict[str, Any]:
    question: Any = {"messages": [{"role": "user", "content": QUESTION}]}
    async with server.client("alice") as alice:
        thread = await alice.threads.create()
        done: Any = await alice.runs.wait(
            thread["thread_id"], "router", input=question, context=context or None, **run
        )
    assert isinstance(done, dict) and done.get("messages"), server.explain(f"no reply: {done!r}")
    reply: dict[str, Any] = done["messages"][-1]
    assert reply["type"] == "ai", reply
    return reply


async def test_the_served_reply_is_redacted_and_a_client_cannot_turn_that_off(
    dev_server: DevServer,
) -> None:
    served = await _reply(dev_server, RULES)
    assert "Write to [email]" in served["content"] and SHOP_EMAIL not in served["content"]
    assert served["response_metadata"]["output_guard"] == [{"check": "pii", "action": "redacted"}]

    loosened = await _reply(dev_server, {**RULES, **LOOSEN})
    assert SHOP_EMAIL not in loosened["content"] and "[email]" in loosened["content"]
    # the server takes configurable or context, not both: the forged keys go alone
    forged = await _reply(dev_server, {}, config={"configurable": {**FORGED, **RULES}})
    assert SHOP_EMAIL not in forged["content"] and "[email]" in forged["content"]


async def test_a_client_may_tighten_the_served_guardrails(dev_server: DevServer) -> None:
    tightened = await _reply(
        dev_server, {**RULES, "guardrails": {"canaries": ["Monday to Saturday"]}}
    )
    assert tightened["content"] == CANARY_REFUSAL
