"""Structured logs: ``AGENT_PATTERNS_LOG=json`` gives one redacted JSON object per stderr line
for a real CLI run; ``human`` gives readable lines; a bad value is refused by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from demo.orders import order_tools
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from observability.events import Event
from observability.logs import (
    LOG_ENV,
    human_line,
    install_log_sink,
    json_line,
    log_mode,
    log_record,
)

ROOT = Path(__file__).resolve().parents[2]
EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
SEED_FIELDS = ("timestamp", "action", "conversation_id", "agent_id", "run_id", "graph_id")


def _cli(*args: str, log: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, LOG_ENV: log, "AGENT_PATTERNS_TRACING": "off"}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_cli_run_logs_one_redacted_json_object_per_stderr_line() -> None:
    question = f"Refund order A-1001, it arrived broken. Card {CARD}, mail me at {EMAIL}"
    done = _cli(
        "demo",
        "--graph",
        "react",
        "--model",
        "demo",
        "--checkpointer",
        "memory",
        "--approve",
        "auto",
        "--reviewer",
        EMAIL,  # a reviewer named by e-mail: it reaches an event, and must be redacted
        question,
        log="json",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    actions = [record["action"] for record in records]
    for kind in ("model_call", "tool_call", "approval_requested", "approval_decided"):
        assert kind in actions, actions
    assert actions.count("run_finished") == 2  # paused at the gate, then resumed
    for record in records:
        for field in SEED_FIELDS:
            assert field in record, (field, record)
        assert isinstance(record["run_id"], str) and record["graph_id"] == "react"
    tools = [r for r in records if r["action"] == "tool_call"]
    for record in tools:
        assert record["tool_name"] and isinstance(record["latency_s"], float)
        assert isinstance(record["success"], bool) and isinstance(record["step"], int)
    assert "issue_refund" in [r["tool_name"] for r in tools]
    [decided] = [r for r in records if r["action"] == "approval_decided"]
    assert decided["reviewer"] == "[email]" and decided["decision"] == "accept"
    # the card whole, compact or in groups (a bare "4111" also occurs in latencies: 0.141117)
    card_forms = (CARD, CARD.replace(" ", ""), "4111 1111", "1111 1111 1111")
    assert EMAIL not in done.stderr and not any(form in done.stderr for form in card_forms)
    finished = [r["outcome"] for r in records if r["action"] == "run_finished"]
    assert finished == ["interrupted", "success"]


def test_an_invalid_setting_is_refused_naming_the_allowed_values() -> None:
    env = {**os.environ, LOG_ENV: "verbose"}
    done = subprocess.run(
        [sys.executable, "-c", "import graphs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "AGENT_PATTERNS_LOG='verbose' is not one of off, human, json" in done.stderr


def test_log_mode_reads_the_environment() -> None:
    assert log_mode({}) == "off"
    assert log_mode({LOG_ENV: " JSON "}) == "json"
    with pytest.raises(ValueError, match="off, human, json"):
        log_mode({LOG_ENV: "yes"})
    with pytest.raises(ValueError, match="not one of"):
        install_log_sink("loud")  # type: ignore[arg-type]


def test_a_line_puts_the_seed_fields_first_and_redacts() -> None:
    event = Event(
        "budget_stop",
        "2026-01-01T00:00:00.000Z",
        {
            "limit": "max_tool_calls",
            "reason": f"asked by {EMAIL} with card {CARD}",
            "thread_id": "t-1",
            "agent": "react",
            "run_id": "r-1",
            "step": 3,
            "user_id": EMAIL,
            "node": "run_tools",
            "error": None,
        },
    )
    record = json.loads(json_line(event))
    assert list(record) == [
        "timestamp",
        "action",
        "conversation_id",
        "agent_id",
        "run_id",
        "step",
        "user_id",
        "node",
        "limit",
        "reason",
    ]
    assert record["user_id"] == "[email]"
    assert record["reason"] == "asked by [email] with card [card]"


def test_human_lines_are_readable_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    model = ScriptedChatModel(
        replies=[tool_calls_reply(("lookup_order", {"order_id": "A-1001"})), "ok"]
    )
    graph = build_react_graph(model=model, tools=order_tools(), checkpointer=InMemorySaver())
    config: Any = {
        "configurable": {"thread_id": f"t-{uuid.uuid4().hex[:6]}", "langgraph_auth_user_id": EMAIL}
    }
    remove = install_log_sink("human")
    try:
        assert install_log_sink("human") is remove  # once per process
        graph.invoke({"messages": [HumanMessage(f"where is A-1? {EMAIL}")]}, config)
    finally:
        remove()
    lines = capsys.readouterr().err.splitlines()
    tool_line = next(line for line in lines if " tool_call " in line)
    assert " ok " in tool_line and "tool_name=lookup_order" in tool_line
    assert "user_id=[email]" in tool_line and EMAIL not in "\n".join(lines)
    event = Event("tool_call", "2026-01-01T00:00:00.000Z", {"tool": "x", "success": False})
    assert human_line(event) == "2026-01-01T00:00:00.000Z tool_call FAILED tool_name=x"


def test_ids_and_names_are_redacted_too_but_uuids_and_vocabulary_are_kept() -> None:
    run_id = str(uuid.uuid4())
    event = Event(
        "approval_decided",
        "2026-01-01T00:00:00.000Z",
        {"thread_id": EMAIL, "run_id": run_id, "decision": "accept", "reviewer": f"x {CARD}"},
    )
    for _ in range(2):  # the second time from the cache: the same answer
        record = log_record(event)
        assert record["conversation_id"] == "[email]" and record["run_id"] == run_id
        assert record["decision"] == "accept" and record["reviewer"] == "x [card]"
