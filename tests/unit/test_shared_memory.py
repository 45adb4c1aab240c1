"""Shared memory across agents in the supervisor and the swarm, with scripted models.

Writers record notes with ``remember_shared``; every agent reads the notes in its system
prompt; the writing agent's name comes from the graph; team scopes are isolated, and on a
server the authenticated identity decides which scope a run may use.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from checkpointers.budget_caps import default_cap_store
from graphs.supervisor import build_supervisor_graph
from graphs.swarm import build_swarm_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.shared_memory import record_shared_note, shared_access, shared_namespace
from state.agent_spec import AgentSpec
from state.shared_memory import SharedMemoryContext

FINDING = "Damaged items are refunded in full within 30 days (policy 4.2)."
REMEMBER = ("remember_shared", {"note": FINDING})


def delegate(worker: str, task: str) -> tuple[str, dict[str, Any]]:
    return (f"delegate_to_{worker}", {"task": task})


def new_config(**configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex, **configurable}}


def team(
    researcher: list[Any], writer: list[Any], boss: list[Any]
) -> tuple[list[AgentSpec], dict[str, ScriptedChatModel]]:
    models = {
        "researcher": ScriptedChatModel(replies=researcher),
        "writer": ScriptedChatModel(replies=writer),
        "boss": ScriptedChatModel(replies=boss),
    }
    agents = [
        AgentSpec(
            "researcher",
            "finds facts",
            instructions="You research.",
            model=models["researcher"],
            shared_memory="write",
        ),
        AgentSpec("writer", "writes summaries", instructions="You write.", model=models["writer"]),
    ]
    return agents, models


def supervisor(
    agents: list[AgentSpec], boss: ScriptedChatModel, store: InMemoryStore, saver: Any = None
) -> Any:
    return build_supervisor_graph(
        agents, model=boss, checkpointer=saver or InMemorySaver(), store=store
    )


def ask(app: Any, config: dict[str, Any], text: str, **kw: Any) -> dict[str, Any]:
    return dict(app.invoke({"messages": [HumanMessage(text)]}, config, **kw))


def system_prompt(model: ScriptedChatModel, call: int = 0) -> str:
    first = model.calls[call].messages[0]
    assert isinstance(first, SystemMessage)
    return first.text


def notes(store: InMemoryStore, scope: str = "project") -> list[dict[str, Any]]:
    return [item.value for item in store.search(shared_namespace(scope), limit=50)]


def test_supervisor_writer_records_and_a_reader_sees_it_in_this_run_and_the_next() -> None:
    agents, models = team(
        researcher=[tool_calls_reply(REMEMBER), "Full refund for damaged items."],
        writer=["Summary: full refund.", "Second summary: full refund."],
        boss=[
            tool_calls_reply(delegate("researcher", "Find the damaged-items policy.")),
            tool_calls_reply(delegate("writer", "Summarise the damaged-items refund policy.")),
            "Done.",
            tool_calls_reply(delegate("writer", "Write a refund policy summary again.")),
            "Done again.",
        ],
    )
    store = InMemoryStore()
    app = supervisor(agents, models["boss"], store)
    first = new_config()

    ask(app, first, "Summarise our damaged-items policy.")

    assert models["researcher"].calls[0].tools == ["remember_shared"]
    assert models["writer"].calls[0].tools == []  # a reader has no write tool
    assert system_prompt(models["researcher"]).startswith("You research.")
    seen = system_prompt(models["writer"])
    assert seen.startswith("You write.\n\nShared memory of your team (project)")
    assert "[researcher, " in seen and FINDING in seen
    [stored] = notes(store)
    assert stored["agent"] == "researcher" and stored["text"] == FINDING
    assert stored["thread_id"] == first["configurable"]["thread_id"]
    assert stored["scope"] == "project" and stored["user_id"] is None

    ask(app, new_config(), "Again, please.")  # a later run, another thread

    assert FINDING in system_prompt(models["writer"], call=1)


def test_a_forged_write_call_to_a_reader_is_refused_and_nothing_is_stored() -> None:
    forged = tool_calls_reply(("remember_shared", {"note": "The writer says: refunds are off."}))
    agents, models = team(
        researcher=[],
        writer=[forged, "I cannot record notes."],
        boss=[tool_calls_reply(delegate("writer", "Write the summary.")), "Done."],
    )
    store = InMemoryStore()
    app = supervisor(agents, models["boss"], store)

    ask(app, new_config(), "Summarise.")

    answer = models["writer"].calls[1].messages[-1]
    assert isinstance(answer, ToolMessage) and answer.status == "error"
    assert "remember_shared" in answer.text
    assert notes(store) == []


def test_the_note_carries_the_graphs_agent_name_not_one_from_the_call() -> None:
    claims = tool_calls_reply(("remember_shared", {"note": FINDING, "agent": "writer"}))
    agents, models = team(
        researcher=[claims, "Noted."],
        writer=[],
        boss=[tool_calls_reply(delegate("researcher", "Find the policy.")), "Done."],
    )
    store = InMemoryStore()
    app = supervisor(agents, models["boss"], store)

    ask(app, new_config(), "Find the policy.")

    answer = models["researcher"].calls[1].messages[-1]
    assert answer.text == "Recorded in the shared memory (project) as researcher's note."
    assert [n["agent"] for n in notes(store)] == ["researcher"]


def test_swarm_handoff_target_reads_what_the_previous_agent_wrote() -> None:
    shipping_model = ScriptedChatModel(
        replies=[
            tool_calls_reply(
                ("remember_shared", {"note": "Order A-1001 arrived broken on 12 Nov."}),
                ("transfer_to_billing", {"reason": "a refund"}),
            )
        ]
    )
    billing_model = ScriptedChatModel(replies=["Billing here: refunding A-1001."])
    agents = [
        AgentSpec(
            "shipping",
            "deliveries",
            instructions="You are shipping.",
            model=shipping_model,
            shared_memory="write",
        ),
        AgentSpec("billing", "refunds", instructions="You are billing.", model=billing_model),
    ]
    store = InMemoryStore()
    app = build_swarm_graph(agents, checkpointer=InMemorySaver(), store=store)

    result = ask(app, new_config(), "My order A-1001 arrived broken, I want my money back.")

    assert result["active_agent"] == "billing"
    assert shipping_model.calls[0].tools == ["transfer_to_billing", "remember_shared"]
    assert billing_model.calls[0].tools == ["transfer_to_shipping"]
    seen = system_prompt(billing_model)
    assert seen.startswith("You are billing.")
    assert "[shipping, " in seen and "Order A-1001 arrived broken on 12 Nov." in seen
    assert [n["agent"] for n in notes(store)] == ["shipping"]


def test_team_scopes_are_isolated() -> None:
    agents, models = team(
        researcher=[tool_calls_reply(REMEMBER), "Found."],
        writer=["Team B summary.", "Team A summary."],
        boss=[
            tool_calls_reply(delegate("researcher", "Find the policy.")),
            "Done.",
            tool_calls_reply(delegate("writer", "Summarise the refund policy.")),
            "Done.",
            tool_calls_reply(delegate("writer", "Summarise the refund policy.")),
            "Done.",
        ],
    )
    store = InMemoryStore()
    app = supervisor(agents, models["boss"], store)

    ask(app, new_config(), "Research.", context={"shared_memory_scope": "team:a"})
    ask(app, new_config(), "Write.", context={"shared_memory_scope": "team:b"})
    ask(app, new_config(), "Write.", context={"shared_memory_scope": "team:a"})

    assert [n["agent"] for n in notes(store, "team:a")] == ["researcher"]
    assert notes(store, "team:b") == notes(store, "project") == []
    assert system_prompt(models["writer"], call=0) == "You write."  # team B: nothing
    assert FINDING in system_prompt(models["writer"], call=1)  # team A: the note


def test_on_a_server_a_member_writes_their_team_and_another_team_is_refused() -> None:
    saver = InMemorySaver()
    default_cap_store(saver).set_members("team:a", ["alice"])
    agents, models = team(
        researcher=[tool_calls_reply(REMEMBER), "Found."],
        writer=[],
        boss=[
            tool_calls_reply(delegate("researcher", "Find the policy.")),
            "Done.",
            tool_calls_reply(delegate("writer", "Summarise.")),
            "The writer could not start.",
        ],
    )
    store = InMemoryStore()
    app = supervisor(agents, models["boss"], store, saver)
    alice = {"langgraph_auth_user_id": "alice", "langgraph_auth_permissions": ["role:user"]}
    bob = {"langgraph_auth_user_id": "bob", "langgraph_auth_permissions": ["role:user"]}
    team_a = {"shared_memory_scope": "team:a"}

    ask(app, new_config(**alice), "Research.", context=team_a)
    refused = ask(app, new_config(**bob), "Write.", context=team_a)

    [stored] = notes(store, "team:a")
    assert stored["user_id"] == "alice" and stored["agent"] == "researcher"
    [failed] = [m for m in refused["messages"] if isinstance(m, ToolMessage)]
    assert failed.status == "error" and "'bob' is not a member" in failed.text
    assert models["writer"].calls == []  # refused before its model saw anything


def test_on_a_server_only_admins_runs_write_the_project_memory() -> None:
    agents, models = team(
        researcher=[tool_calls_reply(REMEMBER), "Found.", tool_calls_reply(REMEMBER), "Found."],
        writer=[],
        boss=[
            tool_calls_reply(delegate("researcher", "Find the policy.")),
            "Done.",
            tool_calls_reply(delegate("researcher", "Find the policy.")),
            "Done.",
        ],
    )
    store = InMemoryStore()
    app = supervisor(agents, models["boss"], store)
    user = {"langgraph_auth_user_id": "carol", "langgraph_auth_permissions": ["role:user"]}
    admin = {"langgraph_auth_user_id": "root", "langgraph_auth_permissions": ["role:admin"]}

    ask(app, new_config(**user), "Research.")
    refused = models["researcher"].calls[1].messages[-1]
    assert refused.text == ("Not recorded: only admins' runs write the project's shared memory.")
    assert notes(store) == []

    ask(app, new_config(**admin), "Research.")
    assert [n["user_id"] for n in notes(store)] == ["root"]


def test_notes_are_keyed_by_content_so_a_repeated_note_is_one_item() -> None:
    store = InMemoryStore()
    first = record_shared_note(store, "team:a", agent="researcher", text=FINDING)
    again = record_shared_note(store, "team:a", agent="researcher", text=f"  {FINDING.upper()} ")
    other = record_shared_note(store, "team:a", agent="writer", text=FINDING)
    assert first["key"] == again["key"] != other["key"]
    assert len(notes(store, "team:a")) == 2


def test_invalid_declarations_and_scopes_are_refused() -> None:
    with pytest.raises(ValueError, match="shared_memory must be 'read' or 'write'"):
        AgentSpec("a", "x", shared_memory="admin")  # type: ignore[arg-type]
    compiled = build_supervisor_graph([AgentSpec("b", "y")])
    with pytest.raises(ValueError, match="no remember_shared tool"):
        AgentSpec("c", "z", graph=compiled, shared_memory="write")
    with pytest.raises(ValueError, match="'project' or 'team:<id>'"):
        SharedMemoryContext(shared_memory_scope="user:ana")
    with pytest.raises(ValueError, match="'project' or 'team:<id>'"):
        shared_access("team:")
