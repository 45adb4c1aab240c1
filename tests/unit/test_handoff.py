"""Handoff tools and agents that exit after handing off."""

from __future__ import annotations

from langchain_core.messages import ToolMessage

from demo.orders import lookup_order
from graphs.react import compile_tool_agent
from models import ScriptedChatModel, tool_calls_reply
from nodes.runtime import PatternRuntime
from tools.handoff import handoff_targets, last_handoff, make_handoff_tool
from tools.registry import has_side_effects


def test_handoff_tool_is_read_only_and_describes_the_target() -> None:
    tool = make_handoff_tool("billing", "refunds, invoices and charges")
    assert tool.name == "transfer_to_billing" and not has_side_effects(tool)
    assert "refunds, invoices and charges" in tool.description
    assert tool.invoke({"reason": "a refund"}) == "Transferred to billing. Reason: a refund"


def test_a_tool_call_and_a_handoff_in_one_turn_are_both_answered_then_the_agent_exits() -> None:
    both = tool_calls_reply(
        ("lookup_order", {"order_id": "A-1001"}), ("transfer_to_billing", {"reason": "refund"})
    )
    model = ScriptedChatModel(replies=[both])
    agent = compile_tool_agent(
        model,
        [lookup_order, make_handoff_tool("billing", "refunds")],
        instructions="",
        runtime=PatternRuntime(),
        name="shipping",
        exit_on_handoff=True,
    )

    result = agent.invoke({"messages": [("user", "refund A-1001")]})

    answered = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in answered] == ["lookup_order", "transfer_to_billing"]
    assert '"status": "delivered"' in answered[0].text
    assert last_handoff(result["messages"]) == "billing"
    assert len(model.calls) == 1, "the agent stops after handing off; it does not answer"


def test_handoff_targets_keep_order() -> None:
    calls = tool_calls_reply(("transfer_to_a", {}), ("lookup_order", {}), ("transfer_to_b", {}))
    assert handoff_targets(calls.tool_calls) == ["a", "b"]
