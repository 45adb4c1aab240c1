"""The same ReAct run over memory, SQLite and Postgres savers, sync and async.

Each Postgres case gets its own database (conftest's `postgres_url`). For the durable savers
the thread is read back through a second, freshly opened saver: what a new process would see.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.types import Command

from checkpointers import open_async_checkpointer, open_checkpointer, setup_postgres
from demo.effects import clear_effects, read_effects
from demo.orders import order_tools
from graphs.react import build_react_graph

QUESTION = {"messages": [("user", "My order A-1001 arrived broken, please refund it.")]}
ACCEPT = Command(resume=[{"type": "accept", "reviewer": "qa"}])


def _transcript(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, m.text) for m in messages]


@pytest.fixture(scope="module")
def expected() -> list[tuple[str, str]]:
    """The transcript of the run on the in-memory saver, the reference for the others."""
    clear_effects()  # a refund left by an earlier module would make this one a duplicate
    with open_checkpointer("memory") as saver:
        graph = build_react_graph(tools=order_tools(), checkpointer=saver)
        config = {"configurable": {"thread_id": "order-A-1001"}}
        graph.invoke(QUESTION, config)
        return _transcript(graph.invoke(ACCEPT, config)["messages"])


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def checkpointer_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/checkpoints.sqlite"
    else:
        yield request.getfixturevalue("postgres_url")


def test_sync_run_interrupts_resumes_and_persists(checkpointer_url: str, expected: Any) -> None:
    config = {"configurable": {"thread_id": "order-A-1001"}}
    with open_checkpointer(checkpointer_url) as saver:
        graph = build_react_graph(tools=order_tools(), checkpointer=saver)
        graph.invoke(QUESTION, config, durability="sync")
        assert graph.get_state(config).next == ("approval_gate",)
        result = graph.invoke(ACCEPT, config, durability="sync")
        assert _transcript(result["messages"]) == expected
        assert len(read_effects("refund")) == 1
        history = list(graph.get_state_history(config))
        assert len(history) >= 8

    if checkpointer_url == "memory":
        return
    with open_checkpointer(checkpointer_url) as reopened:
        state = build_react_graph(tools=order_tools(), checkpointer=reopened).get_state(config)
        assert _transcript(state.values["messages"]) == expected
        assert state.values["approvals"][0]["reviewer"] == "qa"


async def test_async_run_matches_the_sync_one(checkpointer_url: str, expected: Any) -> None:
    config = {"configurable": {"thread_id": "order-A-1001"}}
    async with open_async_checkpointer(checkpointer_url) as saver:
        graph = build_react_graph(tools=order_tools(), checkpointer=saver)
        await graph.ainvoke(QUESTION, config)
        pending = (await graph.aget_state(config)).interrupts
        assert pending[0].value[0]["action_request"]["action"] == "issue_refund"
        result = await graph.ainvoke(ACCEPT, config)
        assert _transcript(result["messages"]) == expected

    if checkpointer_url == "memory":
        return
    async with open_async_checkpointer(checkpointer_url) as reopened:
        state = await build_react_graph(tools=order_tools(), checkpointer=reopened).aget_state(
            config
        )
        assert _transcript(state.values["messages"]) == expected


@pytest.mark.postgres
def test_postgres_setup_is_safe_to_run_concurrently(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            setup_postgres(postgres_url)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_checkpointer(postgres_url, setup=False) as saver:
        assert list(saver.list(None, limit=1)) == []


@pytest.mark.postgres
def test_postgres_pool_serves_concurrent_threads(postgres_url: str) -> None:
    with open_checkpointer(postgres_url, pool_size=3) as saver:
        graph = build_react_graph(tools=order_tools(), checkpointer=saver)
        results: dict[str, Any] = {}

        def run(thread_id: str) -> None:
            config = {"configurable": {"thread_id": thread_id}}
            graph.invoke({"messages": [("user", "Where is order A-1002?")]}, config)
            results[thread_id] = graph.get_state(config).values["messages"][-1].text

        threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 6
    assert all("status: shipped" in text for text in results.values())
