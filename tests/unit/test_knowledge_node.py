"""Knowledge in the memory agent: readable scopes, passages in the prompt, citations, grounded mode.

Runs on LangGraph's `InMemoryStore` with the offline hash embedding. Knowledge is ingested in
four scopes (project, team:ops, user:alice, user:bob); alice is in team ops through the team
table the budgets keep beside the checkpoints. The scripted model shows what the model was
sent; the demo-model test runs the offline default.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from demo.orders import order_tools
from graphs.memory_agent import build_memory_agent_graph
from memory import HashEmbeddings
from memory.knowledge import KnowledgeBase
from models import ScriptedChatModel, tool_calls_reply
from nodes.budget_caps import Budgets
from nodes.grounding import DECLINE_ANSWER, GROUNDED_ENV, check_citations
from nodes.knowledge import knowledge_scopes
from nodes.knowledge_tool import make_search_knowledge_tool
from nodes.runtime import PatternRuntime
from tools.registry import has_side_effects, injected_args

DOCUMENTS = {
    "project": (
        "handbook/api.md",
        "# API limits\n\nThe API rate limit is 1000 requests per minute per project.",
    ),
    "team:ops": (
        "ops/oncall.md",
        "# On-call\n\nThe ops on-call rotation changes every Monday at 09:00.",
    ),
    "user:alice": (
        "alice/notes.md",
        "# Alice notes\n\nAlice's staging rate limit override is 50 requests per minute.",
    ),
    "user:bob": (
        "bob/notes.md",
        "# Bob notes\n\nBob's secret staging rate limit override is 7 requests per minute.",
    ),
}
NO_MEMORY = {"remember": False}


def knowledge_store() -> InMemoryStore:
    store = InMemoryStore(index={"dims": 512, "embed": HashEmbeddings(), "fields": ["text"]})
    kb = KnowledgeBase(store)
    for scope, (source, text) in DOCUMENTS.items():
        kb.ingest_text(text, source=source, title=None, scope=scope)
    return store


def build(replies: list[Any], **options: Any) -> tuple[Any, ScriptedChatModel, InMemorySaver]:
    model = ScriptedChatModel(replies=replies)
    saver = InMemorySaver()
    Budgets.for_checkpointer(saver).set_team("ops", ["alice"])
    runtime = PatternRuntime(checkpointer=saver, store=knowledge_store())
    graph = build_memory_agent_graph(model=model, tools=order_tools(), runtime=runtime, **options)
    return graph, model, saver


def ask(graph: Any, text: str, *, auth_user: str | None = None, **context: Any) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": uuid.uuid4().hex}
    if auth_user is not None:  # what a LangGraph server writes for the authenticated user
        configurable["langgraph_auth_user_id"] = auth_user
    inputs = {"messages": [HumanMessage(text)]}
    return dict(
        graph.invoke(inputs, {"configurable": configurable}, context={**NO_MEMORY, **context})
    )


def system_prompt(model: ScriptedChatModel, call: int = 0) -> str:
    first = model.calls[call].messages[0]
    assert isinstance(first, SystemMessage)
    return first.text


def sources(result: dict[str, Any]) -> set[str]:
    return {p["source"] for p in result["retrieved_knowledge"]}


def test_alice_reads_project_team_and_own_knowledge_never_bobs() -> None:
    graph, model, _ = build(["ok"])
    result = ask(graph, "What is the rate limit, and the on-call rotation?", user_id="alice")
    assert sources(result) == {"handbook/api.md", "ops/oncall.md", "alice/notes.md"}
    prompt = system_prompt(model)
    assert "[handbook/api.md#0] API limits: The API rate limit is 1000" in prompt
    assert "[ops/oncall.md#0]" in prompt and "[alice/notes.md#0]" in prompt
    assert "Bob" not in prompt and "bob/notes.md" not in prompt


def test_bob_never_reads_the_team_or_alices_knowledge() -> None:
    graph, model, _ = build(["ok"])
    result = ask(graph, "What is the rate limit, and the on-call rotation?", user_id="bob")
    assert sources(result) == {"handbook/api.md", "bob/notes.md"}
    assert "on-call" not in system_prompt(model) and "Alice" not in system_prompt(model)


def test_the_authenticated_user_wins_over_the_context_user_id() -> None:
    graph, model, _ = build(["ok"])
    result = ask(graph, "What is my staging rate limit override?", auth_user="bob", user_id="alice")
    assert "alice/notes.md" not in sources(result)
    assert "bob/notes.md" in sources(result)


def test_scopes_come_from_the_team_table_beside_the_checkpoints() -> None:
    saver = InMemorySaver()
    Budgets.for_checkpointer(saver).set_team("ops", ["alice"])
    config: Any = {
        "configurable": {"langgraph_auth_user_id": "alice", "__pregel_checkpointer": saver}
    }
    assert knowledge_scopes(None, config) == ["project", "team:ops", "user:alice"]
    config["configurable"]["langgraph_auth_user_id"] = "bob"
    assert knowledge_scopes(None, config) == ["project", "user:bob"]


def test_irrelevant_passages_are_not_retrieved_and_zero_limit_retrieves_nothing() -> None:
    graph, model, _ = build(["ok", "ok"])
    unrelated = ask(graph, "Do you sell blue umbrellas?", user_id="alice")
    assert unrelated["retrieved_knowledge"] == []
    assert "Knowledge base passages" not in system_prompt(model, 0)
    assert unrelated["knowledge_check"]["status"] == "no_knowledge"
    off = ask(graph, "What is the rate limit?", user_id="alice", knowledge_limit=0)
    assert off["retrieved_knowledge"] == []


def test_an_answer_citing_a_retrieved_passage_is_checked_and_recorded() -> None:
    graph, _, _ = build(["The limit is 1000 requests per minute [handbook/api.md#0]."])
    result = ask(graph, "What is the API rate limit?", user_id="alice")
    check = result["knowledge_check"]
    assert check["status"] == "cited" and check["cited"] == ["[handbook/api.md#0]"]
    assert check["unknown"] == [] and check["grounded"] is False


def test_a_made_up_citation_is_flagged_outside_grounded_mode() -> None:
    graph, _, _ = build(["It is 7 per minute [bob/notes.md#0]."])
    result = ask(graph, "What is the API rate limit?", user_id="alice")
    assert result["knowledge_check"]["status"] == "unknown_citations"
    assert result["knowledge_check"]["unknown"] == ["[bob/notes.md#0]"]
    assert result["messages"][-1].text == "It is 7 per minute [bob/notes.md#0]."  # recorded only


def test_grounded_mode_declines_without_calling_the_model_when_nothing_is_relevant() -> None:
    graph, model, _ = build([])
    result = ask(graph, "Do you sell blue umbrellas?", user_id="alice", grounded=True)
    assert model.calls == []
    assert result["messages"][-1].text == DECLINE_ANSWER
    assert result["knowledge_check"]["status"] == "declined"
    assert result["knowledge_check"]["cited"] == []


def test_a_grounded_answer_cites_the_passages_it_uses() -> None:
    graph, model, _ = build(["1000 requests per minute [handbook/api.md#0]."])
    result = ask(graph, "What is the API rate limit?", user_id="alice", grounded=True)
    assert result["knowledge_check"]["status"] == "cited"
    assert "Answer only from these passages" in system_prompt(model)


def test_grounded_mode_asks_again_then_refuses_an_answer_that_does_not_cite() -> None:
    graph, model, _ = build(["About 1000.", "1000 [handbook/api.md#0].", "Maybe 1000.", "1000."])
    fixed = ask(graph, "What is the API rate limit?", user_id="alice", grounded=True)
    assert fixed["knowledge_check"]["status"] == "cited" and fixed["knowledge_check"]["asked_again"]
    assert "your draft cited none of the passages" in system_prompt(model, 1)
    refused = ask(graph, "What is the API rate limit?", user_id="alice", grounded=True)
    assert refused["knowledge_check"]["status"] == "refused"
    assert refused["messages"][-1].text.startswith("I could not give an answer grounded")


def test_the_operators_grounded_mode_cannot_be_turned_off_by_a_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph, model, _ = build([], grounded=True)
    result = ask(graph, "Do you sell blue umbrellas?", user_id="alice", grounded=False)
    assert result["knowledge_check"]["status"] == "declined" and model.calls == []
    monkeypatch.setenv(GROUNDED_ENV, "true")
    from_env, env_model, _ = build([])
    assert (
        ask(from_env, "Do you sell blue umbrellas?", grounded=False)["messages"][-1].text
        == DECLINE_ANSWER
    )
    assert env_model.calls == []


def test_a_client_cannot_lower_the_relevance_bar_under_the_operators_grounded_mode() -> None:
    # the attack: under the operator's grounded mode, a run asks for knowledge_min_score=0 so
    # that any passage counts as relevant and the agent never has to say it does not know
    graph, model, _ = build([], grounded=True)
    result = ask(graph, "Do you sell blue umbrellas?", user_id="alice", knowledge_min_score=0.0)
    assert result["knowledge_check"]["status"] == "declined" and model.calls == []
    assert result["retrieved_knowledge"] == []
    question = "What is the API rate limit for blue umbrellas?"  # relevant, only in part
    stricter = ask(graph, question, user_id="alice", knowledge_min_score=1.0)
    assert stricter["knowledge_check"]["status"] == "declined"  # a client may tighten it


def test_search_knowledge_tool_is_scoped_to_the_caller_and_its_passages_may_be_cited() -> None:
    search = tool_calls_reply(
        ("search_knowledge", {"query": "staging rate limit override", "k": 5})
    )
    graph, model, _ = build([search, "50 per minute [alice/notes.md#0]."])
    result = ask(graph, "Search the knowledge base please.", user_id="alice", knowledge_limit=0)
    [answer] = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    found = json.loads(answer.text)
    assert {p["citation"] for p in found} == {"[alice/notes.md#0]", "[handbook/api.md#0]"}
    assert result["knowledge_check"]["status"] == "cited"
    assert "search_knowledge" in model.calls[0].tools


def test_the_search_tool_takes_no_identity_from_the_model() -> None:
    tool = make_search_knowledge_tool()
    assert set(tool.tool_call_schema.model_json_schema()["properties"]) == {"query", "k"}  # type: ignore[union-attr]
    assert injected_args(tool) == ["runtime"] and not has_side_effects(tool)


def test_check_citations_statuses() -> None:
    assert check_citations("no cites", [])["status"] == "no_knowledge"
    assert check_citations("no cites", ["[a.md#0]"])["status"] == "uncited"
    assert check_citations("[a.md#0] and [b.md#1]", ["[a.md#0]"])["status"] == "unknown_citations"


def test_without_knowledge_the_graph_is_the_memory_agent_of_before() -> None:
    graph = build_memory_agent_graph(model=ScriptedChatModel(replies=[]), knowledge=False)
    assert "retrieve_knowledge" not in graph.get_graph().nodes


# -- the server's store rules for knowledge namespaces ------------------------------------------


def store_call(user: str, role: str, action: str, namespace: tuple[str, ...]) -> int:
    """The status `server.store_access.store_handler` answers (200: allowed)."""
    from langgraph_sdk.auth.exceptions import HTTPException
    from langgraph_sdk.auth.types import AuthContext, StudioUser

    from server.store_access import store_handler

    identity: Any = StudioUser(user)
    ctx = AuthContext(
        permissions=[f"role:{role}"],
        user=identity,
        resource="store",
        action=action,  # type: ignore[arg-type]
    )
    try:
        asyncio.run(store_handler(ctx, {"namespace": namespace}))
    except HTTPException as exc:
        return exc.status_code
    return 200


@pytest.fixture
def ops_team(monkeypatch: pytest.MonkeyPatch) -> None:
    from checkpointers.budget_caps import InMemoryCapStore
    from server import store_access

    teams = InMemoryCapStore()
    teams.set_members("team:ops", ["alice", "rita"])
    monkeypatch.setattr(store_access, "server_team_store", lambda: teams)


@pytest.mark.usefixtures("ops_team")
def test_store_reads_follow_the_readable_scopes() -> None:
    for root in ("knowledge", "knowledge_sources"):
        assert store_call("alice", "user", "search", (root, "project")) == 200
        assert store_call("alice", "user", "search", (root, "team:ops")) == 200
        assert store_call("alice", "user", "get", (root, "user:alice")) == 200
        assert store_call("alice", "user", "search", (root, "user:bob")) == 403
        assert store_call("bob", "user", "search", (root, "team:ops")) == 403
        assert store_call("bob", "user", "list_namespaces", (root,)) == 403
    assert store_call("bob", "user", "search", ("knowledge", "not-a-scope")) == 403
    assert store_call("root", "admin", "search", ("knowledge", "user:bob")) == 200


@pytest.mark.usefixtures("ops_team")
def test_store_writes_follow_the_roles() -> None:
    assert store_call("alice", "user", "put", ("knowledge", "user:alice")) == 200
    assert store_call("alice", "user", "put", ("knowledge", "project")) == 403
    assert store_call("alice", "user", "put", ("knowledge", "team:ops")) == 403  # a user
    assert store_call("rita", "reviewer", "delete", ("knowledge", "team:ops")) == 200
    assert store_call("rita", "reviewer", "put", ("knowledge", "team:sales")) == 403
    assert store_call("root", "admin", "put", ("knowledge", "project")) == 200


@pytest.mark.usefixtures("ops_team")
def test_other_namespaces_keep_the_own_namespace_rule() -> None:
    assert store_call("alice", "user", "put", ("memories", "alice")) == 200
    assert store_call("alice", "user", "get", ("memories", "bob")) == 403
    assert store_call("alice", "user", "search", ("memories",)) == 403


def test_the_offline_demo_model_quotes_and_cites_the_passages() -> None:
    saver = InMemorySaver()
    runtime = PatternRuntime(checkpointer=saver, store=knowledge_store())
    graph = build_memory_agent_graph(tools=order_tools(), runtime=runtime)
    result = ask(graph, "What is the API rate limit per project?", model="demo", user_id="bob")
    answer = result["messages"][-1].text
    assert (
        "The API rate limit is 1000 requests per minute per project. [handbook/api.md#0]" in answer
    )
    assert "[bob/notes.md#0]" in answer  # his override shares "rate limit" with the request
    assert result["knowledge_check"]["status"] == "cited"
    assert result["knowledge_check"]["unknown"] == []
    declined = ask(graph, "Do you sell blue umbrellas?", model="demo", grounded=True)
    assert declined["messages"][-1].text == DECLINE_ANSWER
