"""Tool-call ids are unique per thread before the gate; the ledger binds calls to arguments."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage

from checkpointers.ledger import InMemoryLedger, LedgerConflictError, args_hash, storable_text
from nodes.call_ids import RENAMED_KEY, used_call_ids, with_unique_call_ids


def _reply(*ids: str | None) -> AIMessage:
    calls = [
        ToolCall(name="issue_refund", args={"n": i}, id=call_id, type="tool_call")
        for i, call_id in enumerate(ids)
    ]
    return AIMessage(content="", tool_calls=calls)


def test_unique_ids_are_kept_and_the_reply_is_unchanged() -> None:
    reply = _reply("a", "b")
    assert with_unique_call_ids(reply, [HumanMessage("hi")]) is reply


def test_a_repeated_id_in_one_reply_gets_a_fresh_one_and_the_rename_is_recorded() -> None:
    fixed = with_unique_call_ids(_reply("same", "same"), [])
    first, second = (call["id"] for call in fixed.tool_calls)
    assert first == "same" and second != "same" and second.startswith("same-")
    assert fixed.response_metadata[RENAMED_KEY] == {second: "same"}
    assert [call["args"] for call in fixed.tool_calls] == [{"n": 0}, {"n": 1}]


def test_an_id_used_earlier_in_the_thread_or_missing_is_replaced() -> None:
    history = [_reply("old"), ToolMessage("done", tool_call_id="old")]
    assert used_call_ids(history) == {"old"}
    fixed = with_unique_call_ids(_reply("old", None), history)
    ids = [call["id"] for call in fixed.tool_calls]
    assert "old" not in ids and all(ids) and len(set(ids)) == 2


def test_args_hash_ignores_key_order_and_sees_every_value() -> None:
    assert args_hash({"a": 1, "b": "x"}) == args_hash({"b": "x", "a": 1})
    assert args_hash({"a": 1}) != args_hash({"a": 2})
    assert args_hash({"reason": "a\x00b\ud800"})  # NUL and lone surrogates hash too


def test_storable_text_escapes_nul_and_lone_surrogates() -> None:
    assert storable_text("a\x00b\ud800c") == "a\\u0000b\\ud800c"
    storable_text("a\ud800").encode("utf-8")  # encodable now


def test_in_memory_ledger_refuses_another_call_under_a_recorded_id() -> None:
    ledger = InMemoryLedger()
    ledger.begin("t", "c", "issue_refund", {"amount": 1})
    ledger.finish("t", "c", "ok", "success", "completed")
    with pytest.raises(LedgerConflictError, match="different arguments"):
        ledger.begin("t", "c", "issue_refund", {"amount": 2})
    with pytest.raises(LedgerConflictError):
        ledger.begin("t", "c", "create_support_ticket", {"amount": 1})
    assert ledger.begin("t", "c", "issue_refund", {"amount": 1}).status == "completed"


def test_in_memory_ledger_decisions_are_per_thread_and_replaced_by_a_later_one() -> None:
    ledger = InMemoryLedger()
    ledger.record_decision("t1", {"tool_call_id": "c", "decision": "ignore", "args_hash": "h"})
    ledger.record_decision("t1", {"tool_call_id": "c", "decision": "accept", "args_hash": "h"})
    assert ledger.decision("t1", "c") == {
        "tool_call_id": "c",
        "decision": "accept",
        "args_hash": "h",
        "thread_id": "t1",
    }
    assert ledger.decision("t2", "c") is None
    assert [d["thread_id"] for d in ledger.decisions()] == ["t1"]
