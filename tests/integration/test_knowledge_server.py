"""Knowledge scopes through the server: two users and a team, enforced from authentication.

Knowledge is ingested through the server's own ``/store`` API (a `KnowledgeBase` over a
store that talks to it with a user's token): the project's and team ops' by the admin,
alice's and bob's by themselves. alice is in team ops through the team table the server keeps
beside its checkpoints. Through the SDK, alice's run of ``memory_agent`` (offline demo model)
retrieves and cites the project's, the team's and her own passages and never bob's; bob's
never the team's nor alice's. Direct ``/store`` reads of another user's or a foreign team's
namespace are refused with 403, and a user cannot write the project's scope.

The documents use words no other server test asks about (the server's store is shared by the
session) and are forgotten at the end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph_sdk import get_sync_client

from checkpointers.budget_caps_postgres import PostgresCapStore
from memory.knowledge import KnowledgeBase
from tests.integration.devserver import DevServer
from tests.security._server import status

pytestmark = [pytest.mark.server, pytest.mark.postgres]

GRAPH = "memory_agent"
DOCUMENTS = {
    "project": (
        "zephyr/limits.md",
        "# Zephyr quotas\n\nThe Zephyr gateway quota is 1000 calls per minute per workspace.",
        "root",
    ),
    "team:ops": (
        "zephyr/rota.md",
        "# Zephyr rota\n\nThe Zephyr pager rota rotates every Monday at 09:00.",
        "root",
    ),
    "user:alice": (
        "zephyr/alice.md",
        "# Alice Zephyr quota\n\nAlice's Zephyr sandbox quota is 50 calls per minute.",
        "alice",
    ),
    "user:bob": (
        "zephyr/bob.md",
        "# Bob Zephyr quota\n\nBob's Zephyr sandbox quota is 7 calls per minute.",
        "bob",
    ),
}
QUESTION = "What are the Zephyr quota and the Zephyr pager rota?"


class ServerStore(BaseStore):
    """A LangGraph store over the server's ``/store`` API, as one user (synchronous SDK)."""

    def __init__(self, server: DevServer, user: str) -> None:
        self.client = get_sync_client(url=server.url, api_key=None, headers=server.headers(user))

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._one(op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return self.batch(ops)

    def _one(self, op: Op) -> Result:
        store = self.client.store
        if isinstance(op, GetOp):
            try:
                found: Any = store.get_item(list(op.namespace), op.key)
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code == 404:
                    return None
                raise
            return _item(found) if found else None
        if isinstance(op, PutOp):
            if op.value is None:
                store.delete_item(list(op.namespace), op.key)
            else:
                index: Any = op.index
                store.put_item(list(op.namespace), op.key, op.value, index=index)
            return None
        if isinstance(op, SearchOp):
            page: Any = store.search_items(
                list(op.namespace_prefix),
                filter=op.filter,
                limit=op.limit,
                offset=op.offset,
                query=op.query,
            )
            return [_item(found, searched=True) for found in page["items"]]
        if isinstance(op, ListNamespacesOp):
            prefix = next(
                (c.path for c in op.match_conditions or () if c.match_type == "prefix"), ()
            )
            listed: Any = store.list_namespaces(
                prefix=list(prefix), max_depth=op.max_depth, limit=op.limit, offset=op.offset
            )
            return [tuple(namespace) for namespace in listed["namespaces"]]
        raise TypeError(f"unsupported store operation {type(op).__name__}")


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)) if value else datetime.now(UTC)


def _item(found: dict[str, Any], *, searched: bool = False) -> Item:
    common = {
        "namespace": tuple(found["namespace"]),
        "key": found["key"],
        "value": found["value"],
        "created_at": _time(found.get("created_at")),
        "updated_at": _time(found.get("updated_at")),
    }
    return SearchItem(**common, score=found.get("score")) if searched else Item(**common)


@pytest.fixture
def knowledge(dev_server: DevServer, server_database: str) -> Iterator[None]:
    """The four documents ingested through the API; alice in team ops; all forgotten after."""
    teams = PostgresCapStore(server_database)
    teams.set_members("team:ops", ["alice"])
    for scope, (source, text, writer) in DOCUMENTS.items():
        report = KnowledgeBase(ServerStore(dev_server, writer)).ingest_text(
            text, source=source, title=None, scope=scope, actor=writer
        )
        assert report.status in ("added", "replaced", "skipped"), report
    _wait_until_alice_reads_the_team(dev_server)
    try:
        yield
    finally:
        admin = KnowledgeBase(ServerStore(dev_server, "root"))
        for scope, (source, _, _) in DOCUMENTS.items():
            admin.forget(source, scope=scope)
        teams.set_members("team:ops", [])


def _wait_until_alice_reads_the_team(server: DevServer) -> None:
    """Wait for the server's team snapshot (at most a second old) to list alice in ops."""
    alice = ServerStore(server, "alice").client.store
    deadline = time.monotonic() + 15
    while True:
        try:
            alice.search_items(["knowledge", "team:ops"], limit=1)
            break
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 403 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    time.sleep(1.1)  # the graphs' own snapshot of the team table is at most a second old too


async def _ask(server: DevServer, user: str) -> dict[str, Any]:
    async with server.client(user) as client:
        thread = await client.threads.create()
        message: Any = {"messages": [{"role": "user", "content": QUESTION}]}
        context: Any = {"model": "demo", "remember": False}
        state: Any = await client.runs.wait(
            thread["thread_id"], GRAPH, input=message, context=context
        )
    return dict(state)


def _sources(state: dict[str, Any]) -> set[str]:
    return {passage["source"] for passage in state["retrieved_knowledge"]}


@pytest.mark.usefixtures("knowledge")
async def test_alice_retrieves_project_team_and_own_knowledge_and_cites_it(
    dev_server: DevServer,
) -> None:
    state = await _ask(dev_server, "alice")
    assert _sources(state) == {"zephyr/limits.md", "zephyr/rota.md", "zephyr/alice.md"}
    answer = state["messages"][-1]["content"]
    assert "[zephyr/limits.md#0]" in answer and "[zephyr/rota.md#0]" in answer, answer
    assert "zephyr/bob.md" not in answer and "7 calls" not in answer
    assert state["knowledge_check"]["status"] == "cited", state["knowledge_check"]


@pytest.mark.usefixtures("knowledge")
async def test_bob_never_sees_the_team_or_alices_knowledge(dev_server: DevServer) -> None:
    state = await _ask(dev_server, "bob")
    assert _sources(state) == {"zephyr/limits.md", "zephyr/bob.md"}
    answer = state["messages"][-1]["content"]
    assert "rota" not in answer.lower() and "Alice" not in answer
    assert state["knowledge_check"]["status"] == "cited"


@pytest.mark.usefixtures("knowledge")
async def test_direct_store_reads_and_writes_follow_the_scopes(dev_server: DevServer) -> None:
    key = uuid.uuid4().hex
    async with dev_server.client("alice") as alice, dev_server.client("bob") as bob:
        own = await alice.store.search_items(["knowledge", "user:alice"])
        team = await alice.store.search_items(["knowledge", "team:ops"])
        denied = {
            "bob reads alice": await status(bob.store.search_items(["knowledge", "user:alice"])),
            "bob reads the team": await status(bob.store.search_items(["knowledge", "team:ops"])),
            "bob's team sources": await status(
                bob.store.search_items(["knowledge_sources", "team:ops"])
            ),
            "alice reads bob": await status(alice.store.search_items(["knowledge", "user:bob"])),
            "every scope": await status(bob.store.search_items(["knowledge"])),
            "list all": await status(bob.store.list_namespaces(prefix=["knowledge"])),
            "project write": await status(
                alice.store.put_item(["knowledge", "project"], key, {"text": "planted"})
            ),
            "team write": await status(
                alice.store.put_item(["knowledge", "team:ops"], key, {"text": "planted"})
            ),
        }
        project = await bob.store.search_items(["knowledge", "project"])
    assert all(code == 403 for code in denied.values()), str(denied)
    assert {item["value"]["source"] for item in own["items"]} == {"zephyr/alice.md"}
    assert {item["value"]["source"] for item in team["items"]} == {"zephyr/rota.md"}
    assert "planted" not in {item["value"]["text"] for item in project["items"]}
