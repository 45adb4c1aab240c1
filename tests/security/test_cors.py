"""Finding 1: a web page from a foreign origin gets no CORS permission to call the server.

The test server allows one origin (`TEST_CORS_ORIGIN`, configured as
``AGENT_PATTERNS_CORS_ORIGINS``). A preflight or a request from any other origin gets no
``access-control-allow-origin`` header, so a browser will not let the page read or send.
"""

from __future__ import annotations

import httpx
import pytest

from tests.integration.devserver import TEST_CORS_ORIGIN, DevServer

pytestmark = [pytest.mark.server, pytest.mark.postgres]


def _preflight(server: DevServer, origin: str, path: str = "/threads/search") -> httpx.Response:
    return httpx.options(
        server.url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:3000"])
def test_f01_a_foreign_origin_gets_no_cors_permission(dev_server: DevServer, origin: str) -> None:
    for path in ("/threads/search", "/runs/wait", "/store/items/search", "/info"):
        preflight = _preflight(dev_server, origin, path)
        assert "access-control-allow-origin" not in preflight.headers, (path, preflight.headers)
    response = httpx.post(
        f"{dev_server.url}/assistants/search",
        json={},
        headers={"Origin": origin, **dev_server.headers("alice")},
    )
    assert "access-control-allow-origin" not in response.headers, response.headers


def test_f01_the_configured_origin_may_call(dev_server: DevServer) -> None:
    preflight = _preflight(dev_server, TEST_CORS_ORIGIN)
    assert preflight.headers.get("access-control-allow-origin") == TEST_CORS_ORIGIN
    assert "access-control-allow-credentials" not in preflight.headers
