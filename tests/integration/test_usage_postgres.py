"""The usage table in Postgres beside the checkpoints: rows, totals, and no double count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from checkpointers import open_checkpointer
from checkpointers.usage import default_usage_log
from checkpointers.usage_postgres import PostgresUsageLog
from graphs.react import build_react_graph
from models import ScriptedChatModel
from nodes.ask import ask_text
from state.agent import AgentState

pytestmark = pytest.mark.postgres


def _config(thread: str, user: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "langgraph_auth_user_id": user}}


def test_the_postgres_table_holds_rows_and_totals_per_thread_and_user(postgres_url: str) -> None:
    with open_checkpointer(postgres_url) as saver:
        graph = build_react_graph(
            model=ScriptedChatModel(replies=["Fine."], cycle=True), checkpointer=saver
        )
        for thread, user in (("pg-a", "alice"), ("pg-b", "alice"), ("pg-c", "bob")):
            graph.invoke({"messages": [("user", thread)]}, _config(thread, user))
        assert isinstance(default_usage_log(saver), PostgresUsageLog)
        state = graph.get_state(_config("pg-a", "alice")).values["usage"]

    other = PostgresUsageLog(postgres_url)  # what another process reads
    try:
        assert other.totals(thread_id="pg-a") == state
        assert other.totals(user_id="alice")["calls"] == 2
        assert other.totals(user_id="bob")["calls"] == 1
        assert other.totals()["cost_usd"] == 0.0
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert other.totals(since=later) == {
            "calls": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
            "cost_usd": None,
            "unpriced_calls": 0,
        }
        rows = other.rows(user_id="alice")
        assert {r.thread_id for r in rows} == {"pg-a", "pg-b"}
        assert all(r.estimated and r.role == "agent" and r.attempts == 1 for r in rows)
    finally:
        other.close()


def test_a_node_re_run_after_a_failure_is_one_row_in_postgres(postgres_url: str) -> None:
    model = ScriptedChatModel(replies=["Answer."], cycle=True)
    failures = {"left": 1}

    def ask(state: AgentState) -> dict[str, Any]:
        answer = ask_text(model, state["messages"], role="writer")
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("crashed after the model call")
        return {"messages": [AIMessage(answer)]}

    builder = StateGraph(AgentState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    config = _config("pg-replay", "alice")
    with open_checkpointer(postgres_url) as saver:
        graph = builder.compile()  # no saver: the table is the run's saver's, as when served
        served = graph.copy(update={"checkpointer": saver})
        with pytest.raises(RuntimeError, match="crashed"):
            served.invoke({"messages": [HumanMessage("Q")]}, config)
        served.invoke(None, config)
        usage = served.get_state(config).values["usage"]

    log = PostgresUsageLog(postgres_url)
    try:
        [row] = log.rows(thread_id="pg-replay")
        assert row.attempts == 2 and row.role == "writer" and row.user_id == "alice"
        assert log.totals(thread_id="pg-replay") == usage
        assert usage["calls"] == 1 and len(model.calls) == 2
    finally:
        log.close()
