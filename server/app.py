"""The routes LangGraph's auth leaves open, closed: ``http.app`` in ``langgraph.json``.

LangGraph applies custom auth to its API (assistants, threads, runs, crons, store, MCP,
A2A) but not to its "meta" routes. Its middleware (global: it sees
every request before LangGraph's own) handles those:

- ``/`` and ``/ok``: open, health checks for load balancers and the tests;
- ``/info``, ``/docs``, ``/openapi.json``: need a valid bearer token (401);
- ``/metrics``: this process's Prometheus metrics, for admins only (401, 403 for others;
  `server.metrics_route`: LangGraph's own ``/metrics`` would shadow an ``http.app`` route);
- ``/internal/...`` and ``/deploy...``: 404 always. ``langgraph dev``'s in-memory runtime
  serves these without any auth: ``POST /internal/truncate`` wipes every thread and run,
  ``GET /internal/debug/thread/{id}`` returns a raw thread, ``POST /deploy`` starts a
  ``langgraph deploy`` process.

Its one set of routes is the operations console, ``/ops/`` (open: the page holds no data)
and its API ``/ops/api/...`` (bearer token on every route; `server.ops_routes`).

CORS preflights (``OPTIONS``) pass through to LangGraph's CORS middleware.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.credentials import Credentials
from server.metrics_route import METRICS_PATH, install_server_metrics, metrics_response
from server.ops_routes import ops_routes

__all__ = ["CLOSED_PREFIXES", "OPEN_PATHS", "TOKEN_PATHS", "MetaRouteGuard", "app"]

OPEN_PATHS = frozenset({"/", "/ok"})
TOKEN_PATHS = frozenset({"/info", "/metrics", "/docs", "/openapi.json"})
CLOSED_PREFIXES = ("/internal", "/deploy")


class MetaRouteGuard:
    """ASGI middleware: token checks on meta routes, 404 on the debug and deploy routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.credentials = Credentials.from_env()
        install_server_metrics()  # built once, at startup, in the process running the graphs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer closed and unauthenticated meta requests; pass everything else on."""
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", "")).rstrip("/") or "/"
        if any(path == p or path.startswith(p + "/") for p in CLOSED_PREFIXES):
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        if path == METRICS_PATH:
            principal = self.credentials.principal(self._authorization(scope))
            await metrics_response(str(scope.get("method")), principal)(scope, receive, send)
            return
        if path in TOKEN_PATHS and not self._authorized(scope):
            response = JSONResponse(
                {"detail": "missing or invalid bearer token"},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        return self.credentials.principal(self._authorization(scope)) is not None

    @staticmethod
    def _authorization(scope: Scope) -> str | None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization")
        return authorization.decode("latin-1") if authorization else None


app = Starlette(routes=ops_routes(), middleware=[Middleware(MetaRouteGuard)])
