"""Parsing reviewers' answers: every accepted shape, and clear errors for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from state.approval import ApprovalDecision, InvalidDecisionError, parse_decision


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ([{"type": "accept", "args": None}], "accept"),
        ({"type": "accept"}, "accept"),
        ("approve", "accept"),
        ("Reject", "ignore"),
        ({"type": "respond", "args": "ask for photos"}, "response"),
        ({"type": "edit", "args": {"amount": 5}}, "edit"),
        (ApprovalDecision(type="ignore"), "ignore"),
    ],
)
def test_accepted_shapes(value: Any, kind: str) -> None:
    assert parse_decision(value).type == kind


def test_reviewer_and_reason_are_kept() -> None:
    decision = parse_decision([{"type": "ignore", "reviewer": "ana", "reason": "fraud score"}])
    assert (decision.reviewer, decision.reason) == ("ana", "fraud score")
    assert parse_decision("accept").reviewer is None


def test_edit_accepts_agent_inbox_action_request_or_bare_args() -> None:
    inbox = parse_decision(
        {"type": "edit", "args": {"action": "issue_refund", "args": {"amount": 5}}}
    )
    bare = parse_decision({"type": "edit", "args": {"amount": 5}})
    assert inbox.edited_action("issue_refund") == ("issue_refund", {"amount": 5})
    assert bare.edited_action("issue_refund") == ("issue_refund", {"amount": 5})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "list of 0"),
        (None, "got NoneType"),
        ({"type": "perhaps"}, "unknown decision type 'perhaps'"),
        ({"type": "edit"}, "needs args"),
        ({"type": "response", "args": "  "}, "needs args"),
        ({"type": "accept", "colour": "red"}, "colour"),
        ({"type": "accept", "reviewer": ""}, "reviewer"),
    ],
)
def test_invalid_answers_say_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(InvalidDecisionError, match=message):
        parse_decision(value)
