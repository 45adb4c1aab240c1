"""``/metrics`` through the server's own middleware (`server.app.MetaRouteGuard`), in process:
401 without a valid token, 403 for a user or reviewer, the Prometheus text for an admin.
The same checks run against a real `langgraph dev` in tests/integration/test_metrics_server.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from observability.events import emit, sinks_active
from observability.metrics import uninstall_metrics
from observability.metrics_snapshot import samples

TOKENS = {
    "root": "unit-token-root-0123456789",
    "alice": "unit-token-alice-0123456789",
    "rita": "unit-token-rita-0123456789",
}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv(
        "AGENT_PATTERNS_TOKENS",
        f"{TOKENS['root']}=root:admin,{TOKENS['alice']}=alice:user,{TOKENS['rita']}=rita:reviewer",
    )
    from server.app import MetaRouteGuard

    async def shadow(request: object) -> PlainTextResponse:  # LangGraph's own /metrics
        return PlainTextResponse("langgraph's own metrics")

    app = Starlette(routes=[Route("/metrics", shadow)], middleware=[Middleware(MetaRouteGuard)])
    uninstall_metrics()
    with TestClient(app) as test_client:
        yield test_client
    uninstall_metrics()
    assert not sinks_active()


def _get(client: TestClient, user: str | None, method: str = "GET") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {TOKENS[user]}"} if user else {}
    response = client.request(method, "/metrics", headers=headers)
    return response.status_code, response.text


def test_an_admin_reads_this_process_metrics_not_langgraphs(client: TestClient) -> None:
    client.get("/ok")  # the guard is built: the recorder is installed
    emit("run_finished", graph_id="react", outcome="success", latency_s=0.4)
    emit("tool_call", tool="lookup_order", success=True)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKENS['root']}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    assert [v for lb, v in found["agent_patterns_runs_total"] if lb["graph_id"] == "react"] == [1]
    assert "langgraph's own" not in response.text


@pytest.mark.parametrize(
    ("user", "headers"),
    [
        (None, {}),
        (None, {"Authorization": "Bearer unit-token-root-0123456780"}),
        (None, {"Authorization": f"Basic {TOKENS['root']}"}),
    ],
    ids=["none", "wrong token", "not bearer"],
)
def test_without_a_valid_token_it_is_401(
    client: TestClient, user: None, headers: dict[str, str]
) -> None:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "agent_patterns" not in response.text


@pytest.mark.parametrize("user", ["alice", "rita"])
def test_users_and_reviewers_get_403(client: TestClient, user: str) -> None:
    status, text = _get(client, user)
    assert status == 403 and "admins only" in text and "agent_patterns" not in text
    assert _get(client, user, "POST")[0] == 403  # the role is checked before anything else


def test_other_methods_are_refused_for_admins_too(client: TestClient) -> None:
    assert _get(client, "root", "POST")[0] == 405
    assert _get(client, "root", "DELETE")[0] == 405
    slash = client.get("/metrics/", headers={"Authorization": f"Bearer {TOKENS['alice']}"})
    assert slash.status_code == 403  # a trailing slash is the same route
