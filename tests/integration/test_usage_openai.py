"""Usage accounting against the local OpenAI-compatible server: totals equal what it reported.

The fake server (`tests/integration/test_openai_compatible.py`) reports the same usage for
every completion; the ReAct refund run makes three calls, so the table and the state must hold
three times that, priced from the operator's table, or unpriced without one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from demo.orders import order_tools
from graphs.react import build_react_graph
from models.factory import create_chat_model
from nodes.usage import usage_log
from nodes.usage_prices import PRICES_ENV
from tests.integration.test_openai_compatible import (  # noqa: F401 - fixtures
    MODEL_NAME,
    REFUND_SCRIPT,
    USER_TURN,
    FakeOpenAIServer,
    _usage,
    openai_env,
    openai_server,
)

CALLS = len(REFUND_SCRIPT)
PRICE = {"input": 2.0, "output": 8.0}  # USD per 1M tokens


def _reported(calls: int) -> tuple[int, int, int]:
    one = _usage()
    return (
        calls * one["prompt_tokens"],
        calls * one["completion_tokens"],
        calls * one["total_tokens"],
    )


def _run(graph: Any, thread: str, *, stream: bool) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread, "langgraph_auth_user_id": "carol"}}
    for payload in ({"messages": [("user", USER_TURN)]}, Command(resume={"type": "accept"})):
        if stream:
            for _ in graph.stream(payload, config, stream_mode=["messages", "updates"]):
                pass
        else:
            graph.invoke(payload, config)
    return dict(graph.get_state(config).values["usage"])


def test_recorded_tokens_and_cost_equal_the_servers_usage_and_the_price_table(
    openai_env: FakeOpenAIServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PRICES_ENV, json.dumps({f"openai:{MODEL_NAME}": PRICE}))
    openai_env.script = list(REFUND_SCRIPT)
    saver = InMemorySaver()
    model = create_chat_model(f"openai:{MODEL_NAME}")
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)

    state = _run(graph, "usage-openai", stream=False)

    input_tokens, output_tokens, total_tokens = _reported(CALLS)
    totals = usage_log(saver).totals(thread_id="usage-openai")
    assert totals == state
    assert (totals["calls"], totals["input_tokens"], totals["output_tokens"]) == (
        CALLS,
        input_tokens,
        output_tokens,
    )
    assert totals["total_tokens"] == total_tokens and totals["unpriced_calls"] == 0
    expected = (input_tokens * PRICE["input"] + output_tokens * PRICE["output"]) / 1_000_000
    assert totals["cost_usd"] == pytest.approx(expected)
    rows = usage_log(saver).rows(user_id="carol")
    assert {(r.model, r.estimated, r.role) for r in rows} == {(MODEL_NAME, False, "agent")}


def test_an_unpriced_model_records_tokens_and_unknown_cost(
    openai_env: FakeOpenAIServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PRICES_ENV, raising=False)
    openai_env.script = list(REFUND_SCRIPT)
    saver = InMemorySaver()
    model = create_chat_model(f"openai:{MODEL_NAME}")
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)

    state = _run(graph, "usage-unpriced", stream=False)

    assert state["cost_usd"] is None and state["unpriced_calls"] == CALLS
    assert state["total_tokens"] == _reported(CALLS)[2]
    assert all(r.cost_usd is None for r in usage_log(saver).rows(thread_id="usage-unpriced"))


def test_a_streamed_run_records_the_aggregated_usage_of_its_chunks(
    openai_env: FakeOpenAIServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PRICES_ENV, json.dumps({MODEL_NAME: PRICE}))
    openai_env.script = list(REFUND_SCRIPT)
    saver = InMemorySaver()
    model = ChatOpenAI(model=MODEL_NAME, stream_usage=True)  # the server sends a usage chunk
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)

    state = _run(graph, "usage-stream", stream=True)

    assert all(body["stream"] for body in openai_env.requests)
    assert (state["calls"], state["input_tokens"], state["output_tokens"]) == (
        CALLS,
        *_reported(CALLS)[:2],
    )
    assert state == usage_log(saver).totals(thread_id="usage-stream")
    assert state["cost_usd"] == pytest.approx(
        (state["input_tokens"] * 2.0 + state["output_tokens"] * 8.0) / 1_000_000
    )
