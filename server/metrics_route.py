"""``GET /metrics``: this server process's metrics in the Prometheus text format, for admins.

Metrics reveal every user's activity (runs per graph, tools called, approvals decided), so
only an ``admin`` token reads them: no or an invalid token is 401, a ``user`` or ``reviewer``
token 403. A Prometheus scrape job sends an admin's token as its bearer token
(``authorization: {credentials: ...}`` in ``prometheus.yml``).

`langgraph dev` has a ``/metrics`` route of its own (its queue and worker counters) that
shadows any route of the same path in ``http.app``, so `server.app.MetaRouteGuard` (the
middleware that sees every request first) answers the path with `metrics_response`.

The guard installs the process's metrics recorder (`install_server_metrics`, idempotent) when
the server builds its middleware, at startup, in the process that runs the graphs: every run
of this process is counted. Each server process serves its own numbers; behind several
processes, scrape each one. (Importing this module installs nothing, so tests and tools that
import the server's modules leave the events bus alone.)
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from observability.metrics import CONTENT_TYPE, install_metrics
from server.tokens import Principal

__all__ = ["METRICS_PATH", "install_server_metrics", "metrics_response"]

METRICS_PATH = "/metrics"
READ_ROLE = "admin"


def install_server_metrics() -> None:
    """Count this process's runs from now on (`observability.metrics.install_metrics`)."""
    install_metrics()


def metrics_response(method: str, principal: Principal | None) -> Response:
    """The answer to a request for `METRICS_PATH`.

    Args:
        method: the HTTP method (GET and HEAD are allowed).
        principal: whom the bearer token authenticates, None for no or an invalid token.

    Returns:
        401 without a valid token, 403 for a non-admin, 405 for another method, else 200
        with the Prometheus text of this process's recorder.
    """
    if principal is None:
        return JSONResponse(
            {"detail": "missing or invalid bearer token"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    if principal.role != READ_ROLE:
        return JSONResponse(
            {"detail": f"metrics are readable by admins only (you are a {principal.role})"},
            status_code=403,
        )
    if method not in ("GET", "HEAD"):
        return JSONResponse(
            {"detail": f"{method} is not allowed on {METRICS_PATH}"},
            status_code=405,
            headers={"allow": "GET, HEAD"},
        )
    body = install_metrics().prometheus_text()
    return Response(b"" if method == "HEAD" else body, media_type=CONTENT_TYPE)
