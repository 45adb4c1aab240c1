"""``agent-patterns metrics``: a readable snapshot of a server's metrics (``GET /metrics``).

- ``metrics``: runs per pattern (outcomes, success rate, p50/p95/p99 latency from the
  histogram buckets), models (calls, tokens, cost), tools (calls, failures), approvals
  (requested, pending, decided, wait), budget stops, fallbacks and breakers;
- ``metrics --raw``: the Prometheus text as the server sent it.

The server is ``--url`` (default ``AGENT_PATTERNS_URL``, else ``http://127.0.0.1:2024``, where
``make serve`` listens); the bearer token ``AGENT_PATTERNS_TOKEN`` (or ``--token``, which other
users of the machine can see in the process list). Metrics are for admins: a user's or a
reviewer's token is refused (403). A server process counts its own runs: behind several
processes, each answers for itself.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

import httpx

from cli.errors import CliError
from observability.metrics_snapshot import parse_snapshot, render_snapshot

__all__ = ["DEFAULT_URL", "TOKEN_ENV", "URL_ENV", "add_metrics_command", "fetch_metrics"]

URL_ENV = "AGENT_PATTERNS_URL"
TOKEN_ENV = "AGENT_PATTERNS_TOKEN"
DEFAULT_URL = "http://127.0.0.1:2024"
TIMEOUT_S = 30.0


def fetch_metrics(url: str, token: str | None) -> str:
    """The Prometheus text of the server at `url`, read with bearer `token`.

    Raises:
        CliError: no token, the server cannot be reached, or it refuses the request.
    """
    if not token:
        raise CliError(f"no token: set {TOKEN_ENV} to an admin's bearer token (or pass --token)")
    endpoint = url.rstrip("/") + "/metrics"
    try:
        response = httpx.get(
            endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the server at {url}: {exc}; is it running?") from exc
    if response.status_code == 401:
        raise CliError(f"{url} refused the token (401): check {TOKEN_ENV}")
    if response.status_code == 403:
        raise CliError(f"{url} serves metrics to admins only (403): use an admin's token")
    if response.status_code != 200:
        raise CliError(f"{endpoint} answered {response.status_code}: {response.text[:200]}")
    return response.text


def _metrics(args: argparse.Namespace, out: TextIO) -> int:
    url = args.url or os.environ.get(URL_ENV) or DEFAULT_URL
    text = fetch_metrics(url, args.token or os.environ.get(TOKEN_ENV))
    if args.raw:
        out.write(text)
        return 0
    try:
        snapshot = parse_snapshot(text)
    except ValueError as exc:
        raise CliError(f"{url}/metrics did not answer in the Prometheus format: {exc}") from exc
    out.write(f"Metrics of {url} (this server process since it started)\n\n")
    out.write(render_snapshot(snapshot))
    return 0


def add_metrics_command(commands: Any) -> None:
    """Register ``metrics [--url URL] [--token TOKEN] [--raw]`` on the CLI's subparsers."""
    metrics = commands.add_parser(
        "metrics", help="a server's metrics: runs, latency p50/p95/p99, tokens, cost, tools"
    )
    metrics.add_argument("--url", help=f"the server (default ${URL_ENV} or {DEFAULT_URL})")
    metrics.add_argument("--token", help=f"an admin's bearer token (default ${TOKEN_ENV})")
    metrics.add_argument("--raw", action="store_true", help="print the Prometheus text as is")
    metrics.set_defaults(run=_metrics)
