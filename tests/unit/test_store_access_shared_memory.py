"""The server's store rules for the agents' shared memory match the graphs' own rule."""

from __future__ import annotations

import pytest

from nodes.shared_memory import shared_namespace
from tests.unit.test_knowledge_node import store_call


@pytest.fixture(autouse=True)
def ops_team(monkeypatch: pytest.MonkeyPatch) -> None:
    from checkpointers.budget_caps import InMemoryCapStore
    from server import store_access

    teams = InMemoryCapStore()
    teams.set_members("team:ops.eu", ["alice"])
    monkeypatch.setattr(store_access, "server_team_store", lambda: teams)


def test_the_projects_shared_memory_is_read_by_all_and_written_by_admins() -> None:
    project = shared_namespace("project")
    assert store_call("bob", "user", "search", project) == 200
    assert store_call("bob", "user", "get", project) == 200
    assert store_call("bob", "user", "put", project) == 403
    assert store_call("rita", "reviewer", "delete", project) == 403
    assert store_call("root", "admin", "put", project) == 200


def test_a_teams_shared_memory_belongs_to_its_members() -> None:
    team = shared_namespace("team:ops.eu")
    assert store_call("alice", "user", "search", team) == 200
    assert store_call("alice", "user", "put", team) == 200
    assert store_call("bob", "user", "search", team) == 403
    assert store_call("bob", "user", "put", team) == 403


def test_the_whole_shared_memory_root_cannot_be_listed_or_searched() -> None:
    assert store_call("alice", "user", "list_namespaces", ("shared_memory",)) == 403
    assert store_call("alice", "user", "search", ("shared_memory", "team:ops.eu", "x")) == 403
