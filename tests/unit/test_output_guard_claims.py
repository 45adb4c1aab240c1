"""What counts as a claimed action (`nodes.reply_claims`): the sentences judged and the ones not.

The tools are the demo shop's side-effecting ones; each claim names the tools it may refer to.
"""

from __future__ import annotations

import pytest

from demo.fraud import block_card
from demo.orders import create_support_ticket, escalate_to_human, issue_refund, reverse_refund
from demo.refund_orchestrator import post_refund_note
from nodes.reply_claims import ToolAction, find_claims, past_form

ACTIONS = [
    ToolAction.of(tool)
    for tool in (
        issue_refund,
        reverse_refund,
        create_support_ticket,
        block_card,
        escalate_to_human,
        post_refund_note,
    )
]

CLAIMS = [
    ("Your refund of $89.99 has been issued.", {"issue_refund"}),
    ("I have refunded your order A-1001.", {"issue_refund"}),
    ("We've refunded the kettle.", {"issue_refund"}),
    ("Refund processed for A-1001.", {"issue_refund"}),
    ("We have issued a refund of 89.99 USD.", {"issue_refund"}),
    ("Refund issued.", {"issue_refund"}),
    ("I issued the refund this morning.", {"issue_refund"}),
    ("Your refund was issued and will arrive in 5-7 days.", {"issue_refund"}),
    ("The refund was reversed.", {"reverse_refund"}),
    ("Ticket created: T-1234.", {"create_support_ticket"}),
    ("I've created a support ticket for you.", {"create_support_ticket"}),
    ("Your card is blocked now.", {"block_card"}),
    ("We have blocked the card ending 4242.", {"block_card"}),
    ("I have escalated this to our team.", {"escalate_to_human"}),
    ("Note: issued.", {"post_refund_note"}),
    ("The note was posted to accounting.", {"post_refund_note"}),
]

NOT_CLAIMS = [
    "No refund was issued.",
    "The refund has not been issued yet.",
    "Once a reviewer approves it, your refund will be issued.",
    "I have requested a refund; a person reviews it.",
    "Your refund request is waiting for approval.",
    "I could not issue the refund.",
    "Has your refund been issued?",
    "I haven't created a ticket.",
    "If you want, I can block the card.",
    "The refund failed: the order was already refunded.",
    "Your order A-1001 was delivered on 2026-11-12.",
    "Refunds reach the original payment method in 5-7 days.",
    "The refund was rejected by the reviewer.",
    "Should I escalate this to a human?",
    "I have issued a replacement card.",  # issuing is not a card tool's action
]


@pytest.mark.parametrize(("sentence", "tools"), CLAIMS)
def test_a_claim_names_the_tools_it_may_refer_to(sentence: str, tools: set[str]) -> None:
    [claim] = find_claims(sentence, ACTIONS)
    assert set(claim.tools) == tools


@pytest.mark.parametrize("sentence", NOT_CLAIMS)
def test_negated_hedged_and_unrelated_sentences_claim_nothing(sentence: str) -> None:
    assert find_claims(sentence, ACTIONS) == []


def test_only_the_given_tools_are_judged() -> None:
    refunds_only = [ToolAction.of(issue_refund)]
    assert find_claims("Note: issued. Ticket created. Card blocked.", refunds_only) == []
    assert find_claims("Refund issued. Note: issued.", []) == []


def test_each_sentence_is_a_claim_of_its_own() -> None:
    text = "I looked the order up. Refund issued.\nTicket created."
    assert [c.sentence for c in find_claims(text, ACTIONS)] == ["Refund issued.", "Ticket created."]


def test_action_words_come_from_the_tool_name() -> None:
    assert ToolAction.of("create_support_ticket") == ToolAction(
        tool="create_support_ticket", verb="create", noun="ticket"
    )
    assert ToolAction.of("escalate_to_human").noun == "human"
    assert ToolAction.of("refund").noun == "refund"
    assert [past_form(v) for v in ("issue", "block", "send", "apply", "pay")] == [
        "issued",
        "blocked",
        "sent",
        "applied",
        "paid",
    ]
    with pytest.raises(ValueError, match="no words"):
        ToolAction.of("__")
