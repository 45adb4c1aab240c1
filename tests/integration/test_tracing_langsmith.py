"""LangSmith tracing, offline: a local HTTP server stands in for the LangSmith endpoint.

A graph runs in a subprocess with ``AGENT_PATTERNS_TRACING=langsmith`` and
``LANGSMITH_ENDPOINT`` pointing here. The stand-in accepts what the client sends (``GET
/info``, ``POST /runs``, ``/runs/batch``, multipart ``/runs/multipart``, ``PATCH /runs/<id>``)
and the test reads the runs back: the graph's run named after the pattern with its tags and
metadata (thread, user, graph id, pattern, model spec), a run per node, and no e-mail address
or card number anywhere in what left the process.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"

SCRIPT = textwrap.dedent(
    """
    import sys
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from demo.orders import order_tools
    from graphs.react import build_react_graph
    from models import ScriptedChatModel, tool_calls_reply
    from observability.tracing import flush_traces, tracing_mode

    assert tracing_mode() == "langsmith", tracing_mode()
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("lookup_order", {"order_id": "A-1001"})),
                 "Your order A-1001 was delivered; I wrote to " + sys.argv[1] + "."]
    )
    graph = build_react_graph(model=model, tools=order_tools(), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "trace-thread-1", "langgraph_auth_user_id": "alice"}}
    text = "Where is A-1001? Card " + sys.argv[2] + ", mail " + sys.argv[1]
    graph.invoke({"messages": [HumanMessage(text)]}, config, context={"model": "demo"})
    flush_traces()
    """
)


class _StandIn(BaseHTTPRequestHandler):
    """Records every request; answers like LangSmith enough for the client to go on."""

    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.received.append(
            {
                "method": self.command,
                "path": self.path,
                "type": self.headers.get("Content-Type", ""),
                "body": body,
            }
        )

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._record()
        if self.path.startswith("/info"):
            self._answer(200, {"version": "0.0.0", "batch_ingest_config": {}})
        else:
            self._answer(404, {"detail": "not here"})

    def do_POST(self) -> None:  # noqa: N802
        self._record()
        self._answer(200, {})

    def do_PATCH(self) -> None:  # noqa: N802
        self._record()
        self._answer(200, {})


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_StandIn,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def _runs(received: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], str]:
    """The runs sent (by id, posts and patches merged) and every byte sent, as text."""
    runs: dict[str, dict[str, Any]] = {}
    texts: list[str] = []

    def merge(run: dict[str, Any], extra: str = "") -> None:
        run_id = str(run.get("id") or "")
        target = runs.setdefault(run_id, {})
        if extra:
            target[extra] = run
        else:
            target.update(run)

    for request in received:
        body: bytes = request["body"]
        texts.append(body.decode("utf-8", "replace"))
        if request["path"].startswith("/runs/multipart"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + request["type"].encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = str(part.get_param("name", header="content-disposition") or "")
                raw = part.get_payload(decode=True)
                payload = json.loads(raw if isinstance(raw, bytes) else b"null")
                operation, run_id, *field = name.split(".")
                if field:
                    runs.setdefault(run_id, {}).setdefault(field[0], {}).update(payload or {})
                else:
                    merge({**payload, "id": payload.get("id") or run_id})
        elif request["path"].startswith("/runs/batch"):
            batch = json.loads(body)
            for run in [*batch.get("post", []), *batch.get("patch", [])]:
                merge(run)
        elif request["path"].startswith("/runs") and request["method"] in ("POST", "PATCH"):
            merge(json.loads(body))
    return runs, "\n".join(texts)


@pytest.mark.slow
def test_runs_and_their_metadata_arrive_without_personal_data(
    stand_in: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = stand_in
    env = {
        **os.environ,
        "AGENT_PATTERNS_TRACING": "langsmith",
        "LANGSMITH_ENDPOINT": url,
        "LANGSMITH_API_KEY": "fake",
        "LANGSMITH_PROJECT": "agent-patterns-test",
        "AGENT_PATTERNS_LOG": "off",
    }
    env.pop("LANGSMITH_TRACING", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, EMAIL, CARD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    runs, sent = _runs(received)
    assert any(r["path"].startswith("/runs") for r in received), received

    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs.values():
        by_name.setdefault(str(run.get("name")), []).append(run)
    [root] = by_name["react"]  # the graph's run is named after the pattern
    metadata = (root.get("extra") or {}).get("metadata") or {}
    assert metadata["thread_id"] == "trace-thread-1"
    assert metadata["user_id"] == "alice"
    assert metadata["graph_id"] == "react" and metadata["pattern"] == "react"
    assert metadata["model"] == "demo" and metadata["run_id"]
    assert {"pattern:react", "graph:react"} <= set(root.get("tags") or [])
    assert by_name["call_model"] and by_name["run_tools"]  # a run per node
    node = by_name["call_model"][0]
    node_metadata = (node.get("extra") or {}).get("metadata") or {}
    assert node_metadata["thread_id"] == "trace-thread-1" and node_metadata["pattern"] == "react"
    assert node["trace_id"] == root["trace_id"]

    # redacted before it left the process: the card whole, compact or in groups (a bare
    # "4111" also occurs in latencies such as 0.141117)
    card_forms = (CARD, CARD.replace(" ", ""), "4111 1111", "1111 1111 1111")
    assert EMAIL not in sent and not any(form in sent for form in card_forms)
    assert "[email]" in sent and "[card]" in sent  # the conversation was traced, redacted
