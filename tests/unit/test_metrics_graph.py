"""Metrics of real graph runs in process: the ReAct graph's events, recorded and scraped.

The shared nodes emit the events (`observability.events`); these tests install the
process's recorder and check that the counters match the runs made: outcomes per run, tool
calls and failures per tool, the approval requested and decided once (its gate re-runs on the
resume), a budget stop, model calls and the node latency histograms. The only stand-in is
the scripted model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel

from demo.orders import order_tools
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from observability.events import sinks_active
from observability.metrics import MetricsRecorder, install_metrics, uninstall_metrics
from observability.metrics_snapshot import parse_snapshot, samples
from tools.registry import agent_tool

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})
LOOKUP = ("lookup_order", {"order_id": "A-1001"})


class _NoArgs(BaseModel):
    """No arguments."""


@agent_tool(args_schema=_NoArgs, side_effects=False)
def flaky_inventory() -> str:
    """Check inventory (always fails here)."""
    raise ConnectionError("inventory service unreachable")


@pytest.fixture
def recorder() -> Iterator[MetricsRecorder]:
    uninstall_metrics()
    yield install_metrics()
    uninstall_metrics()
    assert not sinks_active()


def _run(replies: list[Any], tools: list[Any], *answers: Any, **context: Any) -> None:
    """Ask once on a fresh thread, then resume with each of `answers`."""
    graph = build_react_graph(
        model=ScriptedChatModel(replies=replies), tools=tools, checkpointer=InMemorySaver()
    )
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"messages": [HumanMessage("help")]}, config, context=context or None)
    for answer in answers:
        graph.invoke(Command(resume=answer), config)


def _total(recorder: MetricsRecorder, name: str, **labels: str) -> float:
    rows = samples(recorder.prometheus_text().decode()).get("agent_patterns_" + name, [])
    return sum(v for lb, v in rows if all(lb.get(k) == want for k, want in labels.items()))


def test_counters_match_the_runs_made(recorder: MetricsRecorder) -> None:
    accept = [{"type": "accept", "args": None, "reviewer": "ana"}]
    _run([tool_calls_reply(LOOKUP), "Delivered."], order_tools())  # 1 run: success
    _run([tool_calls_reply(REFUND), "Refund issued."], order_tools(), accept)  # 2 runs
    _run([tool_calls_reply(("flaky_inventory", {})), "It is down."], [flaky_inventory])
    _run([tool_calls_reply(LOOKUP)] * 3, order_tools(), max_steps=2)  # stops at the budget

    outcomes = {
        o: _total(recorder, "runs_total", graph_id="react", outcome=o)
        for o in ("success", "interrupted", "stopped", "error")
    }
    # the step budget's clean ending may count as success or stopped (the emitter decides)
    assert outcomes["success"] + outcomes["stopped"] == 4 and outcomes["success"] >= 3
    assert outcomes["interrupted"] == 1 and outcomes["error"] == 0
    assert _total(recorder, "run_duration_seconds_count", graph_id="react") == 5

    assert _total(recorder, "tool_calls_total", tool="lookup_order") == 2  # budget run: 1 of 2
    assert _total(recorder, "tool_calls_total", tool="issue_refund", side_effect="true") == 1
    assert _total(recorder, "tool_calls_total", tool="flaky_inventory", success="false") == 1
    assert _total(recorder, "tool_failures_total", tool="flaky_inventory") == 1
    assert _total(recorder, "tool_failures_total") == 1

    assert _total(recorder, "approvals_requested_total", tool="issue_refund") == 1
    assert _total(recorder, "approvals_decided_total", decision="accept") == 1
    assert _total(recorder, "approvals_pending") == 0
    assert _total(recorder, "budget_stops_total") == 1

    assert _total(recorder, "model_calls_total") == 2 + 2 + 2 + 2
    assert _total(recorder, "node_duration_seconds_count", node="run_tools") >= 4
    snapshot = parse_snapshot(recorder.prometheus_text().decode())
    react = snapshot.patterns["react"]
    assert react.success_rate == pytest.approx(outcomes["success"] / 4)
    assert ("react", "run_tools") in snapshot.nodes


def test_a_thread_left_at_the_gate_is_pending(recorder: MetricsRecorder) -> None:
    _run([tool_calls_reply(REFUND), "never reached"], order_tools())
    assert _total(recorder, "approvals_requested_total") == 1
    assert _total(recorder, "approvals_pending") == 1
    assert _total(recorder, "runs_total", outcome="interrupted") == 1
