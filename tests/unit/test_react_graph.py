"""The ReAct graph driven by ScriptedChatModel: tools, the approval gate, budgets, failures."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel

from demo.effects import read_effects
from demo.orders import order_tools
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from tests.snapshots import assert_matches_snapshot
from tools.registry import agent_tool

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
LOOKUP = ("lookup_order", {"order_id": "A-1001"})


def make(replies: list[Any], **kwargs: Any) -> tuple[Any, ScriptedChatModel, dict[str, Any]]:
    model = ScriptedChatModel(replies=replies)
    graph = build_react_graph(
        tools=order_tools(), model=model, checkpointer=InMemorySaver(), **kwargs
    )
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    return graph, model, config


def ask(graph: Any, config: dict[str, Any], text: str = "refund A-1001", **kw: Any) -> Any:
    return graph.invoke({"messages": [HumanMessage(text)]}, config, **kw)


def tool_messages(values: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def test_tool_call_then_answer_feeds_the_result_back_to_the_model() -> None:
    graph, model, config = make([tool_calls_reply(LOOKUP), "It was delivered on 2026-11-12."])

    result = ask(graph, config, "Where is A-1001?")

    assert result["messages"][-1].text == "It was delivered on 2026-11-12."
    [tool_result] = tool_messages(result)
    assert tool_result.name == "lookup_order" and '"status": "delivered"' in tool_result.text
    second_prompt = model.calls[1].messages
    assert second_prompt[0].type == "system"
    assert isinstance(second_prompt[-1], ToolMessage) and second_prompt[-1].text == tool_result.text
    assert model.calls[0].tools == [
        "lookup_order",
        "search_help_docs",
        "create_support_ticket",
        "issue_refund",
    ]


def test_read_only_tool_runs_without_the_gate() -> None:
    graph, _, config = make([tool_calls_reply(LOOKUP), "done"])

    result = ask(graph, config)

    state = graph.get_state(config)
    assert not state.interrupts and state.next == ()
    assert result["approvals"] == []


def test_side_effecting_tool_interrupts_with_an_agent_inbox_request() -> None:
    graph, model, config = make([tool_calls_reply(REFUND), "never reached"])

    ask(graph, config)

    state = graph.get_state(config)
    assert state.next == ("approval_gate",)
    [pending] = state.interrupts
    [request] = pending.value
    assert request["action_request"] == {"action": "issue_refund", "args": REFUND[1]}
    assert request["config"] == {
        "allow_ignore": True,
        "allow_respond": True,
        "allow_edit": True,
        "allow_accept": True,
    }
    assert "issue_refund" in request["description"]
    assert read_effects("refund") == [], "nothing may run before the decision"
    assert len(model.calls) == 1


def test_approve_in_agent_inbox_shape_runs_the_tool_once_and_audits() -> None:
    graph, model, config = make([tool_calls_reply(REFUND), "Refund issued."])
    ask(graph, config)

    result = graph.invoke(
        Command(resume=[{"type": "accept", "args": None, "reviewer": "ana", "reason": "ok"}]),
        config,
    )

    assert result["messages"][-1].text == "Refund issued."
    [refund] = read_effects("refund")
    assert refund["amount"] == 89.99
    [record] = result["approvals"]
    assert record["decision"] == "accept" and record["reviewer"] == "ana"
    assert record["reason"] == "ok" and record["action"] == "issue_refund"
    assert record["args"] == REFUND[1] and record["decided_at"]
    assert '"status": "issued"' in tool_messages(result)[-1].text


def test_edit_runs_the_tool_with_the_reviewers_arguments() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "Partial refund issued."])
    ask(graph, config)

    edited = {"order_id": "A-1001", "amount": 40.0, "reason": "partial: kettle works"}
    result = graph.invoke(
        Command(
            resume={
                "type": "edit",
                "args": {"action": "issue_refund", "args": edited},
                "reviewer": "ben",
            }
        ),
        config,
    )

    [refund] = read_effects("refund")
    assert refund["amount"] == 40.0 and refund["reason"] == "partial: kettle works"
    [record] = result["approvals"]
    assert record["decision"] == "edit" and record["edited_args"] == edited
    assert record["args"] == REFUND[1], "the audit keeps the original arguments too"


def test_respond_gives_the_model_the_reviewers_message_instead_of_a_result() -> None:
    graph, model, config = make([tool_calls_reply(REFUND), "I asked for photos."])
    ask(graph, config)

    graph.invoke(
        Command(resume={"type": "response", "args": "Ask for photos first.", "reviewer": "cy"}),
        config,
    )

    assert read_effects("refund") == []
    seen = model.calls[1].messages[-1]
    assert isinstance(seen, ToolMessage)
    assert "Ask for photos first." in seen.text and "cy" in seen.text
    assert seen.status == "success"


def test_reject_does_not_run_and_tells_the_model_who_and_why() -> None:
    graph, model, config = make([tool_calls_reply(REFUND), "The refund was declined."])
    ask(graph, config)

    result = graph.invoke(
        Command(resume=[{"type": "ignore", "args": None, "reviewer": "dee", "reason": "fraud"}]),
        config,
    )

    assert read_effects("refund") == []
    seen = model.calls[1].messages[-1]
    assert isinstance(seen, ToolMessage) and seen.status == "error"
    assert "Rejected by dee" in seen.text and "fraud" in seen.text
    assert result["approvals"][0]["decision"] == "ignore"


@pytest.mark.parametrize("answer", ["approve", "accept", {"type": "approve"}, [{"type": "accept"}]])
def test_shorthand_approvals_are_accepted(answer: Any) -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "ok"])
    ask(graph, config)

    result = graph.invoke(Command(resume=answer), config)

    assert result["approvals"][0]["decision"] == "accept"
    assert result["approvals"][0]["reviewer"] == "unknown"
    assert len(read_effects("refund")) == 1


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"type": "maybe"}, "unknown decision type"),
        ([{"type": "accept"}, {"type": "accept"}], "list of 2"),
        ({"type": "edit", "args": {"amount": -5}}, "edited arguments are invalid"),
        ({"type": "edit", "args": {"action": "create_support_ticket", "args": {}}}, "not switch"),
        ({"type": "response"}, "needs args"),
        (42, "expected a response object"),
    ],
)
def test_malformed_answer_asks_again_and_the_thread_stays_resumable(
    answer: Any, problem: str
) -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "ok"])
    ask(graph, config)

    graph.invoke(Command(resume=answer), config)

    state = graph.get_state(config)
    [pending] = state.interrupts
    assert problem in pending.value[0]["description"]
    assert read_effects("refund") == []
    result = graph.invoke(Command(resume={"type": "accept", "reviewer": "eve"}), config)
    assert result["approvals"][0]["reviewer"] == "eve"
    assert len(read_effects("refund")) == 1


def test_reviewer_defaults_to_the_servers_authenticated_user() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "ok"])
    ask(graph, config)

    authed = {"configurable": {**config["configurable"], "langgraph_auth_user_id": "user-42"}}
    result = graph.invoke(Command(resume=[{"type": "accept", "args": None}]), authed)

    assert result["approvals"][0]["reviewer"] == "user-42"


def test_f05_authenticated_reviewer_wins_over_the_name_in_the_answer() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "ok"])
    ask(graph, config)

    authed = {"configurable": {**config["configurable"], "langgraph_auth_user_id": "rita"}}
    answer = [{"type": "accept", "args": None, "reviewer": "the-cfo"}]
    result = graph.invoke(Command(resume=answer), authed)

    assert result["approvals"][0]["reviewer"] == "rita"


def test_unknown_tool_and_bad_arguments_reach_the_model_as_errors() -> None:
    graph, model, config = make(
        [
            tool_calls_reply(("teleport_parcel", {"to": "moon"})),
            tool_calls_reply(("lookup_order", {"order_id": "not-an-id"})),
            tool_calls_reply(("lookup_order", {"order_id": "Z-9999"})),
            "Sorry, I could not find that order.",
        ]
    )

    result = ask(graph, config)

    unknown, invalid, missing = tool_messages(result)
    assert unknown.status == "error" and "no tool named 'teleport_parcel'" in unknown.text
    assert "lookup_order" in unknown.text, "the error lists the tools that exist"
    assert invalid.status == "error" and "invalid arguments for lookup_order" in invalid.text
    assert "order_id" in invalid.text
    assert missing.status == "error" and "No order Z-9999 exists" in missing.text
    assert [c.messages[-1].text for c in model.calls[1:]] == [
        unknown.text,
        invalid.text,
        missing.text,
    ]
    assert result["messages"][-1].text == "Sorry, I could not find that order."


def test_exception_inside_a_tool_becomes_an_error_message() -> None:
    class NoArgs(BaseModel):
        """No arguments."""

    @agent_tool(args_schema=NoArgs, side_effects=False)
    def flaky_inventory() -> str:
        """Check inventory (always fails in this test)."""
        raise ConnectionError("inventory service unreachable")

    model = ScriptedChatModel(replies=[tool_calls_reply(("flaky_inventory", {})), "It is down."])
    graph = build_react_graph(model=model, tools=[flaky_inventory])

    result = graph.invoke({"messages": [HumanMessage("stock?")]})

    [error] = tool_messages(result)
    assert error.status == "error"
    assert "ConnectionError: inventory service unreachable" in error.text


def test_model_that_never_stops_calling_tools_ends_at_the_budget() -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(LOOKUP)], cycle=True)
    graph = build_react_graph(tools=order_tools(), model=model)

    result = graph.invoke({"messages": [HumanMessage("loop forever")]}, context={"max_steps": 4})

    assert len(model.calls) == 4
    final = result["messages"][-1]
    assert isinstance(final, AIMessage) and final.name == "budget"
    assert "step budget (4 model calls per turn)" in final.text and "lookup_order" in final.text
    last_calls = result["messages"][-3].tool_calls
    closing = result["messages"][-2]
    assert isinstance(closing, ToolMessage) and closing.tool_call_id == last_calls[0]["id"]
    assert closing.status == "error", "the unrun call is answered, so the transcript stays valid"


def test_recursion_limit_ends_cleanly_before_langgraph_raises() -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(LOOKUP)], cycle=True)
    graph = build_react_graph(tools=order_tools(), model=model, recursion_limit=12)

    result = graph.invoke({"messages": [HumanMessage("loop")]}, context={"max_steps": 100})

    final = result["messages"][-1]
    assert final.name == "budget" and "recursion limit" in final.text


def test_several_side_effecting_calls_wait_together_and_resume_by_id() -> None:
    ticket = ("create_support_ticket", {"order_id": "A-1001", "reason": "courier was rude"})
    graph, _, config = make([tool_calls_reply(REFUND, ticket), "Both handled."])
    ask(graph, config)

    pending = graph.get_state(config).interrupts
    assert len(pending) == 2
    by_action = {p.value[0]["action_request"]["action"]: p.id for p in pending}
    result = graph.invoke(
        Command(
            resume={
                by_action["issue_refund"]: {"type": "accept", "reviewer": "ana"},
                by_action["create_support_ticket"]: {"type": "ignore", "reviewer": "ana"},
            }
        ),
        config,
    )

    assert len(read_effects("refund")) == 1 and read_effects("ticket") == []
    assert sorted(r["decision"] for r in result["approvals"]) == ["accept", "ignore"]


@pytest.mark.parametrize(
    ("policy", "tool", "gated"),
    [("never", REFUND, False), ("always", LOOKUP, True), ("side-effects", LOOKUP, False)],
)
def test_approval_policy_from_context(policy: str, tool: Any, gated: bool) -> None:
    graph, _, config = make([tool_calls_reply(tool), "ok"])

    ask(graph, config, context={"approval_policy": policy})

    assert bool(graph.get_state(config).interrupts) is gated


def test_system_prompt_comes_from_context() -> None:
    graph, model, config = make(["hello"])

    ask(graph, config, context={"system_prompt": "You are terse."})

    assert model.calls[0].messages[0].text == "You are terse."


def test_streaming_messages_keeps_tool_calls_and_streams_text() -> None:
    graph, _, config = make([tool_calls_reply(LOOKUP), "Your kettle was delivered on time."])

    chunks = [
        chunk
        for chunk, meta in graph.stream(
            {"messages": [HumanMessage("where?")]}, config, stream_mode="messages"
        )
        if meta["langgraph_node"] == "call_model"
    ]

    assert any(c.tool_call_chunks for c in chunks)
    text_chunks = [c.text for c in chunks if c.text]
    assert len(text_chunks) > 1 and "".join(text_chunks) == "Your kettle was delivered on time."
    assert tool_messages(graph.get_state(config).values)[0].name == "lookup_order"


def test_graph_structure_snapshot() -> None:
    graph = build_react_graph(tools=order_tools(), model=ScriptedChatModel(replies=[]))
    assert_matches_snapshot("react", graph.get_graph().draw_mermaid())


def test_context_rejects_bad_settings() -> None:
    graph, _, config = make(["x"])
    with pytest.raises(ValueError, match="max_steps"):
        ask(graph, config, context={"max_steps": 0})
    with pytest.raises(ValueError, match="approval_policy"):
        ask(graph, config, context={"approval_policy": "sometimes"})


def test_deadline_passed_rejects_by_policy_when_the_thread_is_next_touched() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "The refund request expired."])
    context = {"approval_timeout_s": 0.001}
    ask(graph, config, context=context)
    request = graph.get_state(config).interrupts[0].value[0]
    assert request["deadline"] and request["requested_at"] < request["deadline"]
    time.sleep(0.01)

    # Resumed without the original context: the deadline travels with the request.
    result = graph.invoke(Command(resume="accept"), config)

    [record] = result["approvals"]
    assert record["decision"] == "ignore" and record["reviewer"] == "policy:deadline"
    assert read_effects("refund") == [], "a late accept must not run"


def test_deadline_passed_escalates_then_accepts_the_escalated_answer() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "Refunded."])
    context = {"approval_timeout_s": 0.001, "on_approval_timeout": "escalate"}
    ask(graph, config, context=context)
    time.sleep(0.01)

    graph.invoke(Command(resume=[{"type": "expire"}]), config)
    [pending] = graph.get_state(config).interrupts
    request = pending.value[0]
    assert request["escalated"] is True and request["deadline"] is None
    assert request["description"].startswith("ESCALATED")

    result = graph.invoke(Command(resume={"type": "accept", "reviewer": "manager"}), config)

    [record] = result["approvals"]
    assert record["escalated"] is True and record["reviewer"] == "manager"
    assert len(read_effects("refund")) == 1


def test_answer_before_the_deadline_is_taken_and_a_sweep_marker_is_ignored() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "ok"])
    context = {"approval_timeout_s": 3600}
    ask(graph, config, context=context)

    graph.invoke(Command(resume={"type": "expire"}), config, context=context)
    [pending] = graph.get_state(config).interrupts
    assert "not accepted" not in pending.value[0]["description"]
    result = graph.invoke(Command(resume="accept"), config, context=context)

    assert result["approvals"][0]["decision"] == "accept"


def test_model_errors_are_recorded_and_the_run_retries_from_its_last_checkpoint() -> None:
    model = ScriptedChatModel(
        replies=[
            tool_calls_reply(LOOKUP),
            ConnectionError("upstream reset"),
            ConnectionError("upstream reset"),
            ConnectionError("upstream reset"),
            "Delivered on 12 November.",
        ]
    )
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "flaky"}}

    with pytest.raises(ConnectionError):
        ask(graph, config)
    state = graph.get_state(config)
    assert state.next == ("call_model",)
    assert "ConnectionError" in str(state.tasks[0].error)
    assert len(model.calls) == 4, "three attempts (retry policy) after the first call"

    result = graph.invoke(None, config)

    assert result["messages"][-1].text == "Delivered on 12 November."
    assert len([m for m in result["messages"] if isinstance(m, ToolMessage)]) == 1


def test_a_partial_edit_keeps_the_other_arguments() -> None:
    graph, _, config = make([tool_calls_reply(REFUND), "ok"])
    ask(graph, config)

    result = graph.invoke(Command(resume={"type": "edit", "args": {"amount": 40}}), config)

    [refund] = read_effects("refund")
    assert (refund["order_id"], refund["amount"], refund["reason"]) == (
        "A-1001",
        40.0,
        "arrived broken",
    )
    assert result["approvals"][0]["edited_args"] == {**REFUND[1], "amount": 40}


def test_several_pending_approvals_can_be_resumed_one_at_a_time() -> None:
    ticket = ("create_support_ticket", {"order_id": "A-1001", "reason": "courier was rude"})
    graph, model, config = make([tool_calls_reply(REFUND, ticket), "Both handled."])
    ask(graph, config)
    first, second = graph.get_state(config).interrupts

    graph.invoke(Command(resume={first.id: {"type": "accept", "reviewer": "ana"}}), config)

    state = graph.get_state(config)
    assert [p.id for p in state.interrupts] == [second.id], "the other request still waits"
    assert len(state.values["approvals"]) == 1 and len(model.calls) == 1
    assert read_effects() == [], "nothing runs until every request of the step is decided"

    graph.invoke(Command(resume={second.id: {"type": "accept", "reviewer": "ben"}}), config)

    assert {r["kind"] for r in read_effects()} == {"refund", "ticket"}
    assert graph.get_state(config).values["messages"][-1].text == "Both handled."
