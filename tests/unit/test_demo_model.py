"""The offline heuristic demo model: tool choice, argument filling, answers, structured output."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from demo.orders import order_tools
from models import HeuristicDemoModel, create_chat_model, resolve_model_spec


def bound() -> object:
    return HeuristicDemoModel().bind_tools(order_tools())


def test_reads_before_it_acts_and_fills_ids_from_the_request() -> None:
    reply = bound().invoke("My order A-1001 arrived broken, please refund it.")
    assert reply.tool_calls[0]["name"] == "lookup_order"
    assert reply.tool_calls[0]["args"] == {"order_id": "A-1001"}


def test_fills_amount_from_earlier_tool_results_and_calls_each_tool_once() -> None:
    call = AIMessage(
        "", tool_calls=[{"name": "lookup_order", "args": {"order_id": "A-1001"}, "id": "c1"}]
    )
    result = ToolMessage('{"order_id": "A-1001", "total": 89.99}', tool_call_id="c1")
    history = [HumanMessage("Refund order A-1001, it is broken"), call, result]
    search = AIMessage(
        "", tool_calls=[{"name": "search_help_docs", "args": {"query": "x"}, "id": "c2"}]
    )
    history += [search, ToolMessage("[]", tool_call_id="c2")]

    reply = bound().invoke(history)

    assert reply.tool_calls[0]["name"] == "issue_refund"
    assert reply.tool_calls[0]["args"]["amount"] == 89.99
    assert reply.tool_calls[0]["args"]["order_id"] == "A-1001"


def test_an_amount_in_the_request_wins() -> None:
    history = [HumanMessage("Refund $20 on order A-1002, it was late")]
    history += [
        AIMessage(
            "", tool_calls=[{"name": "lookup_order", "args": {"order_id": "A-1002"}, "id": "c1"}]
        ),
        ToolMessage('{"order_id": "A-1002", "total": 420.0}', tool_call_id="c1"),
        AIMessage(
            "", tool_calls=[{"name": "search_help_docs", "args": {"query": "x"}, "id": "c2"}]
        ),
        ToolMessage("[]", tool_call_id="c2"),
    ]
    assert bound().invoke(history).tool_calls[0]["args"]["amount"] == 20.0


def test_without_an_order_id_it_asks_for_one_instead_of_guessing() -> None:
    reply = bound().invoke("Where is my order?")
    assert not reply.tool_calls
    assert "order id" in reply.text and "not an LLM" in reply.text


def test_answers_from_tool_results_and_reports_errors() -> None:
    history = [
        HumanMessage("Where is A-1003?"),
        AIMessage(
            "", tool_calls=[{"name": "lookup_order", "args": {"order_id": "A-1003"}, "id": "c1"}]
        ),
        ToolMessage(
            '{"order_id": "A-1003", "status": "processing"}', tool_call_id="c1", name="lookup_order"
        ),
        AIMessage("", tool_calls=[{"name": "issue_refund", "args": {}, "id": "c2"}]),
        ToolMessage("Rejected by dee", tool_call_id="c2", status="error", name="issue_refund"),
    ]
    reply = bound().invoke(history)
    assert not reply.tool_calls
    assert "status: processing" in reply.text
    assert reply.text.startswith("A reviewer stopped part of this")
    assert "- issue_refund: Rejected by dee" in reply.text


def test_is_deterministic() -> None:
    question = "My order A-1001 arrived broken, please refund it."
    first, second = bound().invoke(question), bound().invoke(question)
    assert first.tool_calls == second.tool_calls and first.id == second.id


def test_structured_output_validates_against_the_schema() -> None:
    class Step(BaseModel):
        tool: str
        attempts: int = Field(ge=1, le=5)

    class Plan(BaseModel):
        goal: str = Field(min_length=3)
        priority: str = Field(json_schema_extra={"enum": ["low", "high"]})
        steps: list[Step]
        approved: bool

    plan = (
        HeuristicDemoModel()
        .with_structured_output(Plan)
        .invoke("resize the fleet, high priority, 3 tries")
    )

    assert isinstance(plan, Plan)
    assert plan.priority == "high" and plan.steps[0].attempts == 3


def test_model_spec_resolution(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AGENT_PATTERNS_MODEL", raising=False)
    assert resolve_model_spec() == "demo"
    assert isinstance(create_chat_model(), HeuristicDemoModel)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1-mini")
    assert resolve_model_spec() == "openai:gpt-4.1-mini"
    assert resolve_model_spec("demo") == "demo"
    monkeypatch.setenv("AGENT_PATTERNS_MODEL", "openai:other")
    assert resolve_model_spec() == "openai:other"
