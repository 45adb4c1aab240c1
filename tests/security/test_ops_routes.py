"""The operations API refuses unauthenticated, under-privileged and cross-user access.

The routes come from the served app itself (`server.app.app`): every route under ``/ops/api``
must be in `server.ops_routes.OPS_API` (method, path, least role), so a route added without an
entry there (and so without its checks) fails `test_every_ops_api_route_is_in_the_access_table`.
Each route is then called on the real server with no token, bad tokens, a role too low, and
another user's thread or dead letter (404: the same answer as an id that does not exist).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from checkpointers.dead_letters import DeadLetter, default_dead_letters
from checkpointers.factory import open_checkpointer
from server.app import app
from server.ops_routes import OPS_API, OPS_PAGES
from tests.integration.devserver import DevServer
from tests.security._server import status, thread_at_gate
from tests.security.test_authentication import BAD_HEADERS

pytestmark = [pytest.mark.server, pytest.mark.postgres]


def _served_ops_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the served app has under /ops/api (HEAD left out)."""
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/ops/api"):
            found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
    return found


def _fill(path: str, thread_id: str, letter_id: str) -> str:
    path = path.replace("{thread_id}", thread_id).replace("{letter_id}", letter_id)
    return re.sub(r"\{[^}]+\}", "model:nobody:nothing", path)


def _call(server: DevServer, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body: Any = {} if method == "POST" else None
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def alices(session_dev_server: DevServer, server_database: str) -> Iterator[dict[str, str]]:
    """Alice's thread waiting at the approval gate, and an open dead letter of hers."""
    import asyncio

    async def make_thread() -> str:
        async with session_dev_server.client("alice") as alice:
            return await thread_at_gate(alice)

    thread_id = asyncio.run(make_thread())
    with open_checkpointer(server_database) as saver:
        letter = default_dead_letters(saver).add(
            DeadLetter(
                source="worker",
                thread_id=thread_id,
                graph_id="react",
                owner="alice",
                error_class="retriable",
                error="TimeoutError: the model timed out",
            )
        )
    yield {"thread_id": thread_id, "letter_id": letter.id}


def test_every_ops_api_route_is_in_the_access_table() -> None:
    table = {(r.method, r.path) for r in OPS_API}
    assert _served_ops_routes() == table
    assert len(table) >= 12
    other = {
        r.path for r in app.routes if isinstance(r, Route) and not r.path.startswith("/ops/api")
    }
    assert other == set(OPS_PAGES), "a route of the app is neither an API route nor the page"


@pytest.mark.parametrize("credentials", ["none", "wrong token", "not bearer", "expired jwt"])
def test_every_ops_api_route_refuses_a_caller_without_a_valid_token(
    dev_server: DevServer, alices: dict[str, str], credentials: str
) -> None:
    wrong = {}
    for method, path in sorted(_served_ops_routes()):
        concrete = _fill(path, alices["thread_id"], alices["letter_id"])
        response = _call(dev_server, method, concrete, BAD_HEADERS[credentials])
        if response.status_code != 401:
            wrong[f"{method} {concrete}"] = (response.status_code, response.text[:120])
    assert not wrong, f"answered without a valid token ({credentials}): {wrong}"


def test_routes_above_a_users_role_are_refused(
    dev_server: DevServer, alices: dict[str, str]
) -> None:
    allowed = {"any": ("alice", "rita", "root"), "reviewer": ("rita", "root"), "admin": ("root",)}
    wrong = {}
    for route in OPS_API:
        path = _fill(route.path, alices["thread_id"], alices["letter_id"])
        for user in ("alice", "rita"):
            if user in allowed[route.access]:
                continue
            response = _call(dev_server, route.method, path, dev_server.headers(user))
            if response.status_code != 403:
                wrong[f"{user}: {route.method} {path}"] = (response.status_code, response.text)
    assert not wrong, wrong


def test_another_users_thread_and_dead_letter_are_not_found(
    dev_server: DevServer, alices: dict[str, str]
) -> None:
    """Bob gets 404 on every route naming alice's thread or letter (as for an unknown id)."""
    wrong = {}
    for route in OPS_API:
        if route.access != "any" or "{" not in route.path:
            continue
        for thread_id, letter_id in (
            (alices["thread_id"], alices["letter_id"]),
            (str(uuid.uuid4()), "dl-000000000000"),
        ):
            path = _fill(route.path, thread_id, letter_id)
            response = _call(dev_server, route.method, path, dev_server.headers("bob"))
            if response.status_code != 404:
                wrong[f"{route.method} {path}"] = (response.status_code, response.text[:160])
    assert not wrong, wrong
    assert dev_server.refunds() == []


def test_listings_show_a_user_only_their_own(dev_server: DevServer, alices: dict[str, str]) -> None:
    def listed(user: str, path: str, key: str, field: str) -> set[str]:
        response = httpx.get(dev_server.url + path, headers=dev_server.headers(user), timeout=60)
        assert response.status_code == 200, response.text
        return {str(item[field]) for item in response.json()[key]}

    runs = "/ops/api/runs?limit=500"
    assert alices["thread_id"] in listed("alice", runs, "runs", "thread_id")
    assert alices["thread_id"] not in listed("bob", runs, "runs", "thread_id")
    assert alices["thread_id"] in listed("rita", runs, "runs", "thread_id")
    spoofed = runs + "&user=alice"  # a user cannot widen their scope with a filter
    assert alices["thread_id"] not in listed("bob", spoofed, "runs", "thread_id")
    letters = "/ops/api/dead-letters?limit=500"
    assert alices["letter_id"] in listed("alice", letters, "dead_letters", "id")
    assert alices["letter_id"] not in listed("bob", letters, "dead_letters", "id")
    assert alices["letter_id"] in listed("root", letters, "dead_letters", "id")


def test_reviewers_see_but_only_owners_and_admins_retry(
    dev_server: DevServer, alices: dict[str, str]
) -> None:
    thread, letter = alices["thread_id"], alices["letter_id"]
    rita = dev_server.headers("rita")
    assert _call(dev_server, "GET", f"/ops/api/runs/{thread}", rita).status_code == 200
    assert _call(dev_server, "GET", f"/ops/api/dead-letters/{letter}", rita).status_code == 200
    for path in (f"/ops/api/runs/{thread}/retry", f"/ops/api/dead-letters/{letter}/retry"):
        response = _call(dev_server, "POST", path, rita)
        assert response.status_code == 403, response.text


def test_only_an_admin_retries_with_another_model(
    dev_server: DevServer, alices: dict[str, str]
) -> None:
    path = f"/ops/api/dead-letters/{alices['letter_id']}/retry"
    response = httpx.post(
        dev_server.url + path, json={"model": "demo"}, headers=dev_server.headers("alice")
    )
    assert response.status_code == 403, response.text
    assert "admin" in response.json()["detail"]


def test_discarding_needs_a_reason_and_records_the_admin(
    dev_server: DevServer, server_database: str
) -> None:
    with open_checkpointer(server_database) as saver:
        letter = default_dead_letters(saver).add(
            DeadLetter(source="event", error_class="fixable", error="bad JSON", payload="{oops")
        )
    path = f"{dev_server.url}/ops/api/dead-letters/{letter.id}/discard"
    root = dev_server.headers("root")
    for body in ({}, {"reason": "   "}, {"reason": 7}):
        response = httpx.post(path, json=body, headers=root)
        assert response.status_code == 400, response.text
    response = httpx.post(path, json={"reason": "malformed test event"}, headers=root)
    assert response.status_code == 200, response.text
    shown = response.json()["dead_letter"]
    assert (shown["status"], shown["resolved_by"]) == ("discarded", "root")
    assert shown["resolved_reason"] == "malformed test event"
    again = httpx.post(path, json={"reason": "twice"}, headers=root)
    assert again.status_code == 409, again.text


def test_identity_comes_from_the_token_not_the_request(dev_server: DevServer) -> None:
    headers = {**dev_server.headers("alice"), "x-user-id": "root", "x-role": "admin"}
    response = httpx.get(f"{dev_server.url}/ops/api/me?user_id=root&role=admin", headers=headers)
    assert response.json() == {"user_id": "alice", "role": "user"}


def test_the_console_page_is_open_and_holds_no_data(
    dev_server: DevServer, alices: dict[str, str]
) -> None:
    for path in OPS_PAGES:
        response = httpx.get(dev_server.url + path)
        assert response.status_code == 200, (path, response.text[:200])
        assert alices["thread_id"] not in response.text
    page = httpx.get(f"{dev_server.url}/ops/")
    assert "Authorization" in page.text and 'type="password"' in page.text
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_the_api_is_in_the_servers_openapi_document(dev_server: DevServer) -> None:
    """So the whole-API token test (test_authentication.py) calls these routes too."""
    spec = httpx.get(f"{dev_server.url}/openapi.json", headers=dev_server.headers("root")).json()
    documented = {
        (m.upper(), p) for p, ms in spec["paths"].items() for m in ms if p.startswith("/ops")
    }
    assert documented == {(r.method, r.path) for r in OPS_API}


def test_an_admin_forks_a_thread_which_stays_its_owners(
    dev_server: DevServer, alices: dict[str, str]
) -> None:
    thread = alices["thread_id"]
    path = f"{dev_server.url}/ops/api/runs/{thread}/fork"
    root = dev_server.headers("root")
    timeline = httpx.get(f"{dev_server.url}/ops/api/runs/{thread}/timeline", headers=root).json()
    steps = [e for e in timeline["timeline"]["events"] if e["kind"] == "step"]
    first = steps[0]["checkpoint_id"]  # before the model proposed the refund
    for body in (
        {},
        {"checkpoint_id": "nope"},
        {"checkpoint_id": first, "values": 3},
    ):
        response = httpx.post(path, json=body, headers=root, timeout=60)
        assert response.status_code == 400, (body, response.text)
    response = httpx.post(path, json={"checkpoint_id": first}, headers=root, timeout=60)
    assert response.status_code == 200, response.text
    fork = response.json()["fork"]
    assert fork["source_thread_id"] == thread and fork["thread_id"] != thread
    mine = httpx.get(
        f"{dev_server.url}/ops/api/runs/{fork['thread_id']}", headers=dev_server.headers("alice")
    )
    assert mine.status_code == 200 and mine.json()["owner"] == "alice", mine.text
    theirs = httpx.get(
        f"{dev_server.url}/ops/api/runs/{fork['thread_id']}", headers=dev_server.headers("bob")
    )
    assert theirs.status_code == 404
    assert dev_server.refunds() == []


async def test_a_reviewer_cannot_take_over_a_thread_by_naming_herself_owner_in_a_resume(
    dev_server: DevServer,
) -> None:
    """Run metadata flows into checkpoints: a resume stamped owner=rita must not make it hers.

    (It did: the ops API reads a thread's owner from its latest checkpoint, and alice lost
    her thread while rita could retry it. `server.run_policy` now refuses owner in a resume.)
    """
    async with dev_server.client("alice") as alice, dev_server.client("rita") as rita:
        thread_id = await thread_at_gate(alice)
        command: Any = {"resume": [{"type": "ignore", "reason": "not today"}]}
        stamped = rita.runs.wait(thread_id, "react", command=command, metadata={"owner": "rita"})
        assert await status(stamped) == 403
        await rita.runs.wait(thread_id, "react", command=command)
    async with httpx.AsyncClient(base_url=dev_server.url, timeout=60) as http:
        mine = await http.get(f"/ops/api/runs/{thread_id}", headers=dev_server.headers("alice"))
        assert mine.status_code == 200 and mine.json()["owner"] == "alice", mine.text
        retry = await http.post(
            f"/ops/api/runs/{thread_id}/retry", json={}, headers=dev_server.headers("rita")
        )
        assert retry.status_code == 403, retry.text


def test_a_retry_that_fails_again_is_reported_not_a_server_error(
    dev_server: DevServer, server_database: str
) -> None:
    from graphs.registry import build_graph
    from models.scripted import ScriptedChatModel
    from nodes.controls import Controls, RetrySettings
    from nodes.runtime import PatternRuntime

    thread_id = str(uuid.uuid4())
    once = RetrySettings(max_attempts=1, initial_delay_s=0, jitter=0)
    with open_checkpointer(server_database) as saver:
        runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=once))
        model = ScriptedChatModel(replies=[TimeoutError("the model timed out")])
        graph = build_graph("react", model=model, runtime=runtime)
        config: Any = {"configurable": {"thread_id": thread_id}, "metadata": {"owner": "alice"}}
        with pytest.raises(TimeoutError):
            graph.invoke({"messages": [("user", "Where is A-1001?")]}, config, durability="sync")
    response = httpx.post(
        f"{dev_server.url}/ops/api/runs/{thread_id}/retry",
        json={"model": "openai:gpt-4o-mini"},  # no API key on the test server
        headers=dev_server.headers("root"),
        timeout=120,
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["status"] == "failed" and "OPENAI_API_KEY" in result["error"], result
