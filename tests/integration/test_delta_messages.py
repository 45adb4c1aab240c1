"""Messages stored as deltas (`state.messages_channel`) on every saver.

The ReAct graph's ``messages`` channel is a `DeltaChannel`: checkpoints hold only each step's
new messages. These tests check what must not change with that: the reducer is
``add_messages`` (removal, same-id replacement), ``get_state``, ``get_state_history``, time
travel and forks read the right conversation on the in-memory, SQLite and Postgres savers, and
a thread written with the old channel (the whole list in every checkpoint) loads and continues.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.channels import BinaryOperatorAggregate, DeltaChannel
from langgraph.graph import START
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from pydantic import BaseModel

from checkpointers import open_checkpointer
from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from state.messages_channel import add_messages_batch
from tools.registry import agent_tool


class _Text(BaseModel):
    text: str


@agent_tool(args_schema=_Text, side_effects=False)
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


def _model() -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[tool_calls_reply(("echo", {"text": "ping"})), "Done."],
        cycle=True,
        index_by="turn",
    )


def _graph(saver: Any, tools: list[BaseTool] | None = None) -> Any:
    return build_react_graph(_model(), tools=tools or [echo], checkpointer=saver)


def _plain_channel_graph(saver: Any) -> Any:
    """The same graph with the old ``messages`` channel: the whole list in every checkpoint."""
    graph = _graph(saver)
    channel: BinaryOperatorAggregate[Any] = BinaryOperatorAggregate(list, add_messages)
    channel.key = "messages"
    graph.channels["messages"] = channel
    return graph


def _texts(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.type, m.text) for m in messages]


def _config(thread: str = "t") -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


def _turn(graph: Any, text: str, thread: str = "t") -> list[BaseMessage]:
    result = graph.invoke({"messages": [HumanMessage(text)]}, _config(thread))
    return list(result["messages"])


# --- the reducer --------------------------------------------------------------------------


def _random_write(rng: random.Random, live: list[str], counter: list[int]) -> list[Any]:
    write: list[Any] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.5 or not live:
            counter[0] += 1
            write.append(HumanMessage(f"m{counter[0]}", id=f"id{counter[0]}"))
        elif roll < 0.7:
            message_id = rng.choice(live)
            write.append(AIMessage(f"edited {message_id}", id=message_id))
        elif roll < 0.9:
            write.append(RemoveMessage(id=rng.choice(live)))
        elif roll < 0.93:
            write.append(RemoveMessage(id=REMOVE_ALL_MESSAGES))
        else:
            write.append(HumanMessage("again", id="id1"))
    return write


def test_batch_reducer_is_add_messages_folded_and_batching_invariant() -> None:
    for seed in range(400):
        rng = random.Random(seed)
        reference: list[Any] = []
        writes: list[list[Any]] = []
        counter = [0]
        for _ in range(rng.randint(1, 10)):
            write = _random_write(rng, [m.id for m in reference], counter)
            try:
                reference = add_messages(reference, write)  # type: ignore[assignment]
            except ValueError:
                continue  # removing an id that is gone: not a valid history
            writes.append(write)
        expected = [(m.id, m.content) for m in reference]
        split = rng.randint(0, len(writes))
        in_two = add_messages_batch(add_messages_batch([], writes[:split]), writes[split:])
        assert [(m.id, m.content) for m in add_messages_batch([], writes)] == expected, seed
        assert [(m.id, m.content) for m in in_two] == expected, seed


def test_batch_reducer_gives_id_less_messages_the_same_id_on_every_replay() -> None:
    writes: list[Any] = [[("user", "hi")], ["hello", ("ai", "hi")]]
    once = add_messages_batch([], writes)
    replayed = add_messages_batch(add_messages_batch([], writes[:1]), writes[1:])
    assert [m.id for m in once] == [m.id for m in replayed]
    assert len({m.id for m in once}) == 3


def test_batch_reducer_refuses_to_remove_an_unknown_id() -> None:
    with pytest.raises(ValueError, match="doesn't exist"):
        add_messages_batch([HumanMessage("a", id="1")], [[RemoveMessage(id="2")]])


def test_agent_state_messages_are_a_delta_channel() -> None:
    graph = _graph(None)
    assert isinstance(graph.channels["messages"], DeltaChannel)


# --- every saver ----------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def saver_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/checkpoints.sqlite"
    else:
        yield request.getfixturevalue("postgres_url")


def _reopened(url: str, graph: Any) -> Iterator[Any]:
    """The graph on a freshly opened saver (what a new process sees); memory keeps its own."""
    if url == "memory":
        yield graph
        return
    with open_checkpointer(url) as saver:
        yield _graph(saver)


def test_state_history_time_travel_and_forks(saver_url: str) -> None:
    with open_checkpointer(saver_url) as saver:
        graph = _graph(saver)
        _turn(graph, "first")
        final = _turn(graph, "second")
        assert len(final) == 8
        latest = saver.get_tuple(_config())
        assert latest is not None
        assert "messages" not in latest.checkpoint["channel_values"]  # a delta, not a copy
        for reader in _reopened(saver_url, graph):
            assert _texts(reader.get_state(_config()).values["messages"]) == _texts(final)
            history = list(reader.get_state_history(_config()))
            sizes = [len(s.values.get("messages", [])) for s in reversed(history)]
            assert sizes == sorted(sizes) and sizes[-1] == 8
            for snapshot in history:  # every past state is a prefix of the conversation
                count = len(snapshot.values.get("messages", []))
                assert _texts(snapshot.values.get("messages", [])) == _texts(final[:count])
        past = next(s for s in history if len(s.values.get("messages", [])) == 2 and s.next)
        replayed = graph.invoke(None, past.config)  # time travel: re-run the tool and the model
        assert _texts(replayed["messages"]) == _texts(final[:4])
        turn_one = next(s for s in history if len(s.values.get("messages", [])) == 4)
        forked = graph.update_state(turn_one.config, {"messages": [HumanMessage("fork")]}, START)
        fork_state = _texts(graph.get_state(forked).values["messages"])
        assert fork_state == [*_texts(final[:4]), ("human", "fork")]
        assert _texts(graph.invoke(None, forked)["messages"])[:5] == fork_state
        assert _texts(graph.get_state(_config()).values["messages"])[:4] == _texts(final[:4])


def test_remove_and_same_id_replacement_survive_a_reload(saver_url: str) -> None:
    with open_checkpointer(saver_url) as saver:
        graph = _graph(saver)
        messages = _turn(graph, "first")
        call, result = messages[1], messages[2]
        graph.update_state(
            _config(),
            {"messages": [RemoveMessage(id=call.id or ""), RemoveMessage(id=result.id or "")]},
            as_node=START,
        )
        graph.update_state(
            _config(), {"messages": [AIMessage("edited", id=messages[-1].id)]}, as_node=START
        )
        expected = [messages[0], AIMessage("edited", id=messages[-1].id)]
        for reader in _reopened(saver_url, graph):
            values = reader.get_state(_config()).values["messages"]
            assert [(m.id, m.text) for m in values] == [(m.id, m.text) for m in expected]
        after = _turn(graph, "second")
        assert [(m.id, m.text) for m in after[:2]] == [(m.id, m.text) for m in expected]
        assert after[2].text == "second"


@pytest.mark.postgres
def test_a_thread_written_with_the_old_channel_loads_and_continues(postgres_url: str) -> None:
    with open_checkpointer(postgres_url) as saver:
        old = _plain_channel_graph(saver)
        _turn(old, "first")
        before = _turn(old, "second")
        stored = saver.get_tuple(_config())
        assert stored is not None
        assert len(stored.checkpoint["channel_values"]["messages"]) == 8  # the old whole list
    with open_checkpointer(postgres_url) as saver:
        graph = _graph(saver)
        loaded = graph.get_state(_config()).values["messages"]
        assert [(m.id, m.text) for m in loaded] == [(m.id, m.text) for m in before]
        after = _turn(graph, "third")
        assert [(m.id, m.text) for m in after[:8]] == [(m.id, m.text) for m in before]
        assert _texts(after[8:]) == [
            ("human", "third"),
            ("ai", ""),
            ("tool", "ping"),
            ("ai", "Done."),
        ]
    with open_checkpointer(postgres_url) as saver:
        graph = _graph(saver)
        assert _texts(graph.get_state(_config()).values["messages"]) == _texts(after)
        history = list(graph.get_state_history(_config()))
        assert all(
            _texts(s.values.get("messages", []))
            == _texts(after[: len(s.values.get("messages", []))])
            for s in history
        )
