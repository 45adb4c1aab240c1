"""Finding 1: without a valid bearer token, nothing but the health check answers.

Every route of the server's own OpenAPI document is called with no token, a wrong token, a
malformed header, Studio's ``x-auth-scheme: langsmith`` (which `langgraph dev` otherwise
lets through as a "Studio user") and an expired or forged JWT: each must answer 401. The
meta routes LangGraph leaves outside its auth are checked too, and the in-memory runtime's
unauthenticated debug and deploy routes must be gone.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.devserver import TEST_JWT_SECRET, DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]

OPEN_ROUTES = [("GET", "/"), ("GET", "/ok"), ("GET", "/ops/")]
"""Open on purpose: health checks (load balancers, the test harness) and the operations
console's page, which holds no data and asks for a token (its API under /ops/api is not open:
tests/security/test_ops_routes.py)."""
META_ROUTES = [("GET", "/info"), ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/openapi.json")]
CLOSED_ROUTES = [
    ("POST", "/internal/truncate"),
    ("GET", "/internal/debug/thread/00000000-0000-0000-0000-000000000000"),
    ("GET", "/deploy"),
    ("POST", "/deploy"),
    ("GET", "/deploy/00000000-0000-0000-0000-000000000000/stream"),
]
UUID = "00000000-0000-4000-8000-000000000000"


def _token(user: str, role: str, *, expires_in: float = 300, secret: str = TEST_JWT_SECRET) -> str:
    claims = {"sub": user, "role": role, "exp": int(time.time() + expires_in)}
    return jwt.encode(claims, secret, algorithm="HS256")


def _api_routes(server: DevServer) -> list[tuple[str, str]]:
    """Every (method, path) of the server's OpenAPI document, path parameters filled in.

    The health checks and the closed debug and deploy routes are left out (they are
    checked by `test_f01_health_checks_stay_open_and_debug_routes_are_gone`).
    """
    spec = httpx.get(f"{server.url}/openapi.json", headers=server.headers("root")).json()
    routes = []
    for path, methods in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", UUID, path)
        if path in ("/", "/ok") or path.startswith(("/internal", "/deploy")):
            continue
        routes += [(method.upper(), concrete) for method in methods if method != "parameters"]
    assert len(routes) > 40, routes  # sanity: the whole API, not a stub
    return routes


def _call(server: DevServer, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body: Any = {} if method in ("POST", "PUT", "PATCH") else None
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=30)


BAD_HEADERS = {
    "none": {},
    "wrong token": {"Authorization": "Bearer test-token-alice-0123456780"},
    "not bearer": {"Authorization": "Basic dGVzdDp0ZXN0"},
    "bare scheme": {"Authorization": "Bearer"},
    "studio scheme": {"x-auth-scheme": "langsmith"},
    "expired jwt": {"Authorization": f"Bearer {_token('mallory', 'admin', expires_in=-60)}"},
    "jwt, wrong key": {
        "Authorization": f"Bearer {_token('mallory', 'admin', secret='x' * 40)}",
    },
    "jwt, alg none": {
        "Authorization": "Bearer "
        + jwt.encode({"sub": "mallory", "role": "admin", "exp": 2**40}, None, algorithm="none"),
    },
}


@pytest.mark.parametrize("credentials", sorted(BAD_HEADERS))
def test_f01_every_api_route_refuses_a_caller_without_a_valid_token(
    dev_server: DevServer, credentials: str
) -> None:
    wrong = {}
    for method, path in _api_routes(dev_server) + META_ROUTES:
        response = _call(dev_server, method, path, BAD_HEADERS[credentials])
        if response.status_code != 401:
            wrong[f"{method} {path}"] = (response.status_code, response.text[:120])
    assert not wrong, f"answered without a valid token ({credentials}): {wrong}"


def test_f01_health_checks_stay_open_and_debug_routes_are_gone(dev_server: DevServer) -> None:
    for method, path in OPEN_ROUTES:
        assert _call(dev_server, method, path, {}).status_code == 200, path
    for method, path in CLOSED_ROUTES:  # 404 even for an admin: nobody needs them
        for headers in ({}, dev_server.headers("root")):
            response = _call(dev_server, method, path, headers)
            assert response.status_code == 404, (method, path, response.text[:200])


def test_f01_a_valid_token_or_jwt_is_accepted(dev_server: DevServer) -> None:
    for headers in (
        dev_server.headers("alice"),
        {"Authorization": f"Bearer {_token('carol@example.com', 'user')}"},
    ):
        response = httpx.post(f"{dev_server.url}/assistants/search", json={}, headers=headers)
        assert response.status_code == 200, response.text
        assert httpx.get(f"{dev_server.url}/info", headers=headers).status_code == 200


def test_f01_a_jwt_without_a_known_role_is_refused(dev_server: DevServer) -> None:
    token = _token("mallory", "superuser")
    response = httpx.post(
        f"{dev_server.url}/threads/search", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401, response.text
