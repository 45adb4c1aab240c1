"""Usage accounting (`nodes.usage`): the offline estimate, state totals, the table, replays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy, interrupt

from checkpointers import open_checkpointer
from checkpointers.usage import InMemoryUsageLog, UsageRecord, default_usage_log
from checkpointers.usage_sqlite import SqliteUsageLog
from demo.orders import order_tools
from graphs.react import build_react_graph
from models import HeuristicDemoModel, ScriptedChatModel
from models.base import estimate_tokens
from models.scripted import tool_calls_reply
from nodes.ask import ask_text
from nodes.usage import record_usage, usage_log
from nodes.usage_prices import PRICES_ENV, PriceTableError, price_for
from state.agent import AgentState
from state.usage import add_usage


def _config(thread: str, user: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread}
    if user is not None:
        configurable["langgraph_auth_user_id"] = user
    return {"configurable": configurable}


def _tokens(totals: dict[str, Any]) -> tuple[int, int, int, int]:
    keys = ("calls", "input_tokens", "output_tokens", "total_tokens")
    return (totals[keys[0]], totals[keys[1]], totals[keys[2]], totals[keys[3]])


# -- the offline estimate ----------------------------------------------------------------------


def test_the_offline_estimate_is_ceil_of_characters_over_four_and_deterministic() -> None:
    assert [estimate_tokens(n) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]
    model = ScriptedChatModel(replies=["Twelve chars"], cycle=True)
    first = model.invoke("abcdefghi").usage_metadata
    second = model.invoke("abcdefghi").usage_metadata
    assert first == second == {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6}
    streamed = None
    for chunk in model.stream("abcdefghi"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.usage_metadata == first


def test_a_scripted_reply_keeps_the_usage_it_carries() -> None:
    usage = {"input_tokens": 100, "output_tokens": 50, "total_tokens": 150}
    model = ScriptedChatModel(replies=[AIMessage("hi", usage_metadata=usage)])
    assert model.invoke("x").usage_metadata == usage


def test_the_heuristic_demo_model_reports_an_estimate() -> None:
    reply = HeuristicDemoModel().invoke([HumanMessage("Where is order A-1001?")])
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] == 6


# -- state and table totals --------------------------------------------------------------------


def test_a_scripted_run_adds_every_call_to_state_and_to_the_table() -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("lookup_order", {"order_id": "A-1001"})), "Shipped."]
    )
    graph = build_react_graph(model=model, tools=order_tools(), checkpointer=saver)
    config = _config("usage-state", user="alice")

    graph.invoke({"messages": [("user", "Where is A-1001?")]}, config)

    state = graph.get_state(config).values["usage"]
    rows = usage_log(saver).rows(thread_id="usage-state")
    assert [(r.role, r.user_id, r.estimated, r.cost_usd) for r in rows] == [
        ("agent", "alice", True, 0.0),
        ("agent", "alice", True, 0.0),
    ]
    assert state == usage_log(saver).totals(user_id="alice")
    assert state["calls"] == 2 and state["cost_usd"] == 0.0 and state["unpriced_calls"] == 0
    assert json.loads(json.dumps(state)) == state


def test_totals_accumulate_over_the_runs_of_a_thread() -> None:
    saver = InMemorySaver()
    graph = build_react_graph(model=ScriptedChatModel(replies=["One.", "Two."]), checkpointer=saver)
    config = _config("usage-two-runs")
    graph.invoke({"messages": [("user", "first")]}, config)
    first = graph.get_state(config).values["usage"]
    graph.invoke({"messages": [("user", "second")]}, config)
    second = graph.get_state(config).values["usage"]
    assert second["calls"] == 2
    assert second == usage_log(saver).totals(thread_id="usage-two-runs")
    assert second["input_tokens"] > 2 * first["input_tokens"] - 1


def test_an_unknown_model_counts_tokens_and_has_no_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRICES_ENV, raising=False)
    usage = {"input_tokens": 40, "output_tokens": 10, "total_tokens": 50}
    model = GenericFakeChatModel(messages=iter([AIMessage("ok", usage_metadata=usage)] * 2))

    row = record_usage(model, [HumanMessage("hi")], model.invoke("hi"), role="agent")

    assert row is not None and row.cost_usd is None and row.estimated is False
    assert (row.input_tokens, row.output_tokens, row.total_tokens) == (40, 10, 50)
    assert row.model == "generic-fake-chat-model"
    monkeypatch.setenv(PRICES_ENV, json.dumps({row.model: {"input": 1.0, "output": 2.0}}))
    priced = record_usage(model, [HumanMessage("hi")], model.invoke("hi"), role="agent")
    assert priced is not None and priced.cost_usd == pytest.approx(60 / 1_000_000)


def test_state_cost_is_none_until_a_call_is_priced() -> None:
    unpriced = {"calls": 1, "input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    left = add_usage({}, {**unpriced, "cost_usd": None, "unpriced_calls": 1})
    assert left["cost_usd"] is None and left["unpriced_calls"] == 1
    both = add_usage(left, {**unpriced, "cost_usd": 0.25, "unpriced_calls": 0})
    assert both["cost_usd"] == 0.25 and both["unpriced_calls"] == 1 and both["calls"] == 2


def test_a_call_outside_a_graph_is_recorded_under_a_random_key() -> None:
    model = ScriptedChatModel(replies=["Hello."], cycle=True)
    before = len(usage_log().rows(thread_id=""))
    assert ask_text(model, ["Hi"], role="writer") == "Hello."
    assert ask_text(model, ["Hi"], role="writer") == "Hello."
    rows = usage_log().rows(thread_id="")
    assert len(rows) == before + 2 and rows[-1].call_id != rows[-2].call_id


# -- replays -----------------------------------------------------------------------------------


def _flaky_graph(model: ScriptedChatModel, fail_times: int, **node: Any) -> Any:
    """One node that asks the model, then fails `fail_times` times (a crash after paying)."""
    failures = {"left": fail_times}

    def ask(state: AgentState) -> dict[str, Any]:
        answer = ask_text(model, state["messages"], role="writer")
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("crashed after the model call")
        return {"messages": [AIMessage(answer)]}

    builder = StateGraph(AgentState)
    builder.add_node("ask", ask, **node)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_a_node_re_run_from_its_checkpoint_is_counted_once() -> None:
    model = ScriptedChatModel(replies=["Answer."], cycle=True)
    graph = _flaky_graph(model, fail_times=1)
    config = _config("usage-replay")
    with pytest.raises(RuntimeError, match="crashed"):
        graph.invoke({"messages": [HumanMessage("Q")]}, config)
    graph.invoke(None, config)  # resume: the node runs again from the same checkpoint

    assert len(model.calls) == 2  # the provider was asked twice ...
    [row] = usage_log(graph.checkpointer).rows(thread_id="usage-replay")
    assert row.attempts == 2  # ... the table has one row for the call, seen twice
    assert graph.get_state(config).values["usage"]["calls"] == 1


def test_a_task_retried_in_process_is_counted_once() -> None:
    model = ScriptedChatModel(replies=["Answer."], cycle=True)
    graph = _flaky_graph(
        model, fail_times=2, retry_policy=RetryPolicy(initial_interval=0.01, retry_on=RuntimeError)
    )
    config = _config("usage-retry")
    graph.invoke({"messages": [HumanMessage("Q")]}, config)

    assert len(model.calls) == 3
    [row] = usage_log(graph.checkpointer).rows(thread_id="usage-retry")
    assert row.attempts == 3
    assert graph.get_state(config).values["usage"]["calls"] == 1


def test_a_node_resumed_after_an_interrupt_is_counted_once() -> None:
    model = ScriptedChatModel(replies=["Draft."], cycle=True)

    def ask(state: AgentState) -> dict[str, Any]:
        draft = ask_text(model, state["messages"], role="writer")
        approved = interrupt({"draft": draft})
        return {"messages": [AIMessage(f"{draft} {approved}")]}

    builder = StateGraph(AgentState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = _config("usage-interrupt")
    graph.invoke({"messages": [HumanMessage("Q")]}, config)
    graph.invoke(Command(resume="ok"), config)

    [row] = usage_log(graph.checkpointer).rows(thread_id="usage-interrupt")
    assert row.attempts == 2 and len(model.calls) == 2
    assert graph.get_state(config).values["usage"]["calls"] == 1


# -- the tables --------------------------------------------------------------------------------


def test_the_sqlite_table_holds_rows_and_totals_per_thread_user_and_period(
    tmp_path: Path,
) -> None:
    path = tmp_path / "threads.sqlite"
    with open_checkpointer(f"sqlite:///{path}") as saver:
        model = ScriptedChatModel(replies=["Fine."], cycle=True)
        graph = build_react_graph(model=model, checkpointer=saver)
        graph.invoke({"messages": [("user", "a")]}, _config("t-a", user="alice"))
        graph.invoke({"messages": [("user", "b")]}, _config("t-b", user="alice"))
        graph.invoke({"messages": [("user", "c")]}, _config("t-c", user="bob"))
        log = default_usage_log(saver)
        assert isinstance(log, SqliteUsageLog)
        state = graph.get_state(_config("t-a")).values["usage"]

    reopened = SqliteUsageLog(str(path))  # a new connection, as another process would open
    try:
        assert reopened.totals(thread_id="t-a") == state
        assert _tokens(reopened.totals(user_id="alice"))[0] == 2
        assert _tokens(reopened.totals(user_id="bob"))[0] == 1
        assert reopened.totals()["cost_usd"] == 0.0
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert reopened.totals(since=later)["calls"] == 0
        assert reopened.totals(until=later)["calls"] == 3
        assert reopened.totals(since=later)["cost_usd"] is None
        assert {r.thread_id for r in reopened.rows(user_id="alice")} == {"t-a", "t-b"}
    finally:
        reopened.close()


def test_a_graph_without_a_saver_records_in_the_table_of_the_saver_it_runs_with(
    tmp_path: Path,
) -> None:
    path = tmp_path / "served.sqlite"
    built = build_react_graph(model=ScriptedChatModel(replies=["Hi."], cycle=True))
    with open_checkpointer(f"sqlite:///{path}") as saver:
        served = built.copy(update={"checkpointer": saver})  # what the server does
        served.invoke({"messages": [("user", "x")]}, _config("served"))
        assert default_usage_log(saver).totals(thread_id="served")["calls"] == 1


def test_the_in_memory_log_keeps_the_first_row_of_a_key() -> None:
    log = InMemoryUsageLog()
    first = UsageRecord(
        call_id="k", thread_id="t", user_id=None, role="agent", model="m",
        input_tokens=1, output_tokens=1, total_tokens=2, cost_usd=None,
    )  # fmt: skip
    assert log.record(first) is True
    assert log.record(UsageRecord(**{**first.__dict__, "input_tokens": 99})) is False
    [row] = log.rows()
    assert row.input_tokens == 1 and row.attempts == 2


# -- prices ------------------------------------------------------------------------------------


def test_default_prices_match_names_specs_and_dated_versions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PRICES_ENV, raising=False)
    mini = price_for("gpt-4o-mini")
    assert mini is not None and (mini.input, mini.output) == (0.15, 0.60)
    assert price_for("openai:gpt-4o-mini") == mini == price_for("gpt-4o-mini-2024-07-18")
    assert price_for("gpt-4o") != mini
    assert price_for("local-llama") is None


def test_the_operator_price_table_overrides_from_json_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(PRICES_ENV, '{"gpt-4o-mini": {"input": 1, "output": 2}}')
    override = price_for("gpt-4o-mini")
    assert override is not None and (override.input, override.output) == (1.0, 2.0)
    assert price_for("gpt-4o") is not None  # the defaults stay
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"openai:local": {"input": 0.5, "output": 0.25}}))
    monkeypatch.setenv(PRICES_ENV, str(table))
    local = price_for("openai:local")
    assert local is not None and local.output == 0.25


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"m": {"input": -1, "output": 1}}', "input price of 'm' must be a number >= 0"),
        ('{"m": {"input": 1}}', "the price of 'm' must be"),
        ('{"m": {"input": 1, "output": "2"}}', "output price of 'm'"),
        ("/no/such/prices.json", "neither JSON nor a readable file"),
    ],
)
def test_an_invalid_operator_price_table_is_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv(PRICES_ENV, raw)
    with pytest.raises(PriceTableError, match=PRICES_ENV) as info:
        price_for("gpt-4o")
    assert message in str(info.value)


async def test_an_async_run_on_an_async_sqlite_saver_records_in_its_file(tmp_path: Path) -> None:
    from checkpointers import open_async_checkpointer

    path = tmp_path / "async.sqlite"
    async with open_async_checkpointer(f"sqlite:///{path}") as saver:
        graph = build_react_graph(
            model=ScriptedChatModel(replies=["Hi."], cycle=True), checkpointer=saver
        )
        await graph.ainvoke({"messages": [("user", "x")]}, _config("async-t", user="dana"))
        state = (await graph.aget_state(_config("async-t"))).values["usage"]
    log = SqliteUsageLog(str(path))
    try:
        assert log.totals(user_id="dana") == state and state["calls"] == 1
    finally:
        log.close()
