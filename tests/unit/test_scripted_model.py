"""ScriptedChatModel: script order, tools, structured output, streaming, recorded calls."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from demo.orders import order_tools
from models import ScriptedChatModel, ScriptExhaustedError, tool_calls_reply


class Verdict(BaseModel):
    """A judge's verdict."""

    score: float = Field(ge=0, le=1)
    passed: bool


def test_replies_in_order_and_records_calls() -> None:
    model = ScriptedChatModel(replies=["one", AIMessage("two")])

    assert model.invoke("a").text == "one"
    assert model.invoke([HumanMessage("b")]).text == "two"
    assert [c.last_text for c in model.calls] == ["a", "b"]
    assert model.remaining == 0


def test_exhausted_script_raises_a_clear_error() -> None:
    model = ScriptedChatModel(replies=["only"])
    model.invoke("x")

    with pytest.raises(
        ScriptExhaustedError, match="1 scripted replies but was called for reply #2"
    ):
        model.invoke("again")


def test_cycle_and_reset() -> None:
    model = ScriptedChatModel(replies=["a", "b"], cycle=True)
    assert [model.invoke("x").text for _ in range(3)] == ["a", "b", "a"]
    model.reset()
    assert model.calls == [] and model.invoke("x").text == "a"


def test_index_by_turn_is_stateless() -> None:
    model = ScriptedChatModel(replies=["first", "second"], index_by="turn")
    history = [HumanMessage("q"), AIMessage("first"), HumanMessage("q2")]

    assert model.invoke([HumanMessage("q")]).text == "first"
    assert model.invoke(history).text == "second"
    assert model.invoke([HumanMessage("q")]).text == "first"


def test_exceptions_and_callables_in_the_script() -> None:
    model = ScriptedChatModel(
        replies=[TimeoutError("slow upstream"), lambda msgs: f"echo: {msgs[-1].text}"]
    )

    with pytest.raises(TimeoutError, match="slow upstream"):
        model.invoke("x")
    assert model.invoke("hello").text == "echo: hello"


def test_bind_tools_records_tool_names_and_returns_tool_calls() -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(("lookup_order", {"order_id": "A-1001"}))])

    reply = model.bind_tools(order_tools()).invoke("where is A-1001")

    assert reply.tool_calls[0]["name"] == "lookup_order"
    assert reply.tool_calls[0]["id"], "ids are filled in"
    assert model.calls[0].tools[0] == "lookup_order"


def test_structured_output_pydantic_typeddict_and_json_schema() -> None:
    class Route(TypedDict):
        """Where to send the request."""

        department: str

    schema: dict[str, Any] = {
        "title": "plan",
        "description": "A plan.",
        "type": "object",
        "properties": {"steps": {"type": "array", "items": {"type": "string"}}},
        "required": ["steps"],
    }
    model = ScriptedChatModel(
        replies=[
            Verdict(score=0.9, passed=True),
            {"department": "billing"},
            {"steps": ["a", "b"]},
        ]
    )

    assert model.with_structured_output(Verdict).invoke("judge") == Verdict(score=0.9, passed=True)
    assert model.with_structured_output(Route).invoke("route") == {"department": "billing"}
    assert model.with_structured_output(schema).invoke("plan") == {"steps": ["a", "b"]}
    assert [c.structured_output for c in model.calls] == ["Verdict", "Route", "plan"]


def test_structured_output_include_raw_reports_parsing_errors() -> None:
    model = ScriptedChatModel(replies=[{"score": 7, "passed": True}])

    out = model.with_structured_output(Verdict, include_raw=True).invoke("judge")

    assert out["parsed"] is None and out["parsing_error"] is not None
    assert isinstance(out["raw"], AIMessage)


def test_dict_reply_without_structured_output_is_json_text() -> None:
    assert ScriptedChatModel(replies=[{"a": 1}]).invoke("x").text == '{"a": 1}'


def test_streaming_keeps_tool_calls_and_splits_text() -> None:
    reply = tool_calls_reply(("lookup_order", {"order_id": "A-1001"}), text="Let me check that.")
    model = ScriptedChatModel(replies=[reply], stream_chunk_chars=4)

    chunks = list(model.bind_tools(order_tools()).stream("where"))

    assert len(chunks) > 2
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.text == "Let me check that."
    assert merged.tool_calls[0]["name"] == "lookup_order"
    assert merged.tool_calls[0]["args"] == {"order_id": "A-1001"}


def test_a_policy_reply_can_see_the_bound_tool_names() -> None:
    def policy(messages: list[Any], tools: list[str]) -> Any:
        wanted = next(name for name in tools if "lookup" in name)
        return tool_calls_reply((wanted, {"order_id": "A-1001"}))

    model = ScriptedChatModel(replies=[policy])

    reply = model.bind_tools(order_tools()).invoke("where")

    assert reply.tool_calls[0]["name"] == "lookup_order"
