"""`openai:<model>` against a local OpenAI-compatible server: the ReAct graph end to end.

A standard-library HTTP server on 127.0.0.1 plays the part of vLLM / Ollama / LiteLLM. It
answers ``POST /v1/chat/completions`` from a script of assistant messages (plain JSON or
Server-Sent Events when the request asks to stream) and records every request body, so the
tests can check what `ChatOpenAI` really sends: the model name, the bound tools, the system
prompt and the tool results. Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from demo.orders import order_tools
from graphs.react import build_react_graph
from models.factory import create_chat_model

MODEL_NAME = "local-test-model"
ORDER_TOOL_NAMES = {"lookup_order", "search_help_docs", "create_support_ticket", "issue_refund"}
FINAL_TEXT = "Refund issued for A-1002."
USER_TURN = "Where is A-1002? It is late, refund 20 dollars."
REFUND_ARGS = {"order_id": "A-1002", "amount": 20.0, "reason": "late delivery"}

# Environment that could send the client somewhere other than our server.
_ROUTING_ENV = (
    "OPENAI_API_BASE",
    "OPENAI_BASE_URL",
    "OPENAI_PROXY",
    "LANGSMITH_GATEWAY",
    "AGENT_PATTERNS_MODEL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A scripted assistant reply that calls one tool."""
    return {"tool_calls": [{"name": name, "arguments": args}]}


def text(content: str) -> dict[str, Any]:
    """A scripted assistant reply with final text."""
    return {"content": content}


REFUND_SCRIPT = [
    tool_call("lookup_order", {"order_id": "A-1002"}),
    tool_call("issue_refund", REFUND_ARGS),
    text(FINAL_TEXT),
]


@dataclass
class FakeOpenAIServer:
    """State shared with the request handler: the script and what was received."""

    script: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    stream_chunk_chars: int = 4
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_reply(self, body: dict[str, Any], path: str, auth: str | None) -> dict[str, Any]:
        """Record a request and pop the scripted reply that answers it."""
        with self.lock:
            self.requests.append(body)
            self.paths.append(path)
            self.auth_headers.append(auth)
            if not self.script:
                raise LookupError(f"script exhausted after {len(self.requests) - 1} replies")
            reply = self.script.pop(0)
            number = next(self._ids)
        if "fail" in reply:  # an error on cue: {"fail": {"status", "headers", "body", "sleep_s"}}
            return {"fail": reply["fail"], "id": f"chatcmpl-{number}"}
        calls = [
            {
                "id": f"call_{number}_{i}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for i, c in enumerate(reply.get("tool_calls", []))
        ]
        return {"id": f"chatcmpl-{number}", "content": reply.get("content"), "tool_calls": calls}


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def _completion(reply: dict[str, Any], model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply["content"]}
    if reply["tool_calls"]:
        message["tool_calls"] = reply["tool_calls"]
    return {
        "id": reply["id"],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply["tool_calls"] else "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(),
    }


def _chunks(
    reply: dict[str, Any], model: str, chunk_chars: int, include_usage: bool
) -> Iterator[dict[str, Any]]:
    """The `chat.completion.chunk` objects of one streamed reply."""
    base = {
        "id": reply["id"],
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    content = reply["content"] or ""
    for start in range(0, len(content), chunk_chars):
        yield chunk({"content": content[start : start + chunk_chars]})
    for index, call in enumerate(reply["tool_calls"]):
        head = {"name": call["function"]["name"], "arguments": ""}
        yield chunk(
            {
                "tool_calls": [
                    {"index": index, "id": call["id"], "type": "function", "function": head}
                ]
            }
        )
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), chunk_chars * 2):
            piece = arguments[start : start + chunk_chars * 2]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if reply["tool_calls"] else "stop")
    if include_usage:
        yield {**base, "choices": [], "usage": _usage()}


def _handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep pytest output clean

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def _fail(self, fail: dict[str, Any]) -> None:
            """Answer as told: wait, then an HTTP error, or a body that is not JSON."""
            time.sleep(float(fail.get("sleep_s", 0)))
            data = (
                str(fail.get("body", "")).encode()
                or json.dumps(
                    {"error": {"message": f"scripted {fail.get('status')}", "type": "scripted"}}
                ).encode()
            )
            try:
                self.send_response(int(fail.get("status", 200)))
                for name, value in (fail.get("headers") or {}).items():
                    self.send_header(name, str(value))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                pass
            self.close_connection = True

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {path}", "type": "x"}})
                return
            body = json.loads(raw or b"{}")
            try:
                reply = server.next_reply(body, path, self.headers.get("Authorization"))
            except LookupError as exc:
                # 400 is not retried by the client, so a test fails fast and clearly.
                self._send_json(400, {"error": {"message": str(exc), "type": "script"}})
                return
            model = body.get("model", "unknown")
            if "fail" in reply:
                self._fail(reply["fail"])
                return
            if not body.get("stream"):
                self._send_json(200, _completion(reply, model))
                return
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in _chunks(reply, model, server.stream_chunk_chars, include_usage):
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (random port)."""
    state = FakeOpenAIServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
    )
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def openai_env(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> FakeOpenAIServer:
    """Point `openai:` models at the fake server (monkeypatch restores the environment)."""
    for name in _ROUTING_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    return openai_server


def _tool_messages(body: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
    """The tool-result messages of a request (optionally those answering calls to `name`)."""
    messages = body["messages"]
    call_names = {
        call["id"]: call["function"]["name"]
        for m in messages
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or []
    }
    return [
        m
        for m in messages
        if m.get("role") == "tool" and (name is None or call_names.get(m["tool_call_id"]) == name)
    ]


def _assert_requests(server: FakeOpenAIServer, *, stream: bool) -> None:
    """What every scripted run must have sent to the server."""
    assert len(server.requests) == 3, [r["messages"] for r in server.requests]
    assert server.script == []
    assert set(server.paths) == {"/v1/chat/completions"}
    assert server.auth_headers == ["Bearer test-key"] * 3
    for body in server.requests:
        assert body["model"] == MODEL_NAME
        assert bool(body.get("stream")) is stream
        assert {t["function"]["name"] for t in body["tools"]} == ORDER_TOOL_NAMES
        assert all(t["type"] == "function" for t in body["tools"])
        first = body["messages"][0]
        assert first["role"] == "system" and first["content"].strip()
        assert body["messages"][1] == {"role": "user", "content": USER_TURN}

    first, second, third = server.requests
    assert _tool_messages(first) == []

    # Second request: the assistant's call to lookup_order and its JSON result.
    assistant = [m for m in second["messages"] if m["role"] == "assistant"]
    assert len(assistant) == 1
    (call,) = assistant[0]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "lookup_order"
    assert json.loads(call["function"]["arguments"]) == {"order_id": "A-1002"}
    (lookup,) = _tool_messages(second, "lookup_order")
    assert lookup["tool_call_id"] == call["id"]
    order = json.loads(lookup["content"])
    assert order["order_id"] == "A-1002" and order["status"] == "shipped"

    # Third request: both tool results, the refund with its id.
    assert len(_tool_messages(third)) == 2
    (refund,) = _tool_messages(third, "issue_refund")
    result = json.loads(refund["content"])
    assert result["refund_id"].startswith("RF-")
    assert result["order_id"] == "A-1002" and result["amount"] == 20.0
    assert result["status"] == "issued"


def _assert_waits_for_refund(graph: Any, config: dict[str, Any]) -> None:
    snapshot = graph.get_state(config)
    assert snapshot.next == ("approval_gate",)
    assert len(snapshot.interrupts) == 1
    request = snapshot.interrupts[0].value[0]
    assert request["action_request"]["action"] == "issue_refund"
    assert request["action_request"]["args"] == REFUND_ARGS


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def test_react_run_against_local_openai_compatible_server(
    openai_env: FakeOpenAIServer,
) -> None:
    openai_env.script = list(REFUND_SCRIPT)
    model = create_chat_model(f"openai:{MODEL_NAME}")
    assert model.openai_api_base == openai_env.base_url  # type: ignore[attr-defined]
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=InMemorySaver())
    config = _config("openai-compatible-invoke")

    graph.invoke({"messages": [("user", USER_TURN)]}, config)
    _assert_waits_for_refund(graph, config)
    assert len(openai_env.requests) == 2  # lookup ran without approval; refund waits

    result = graph.invoke(Command(resume={"type": "accept", "reviewer": "qa"}), config)
    final = result["messages"][-1]
    assert isinstance(final, AIMessage)
    assert final.text == FINAL_TEXT
    assert not final.tool_calls
    assert final.response_metadata.get("finish_reason") == "stop"
    assert final.usage_metadata is not None and final.usage_metadata["total_tokens"] == 18
    approvals = graph.get_state(config).values["approvals"]
    assert [(a["action"], a["decision"], a["reviewer"]) for a in approvals] == [
        ("issue_refund", "accept", "qa")
    ]
    _assert_requests(openai_env, stream=False)


def test_streamed_react_run_keeps_tool_calls_and_streams_tokens(
    openai_env: FakeOpenAIServer,
) -> None:
    openai_env.script = list(REFUND_SCRIPT)
    model = create_chat_model(f"openai:{MODEL_NAME}")
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=InMemorySaver())
    config = _config("openai-compatible-stream")

    def run(payload: Any) -> tuple[list[AIMessageChunk], list[dict[str, Any]]]:
        chunks: list[AIMessageChunk] = []
        updates: list[dict[str, Any]] = []
        for mode, data in graph.stream(payload, config, stream_mode=["messages", "updates"]):
            if mode == "updates":
                updates.append(data)
                continue
            message, metadata = data
            if metadata.get("langgraph_node") == "call_model":
                assert isinstance(message, AIMessageChunk)
                chunks.append(message)
        return chunks, updates

    chunks, updates = run({"messages": [("user", USER_TURN)]})
    assert any("__interrupt__" in u for u in updates)
    _assert_waits_for_refund(graph, config)
    # The tool calls arrived as deltas: argument fragments spread over several chunks.
    fragments = [c for chunk in chunks for c in chunk.tool_call_chunks if c.get("args")]
    assert len(fragments) > 2
    stored = [m for m in graph.get_state(config).values["messages"] if isinstance(m, AIMessage)]
    assert [m.tool_calls[0]["name"] for m in stored] == ["lookup_order", "issue_refund"]
    assert stored[0].tool_calls[0]["args"] == {"order_id": "A-1002"}
    assert stored[1].tool_calls[0]["args"] == REFUND_ARGS

    chunks, _ = run(Command(resume={"type": "accept", "reviewer": "qa"}))
    pieces = [c.text for c in chunks if c.text]
    assert len(pieces) > 1, pieces  # the final answer came token by token
    assert "".join(pieces) == FINAL_TEXT
    final = graph.get_state(config).values["messages"][-1]
    assert isinstance(final, AIMessage) and final.text == FINAL_TEXT
    _assert_requests(openai_env, stream=True)
    # OPENAI_BASE_URL is set, so langchain-openai leaves stream_usage off by default.
    assert all("stream_options" not in body for body in openai_env.requests)


def test_factory_defaults_and_bad_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ROUTING_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")

    model = create_chat_model("openai:x")
    assert model.model_name == "x"  # type: ignore[attr-defined]
    assert model.openai_api_base is None  # type: ignore[attr-defined]
    assert str(model.root_client.base_url) == "https://api.openai.com/v1/"  # type: ignore[attr-defined]

    with pytest.raises(ValueError, match="Unknown model spec 'nonsense'") as info:
        create_chat_model("nonsense")
    message = str(info.value)
    assert "'demo'" in message and "openai:<model>" in message and "OPENAI_BASE_URL" in message
