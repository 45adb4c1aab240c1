"""A 300-turn thread through a real compiled graph never exceeds the context window.

Two graphs: a minimal one of this test's own, and the ReAct graph, whose shared model node
applies the window (`nodes.window_call`); the second records what `ScriptedChatModel` was sent.

The graph is the smallest one that calls a model the way the patterns do: a model node that
fits the thread into the window (`nodes.context_window.fit_window`, settings read from the
run's controls like the shared model node does) and a tool node, checkpointed by an
`InMemorySaver`. Each turn is a question, a tool call, a large tool result and an answer; a
user node asks the next question, and the thread is run in invocations of `TURNS_PER_RUN`
turns, so it is reloaded from the checkpointer (summary included) between them. What every
model call was sent is recorded and checked: within the budget (estimated), no tool call
without all its answers, no answer without its call.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NotRequired

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict

from graphs.react import build_react_graph
from models.scripted import ScriptedChatModel, tool_calls_reply
from nodes.context_window import SUMMARY_PREFIX, count_tokens, fit_window
from nodes.controls import CONTROLS_KEY, Controls, WindowSettings, current_controls
from nodes.runtime import PatternRuntime
from nodes.window_call import SUMMARIZER_PROMPT, SUMMARY_CHANNEL
from state.messages_channel import DeltaMessages
from state.window import WindowSummary
from tools.registry import agent_tool

TURNS = 300
TURNS_PER_RUN = 30
BUDGET = 8_000
SYSTEM = [SystemMessage("You are the support agent of a small shop. " * 5)]


class ThreadState(TypedDict):
    """The conversation and the stored summary (as the agent state will carry it)."""

    messages: DeltaMessages
    window_summary: NotRequired[WindowSummary | None]
    questions_left: NotRequired[int]


@dataclass
class Recorded:
    """What the model node saw: every list of messages sent, every summarizer call."""

    sent: list[list[BaseMessage]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    folds: list[tuple[int, str | None]] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)

    def summarize(self, folded: list[BaseMessage], previous: str | None) -> str:
        """A stand-in summarizer: short, and says what it folded."""
        self.folds.append((len(folded), previous))
        text = f"fold {len(self.folds)}: {len(folded)} messages, last {folded[-1].id}"
        self.summaries.append(text)
        return text


def question(turn: int) -> HumanMessage:
    """The user's question of `turn`."""
    return HumanMessage(f"Where is my order A-{turn}? " + "I ordered it a while ago. " * 12)


def reply(conversation: Sequence[BaseMessage], turn: int) -> AIMessage:
    """The scripted model: a tool call after the question, an answer after the result."""
    if isinstance(conversation[-1], HumanMessage):
        call = {"name": "lookup_order", "args": {"order_id": f"A-{turn}"}, "id": f"call-{turn}"}
        return AIMessage("", tool_calls=[call], id=f"t{turn}-call")
    return AIMessage(f"Order A-{turn} shipped. " + "details " * 150, id=f"t{turn}-answer")


def build_graph(record: Recorded) -> Any:
    """The model node fits the window and records what it sends; the tool node answers."""

    def model(state: ThreadState, config: RunnableConfig) -> dict[str, Any]:
        window = current_controls(config).window
        plan = fit_window(
            SYSTEM,
            state["messages"],
            settings=window,
            model_name="test-model",
            summary=state.get("window_summary"),
            summarize=record.summarize,
        )
        record.sent.append(plan.messages)
        if plan.event:
            record.events.append(plan.event)
        turn = sum(isinstance(m, HumanMessage) for m in state["messages"]) - 1
        update: dict[str, Any] = {"messages": [reply(state["messages"], turn)]}
        if plan.summary is not None:
            update["window_summary"] = plan.summary
        return update

    def tools(state: ThreadState) -> dict[str, Any]:
        ai = state["messages"][-1]
        assert isinstance(ai, AIMessage)
        results = [
            ToolMessage(f"order {c['args']['order_id']}: " + "history " * 250, tool_call_id=c["id"])
            for c in ai.tool_calls
        ]
        return {"messages": results}

    def user(state: ThreadState) -> dict[str, Any]:
        turn = sum(isinstance(m, HumanMessage) for m in state["messages"])
        return {"messages": [question(turn)], "questions_left": state["questions_left"] - 1}

    def route(state: ThreadState) -> str:
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and last.tool_calls:
            return "tools"
        return "user" if state.get("questions_left", 0) > 0 else END

    builder = StateGraph(ThreadState)
    builder.add_node("model", model)
    builder.add_node("tools", tools)
    builder.add_node("user", user)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", "user", END])
    builder.add_edge("tools", "model")
    builder.add_edge("user", "model")
    return builder.compile(checkpointer=InMemorySaver())


def assert_pairs_whole(sent: Sequence[BaseMessage]) -> None:
    """Every tool call sent has all its answers sent; every answer sent has its call."""
    asked = {c["id"] for m in sent if isinstance(m, AIMessage) for c in m.tool_calls}
    answered = {m.tool_call_id for m in sent if isinstance(m, ToolMessage)}
    assert asked == answered


@functools.cache
def run_thread(policy: str) -> tuple[Recorded, dict[str, Any]]:
    record = Recorded()
    graph = build_graph(record)
    window = WindowSettings(policy=policy, max_tokens=BUDGET, keep_last_messages=4)  # type: ignore[arg-type]
    config: RunnableConfig = {
        "configurable": {"thread_id": uuid.uuid4().hex, CONTROLS_KEY: Controls(window=window)},
        "recursion_limit": 4 * TURNS_PER_RUN + 10,
    }
    for first in range(0, TURNS, TURNS_PER_RUN):
        values = graph.invoke(
            {"messages": [question(first)], "questions_left": TURNS_PER_RUN - 1}, config
        )
    return record, values


@pytest.mark.parametrize("policy", ["trim", "summarize"])
def test_a_300_turn_thread_stays_within_the_window_with_every_tool_call_answered(
    policy: str,
) -> None:
    record, values = run_thread(policy)

    assert len(values["messages"]) == 4 * TURNS  # state keeps everything; only calls are cut
    assert len(record.sent) == 2 * TURNS
    assert count_tokens([*SYSTEM, *values["messages"]]) > 30 * BUDGET
    for sent in record.sent:
        assert count_tokens(sent) <= BUDGET
        assert_pairs_whole(sent)
        conversation = [m for m in sent if not isinstance(m, SystemMessage)]
        assert isinstance(conversation[0], HumanMessage)
    assert all(event["over_budget"] is False for event in record.events)
    assert len(record.events) > 2 * TURNS - 20  # cut on all but the first few calls
    last = record.sent[-1]
    assert last[-1].id == values["messages"][-2].id  # the last call saw the last tool result
    if policy == "trim":
        assert record.folds == []
        assert not any(m.text.startswith(SUMMARY_PREFIX) for m in last)


def test_summarize_folds_rarely_and_always_from_the_previous_summary() -> None:
    record, values = run_thread("summarize")

    assert 0 < len(record.folds) <= TURNS // 5
    previous_texts = [previous for _, previous in record.folds]
    assert previous_texts == [None, *record.summaries[:-1]]  # each fold extends the last one
    assert sum(count for count, _ in record.folds) < len(values["messages"])  # folded once each
    assert values["window_summary"]["text"] == record.summaries[-1]
    first = next(i for i, sent in enumerate(record.sent) if sent[1].text.startswith(SUMMARY_PREFIX))
    assert first > 0 and all(
        sent[1].text.startswith(SUMMARY_PREFIX) for sent in record.sent[first:]
    )
    summary_in_last_call = record.sent[-1][1].text
    assert summary_in_last_call == SUMMARY_PREFIX + values["window_summary"]["text"]


# -- the same thread through the ReAct graph, whose model node applies the window ----------


class OrderId(BaseModel):
    """Which order."""

    order_id: str


@agent_tool(args_schema=OrderId, side_effects=False)
def order_history(order_id: str) -> str:
    """The full history of an order (long)."""
    return f"order {order_id}: " + "history " * 250


def scripted_agent(messages: list[BaseMessage]) -> AIMessage | str:
    """The agent's policy: summarise when asked to, else call the tool, then answer."""
    if messages and messages[0].text == SUMMARIZER_PROMPT:
        return f"{len(messages[-1].text)} characters of earlier talk about orders."
    last = messages[-1]
    if isinstance(last, HumanMessage):
        return tool_calls_reply(("order_history", {"order_id": last.text.split()[4]}))
    return f"That order shipped. {'details ' * 150}"


@functools.cache
def run_react_thread(policy: str) -> tuple[ScriptedChatModel, dict[str, Any]]:
    model = ScriptedChatModel(replies=[scripted_agent], cycle=True)
    window = WindowSettings(policy=policy, max_tokens=BUDGET, keep_last_messages=4)  # type: ignore[arg-type]
    runtime = PatternRuntime(checkpointer=InMemorySaver(), controls=Controls(window=window))
    graph = build_react_graph(model=model, tools=[order_history], runtime=runtime)
    config: RunnableConfig = {"configurable": {"thread_id": uuid.uuid4().hex}}
    for turn in range(TURNS):
        graph.invoke({"messages": [question(turn)]}, config)
    return model, dict(graph.get_state(config).values)


@pytest.mark.slow  # about 10 s a policy: each turn reloads the whole thread from the saver
@pytest.mark.parametrize("policy", ["trim", "summarize"])
def test_the_react_graph_keeps_a_300_turn_thread_within_the_window(policy: str) -> None:
    model, values = run_react_thread(policy)

    agent_calls = [c for c in model.calls if c.messages[0].text != SUMMARIZER_PROMPT]
    summarizer_calls = [c for c in model.calls if c.messages[0].text == SUMMARIZER_PROMPT]
    assert len(values["messages"]) == 4 * TURNS
    assert len(agent_calls) == 2 * TURNS
    assert count_tokens(values["messages"]) > 30 * BUDGET
    for call in agent_calls:
        assert count_tokens(call.messages) <= BUDGET
        assert_pairs_whole(call.messages)
        conversation = [m for m in call.messages if not isinstance(m, SystemMessage)]
        assert isinstance(conversation[0], HumanMessage)
    last_sent = agent_calls[-1].messages
    assert last_sent[-1].id == values["messages"][-2].id  # the last tool result
    if policy == "trim":
        assert summarizer_calls == []
        assert not any(m.text.startswith(SUMMARY_PREFIX) for m in last_sent)
    else:
        assert 0 < len(summarizer_calls) <= TURNS // 5
        stored = values[SUMMARY_CHANNEL]
        assert last_sent[1].text == SUMMARY_PREFIX + stored["text"]
        assert any(m.id == stored["through_id"] for m in values["messages"])
