"""The memory agent on LangGraph's in-memory store: recall, remember, provenance, failure paths.

These runs use `InMemoryStore` with the offline hash embedding (the graph takes any
`BaseStore`); `tests/integration/test_memory_agent.py` runs the same agent on Chroma.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from demo.effects import read_effects
from demo.orders import order_tools
from graphs.memory_agent import build_memory_agent_graph
from memory import HashEmbeddings
from models import ScriptedChatModel, tool_calls_reply
from nodes.memory import EXTRACTION_PROMPT, fact_key
from nodes.runtime import PatternRuntime
from state.context import DEFAULT_SYSTEM_PROMPT
from tests.snapshots import assert_matches_snapshot

EMAIL_FACT = {"facts": [{"text": "Prefers email over phone calls", "category": "preference"}]}
NO_FACTS: dict[str, Any] = {"facts": []}


def hash_store() -> InMemoryStore:
    return InMemoryStore(index={"dims": 512, "embed": HashEmbeddings(), "fields": ["text"]})


def build(replies: list[Any], store: Any = None, **kwargs: Any) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    runtime = PatternRuntime(checkpointer=InMemorySaver(), store=store, **kwargs)
    graph = build_memory_agent_graph(tools=order_tools(), model=model, runtime=runtime)
    return graph, model


def ask(graph: Any, text: str, thread: str | None = None, **context: Any) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread or uuid.uuid4().hex}}
    return dict(graph.invoke({"messages": [HumanMessage(text)]}, config, context=context))


def system_prompt(model: ScriptedChatModel, call: int) -> str:
    first = model.calls[call].messages[0]
    assert isinstance(first, SystemMessage)
    return first.text


def test_graph_structure_snapshot() -> None:
    graph = build_memory_agent_graph(tools=order_tools(), model=ScriptedChatModel(replies=[]))
    assert_matches_snapshot("memory_agent", graph.get_graph().draw_mermaid())


def test_second_thread_recalls_into_the_system_prompt_and_other_users_do_not() -> None:
    store = hash_store()
    graph, model = build(
        ["Noted, email it is.", EMAIL_FACT, "I will email you.", NO_FACTS, "Sure.", NO_FACTS],
        store=store,
    )

    first = ask(graph, "Please only contact me by email, never by phone.", user_id="ana")
    assert first["recalled_memories"] == []
    [stored] = first["remembered"]
    assert stored["status"] == "stored" and stored["text"] == "Prefers email over phone calls"
    assert model.calls[1].structured_output == "ExtractedFacts"
    assert model.calls[1].messages[0].text == EXTRACTION_PROMPT
    assert [m.type for m in model.calls[1].messages] == ["system", "human"]  # the user's words

    second = ask(graph, "How will you contact me about the refund, email?", user_id="ana")
    [recalled] = second["recalled_memories"]
    assert recalled["text"] == "Prefers email over phone calls"
    assert recalled["score"] >= 0.2 and recalled["key"] == stored["key"]
    assert "- Prefers email over phone calls (noted " in system_prompt(model, 2)
    assert system_prompt(model, 2).startswith(DEFAULT_SYSTEM_PROMPT)  # the context's prompt stays

    other = ask(graph, "How will you contact me about the refund, email?", user_id="bob")
    assert other["recalled_memories"] == []
    assert "Prefers email" not in system_prompt(model, 4)


def test_provenance_and_restating_a_fact_updates_it() -> None:
    store = hash_store()
    same_fact = {"facts": [{"text": "prefers email over phone calls.", "category": "preference"}]}
    graph, _ = build(["ok", EMAIL_FACT, "ok", same_fact], store=store)

    ask(graph, "Email me, please.", thread="thread-1", user_id="ana")
    first = store.get(("memories", "ana"), fact_key("ana", "Prefers email over phone calls"))
    assert first is not None
    values = graph.get_state({"configurable": {"thread_id": "thread-1"}}).values
    source = values["messages"][0]
    assert first.value["thread_id"] == "thread-1"
    assert first.value["source_message_id"] == source.id and source.id
    assert first.value["user_id"] == "ana" and first.value["source"] == "remember_facts"
    assert first.value["recorded_at"].endswith("+00:00")

    ask(graph, "Again: email.", thread="thread-2", user_id="ana")
    [only] = store.search(("memories", "ana"))
    assert only.key == first.key and only.value["thread_id"] == "thread-2"
    # (InMemoryStore resets created_at on update; ChromaStore and Postgres keep it)


def test_recall_limit_and_threshold_come_from_the_context() -> None:
    store = hash_store()
    for i, text in enumerate(["likes green tea", "likes black tea", "likes tea with milk"]):
        store.put(("memories", "ana"), f"m{i}", {"text": text}, index=["text"])
    store.put(("memories", "ana"), "far", {"text": "lives in Berlin"}, index=["text"])
    graph, _ = build(["a", NO_FACTS] * 3, store=store)

    two = ask(graph, "which tea do I like", user_id="ana", recall_limit=2)
    assert len(two["recalled_memories"]) == 2
    everything = ask(graph, "which tea do I like", user_id="ana", recall_threshold=-1.0)
    assert {m["key"] for m in everything["recalled_memories"]} == {"m0", "m1", "m2", "far"}
    none = ask(graph, "which tea do I like", user_id="ana", recall_limit=0)
    assert none["recalled_memories"] == []


def test_remember_off_and_questions_are_not_facts() -> None:
    store = hash_store()
    question = {"facts": [{"text": "Where is my order?", "category": "other"}]}
    graph, model = build(["a", "b", question], store=store)

    off = ask(graph, "I love tea.", user_id="ana", remember=False)
    assert off["remembered"] == [] and len(model.calls) == 1  # no extraction call at all
    asked = ask(graph, "Where is my order?", user_id="ana")
    assert asked["remembered"] == []
    assert store.search(("memories", "ana")) == []


def test_a_failed_extraction_is_recorded_and_the_answer_stands() -> None:
    store = hash_store()
    invalid = {"facts": [{"text": ""}]}
    graph, model = build(["Here is your answer.", invalid, invalid], store=store)

    result = ask(graph, "I prefer email.", user_id="ana")

    assert result["messages"][-1].text == "Here is your answer."
    assert len(model.calls) == 3  # the answer, the extraction and its one re-ask
    [failed] = result["remembered"]
    assert failed["status"] == "failed" and "ValidationError" in failed["error"]
    assert failed["user_id"] == "ana" and failed["source_message_id"]
    assert store.search(("memories", "ana")) == []


def test_without_a_store_memory_is_off_and_the_agent_still_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph, model = build(["Answer without memory."])
    with caplog.at_level(logging.WARNING, logger="nodes.memory"):
        result = ask(graph, "I prefer email.", user_id="ana")
    assert result["messages"][-1].text == "Answer without memory."
    assert result["recalled_memories"] == [] and result["remembered"] == []
    assert len(model.calls) == 1


def test_the_authenticated_server_user_wins_over_the_context() -> None:
    store = hash_store()
    graph, _ = build(["ok", EMAIL_FACT], store=store)
    config = {"configurable": {"thread_id": "t", "langgraph_auth_user_id": "carol"}}
    graph.invoke({"messages": [HumanMessage("email me")]}, config, context={"user_id": "ana"})
    assert store.list_namespaces() == [("memories", "carol")]


def test_f05_an_authenticated_email_identity_wins_over_the_context() -> None:
    """Finding 5: an authenticated id with a '.' (an e-mail) used to fall back to the client's."""
    store = hash_store()
    graph, _ = build(["ok", EMAIL_FACT], store=store)
    config = {"configurable": {"thread_id": "t", "langgraph_auth_user_id": "carol@example.com"}}
    graph.invoke({"messages": [HumanMessage("email me")]}, config, context={"user_id": "ana"})
    assert store.list_namespaces() == [("memories", "carol@example%2Ecom")]


def test_tool_loop_and_approval_then_remember_runs_once() -> None:
    store = hash_store()
    refund = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
    fact = {"facts": [{"text": "Owns an electric kettle (order A-1001)", "category": "situation"}]}
    graph, model = build(
        [tool_calls_reply(refund), "Refund issued.", fact], store=store, tool_timeout_s=None
    )
    config = {"configurable": {"thread_id": "refund"}}
    question = {"messages": [HumanMessage("My kettle A-1001 arrived broken, refund it")]}
    context = {"user_id": "ana"}

    waiting = graph.invoke(question, config, context=context)
    assert "__interrupt__" in waiting and graph.get_state(config).next == ("approval_gate",)
    assert store.search(("memories", "ana")) == []  # nothing remembered before the answer

    done = graph.invoke(Command(resume="accept"), config, context=context)
    assert done["messages"][-1].text == "Refund issued."
    assert [r["text"] for r in done["remembered"]] == ["Owns an electric kettle (order A-1001)"]
    assert len(read_effects("refund")) == 1 and len(model.calls) == 3


def test_budget_stop_still_remembers() -> None:
    store = hash_store()
    lookup = tool_calls_reply(("lookup_order", {"order_id": "A-1001"}))
    fact = {"facts": [{"text": "Has order A-1001", "category": "situation"}]}
    graph, _ = build([lookup, lookup, fact], store=store, tool_timeout_s=None)

    result = ask(graph, "Tell me everything about A-1001", user_id="ana", max_steps=2)

    assert "step budget" in result["messages"][-1].text
    assert [r["text"] for r in result["remembered"]] == ["Has order A-1001"]
