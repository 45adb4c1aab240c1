"""Budgets and fallbacks work in every pattern of the registry, without code of their own.

Each served graph is built as served (`graphs.registry.build_graph`) with its seed scenario:

- with a wall-clock budget already spent when the first model call comes, the run ends on a
  valid conversation whose last message is an AI message naming the budget;
- with a model that is always unavailable and the offline demo model as the fallback, the run
  goes on to its answer and every switch is recorded in state (after five failures the
  model's circuit breaker opens and later calls skip it: recorded as such).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from demo.scenarios import SCENARIOS
from graphs.registry import GRAPH_BUILDERS, build_graph
from models.scripted import ScriptedChatModel
from nodes.controls import Controls, RetrySettings
from nodes.runtime import PatternRuntime

GRAPH_IDS = sorted(GRAPH_BUILDERS)
PATTERN_REVIEWS = {"hitl", "pipeline", "orchestrator"}
"""Patterns whose scenario pauses for a person by its own rule (hitl's refund policy, the
pipeline's review of the assessed risks, the orchestrator's manual-review path), not by the
approval policy."""


class Overloaded(Exception):
    """The provider cannot serve this model now (another model may)."""

    status_code = 503


def _run(graph: Any, graph_id: str, **context: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    question = SCENARIOS[graph_id].question
    graph.invoke({"messages": [("user", question)]}, config, context=context)
    snapshot = graph.get_state(config)
    return snapshot.values, {"next": snapshot.next, "interrupts": snapshot.interrupts}


def _assert_valid(messages: list[BaseMessage]) -> None:
    asked = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert sorted(asked) == sorted(answered)


def test_the_registry_is_what_this_test_covers() -> None:
    assert set(GRAPH_IDS) == set(SCENARIOS)
    assert len(GRAPH_IDS) >= 9


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
def test_a_spent_budget_ends_every_pattern_with_a_message_naming_it(graph_id: str) -> None:
    runtime = PatternRuntime(checkpointer=InMemorySaver(), store=InMemoryStore())
    graph = build_graph(graph_id, runtime=runtime)
    values, where = _run(graph, graph_id, model="demo", max_seconds_per_run=1e-9)

    last = values["messages"][-1]
    assert isinstance(last, AIMessage) and last.name == "budget", last
    assert "max_seconds_per_run=1e-09" in last.text
    _assert_valid(values["messages"])
    assert values["run_stop"]["kind"] == "budget"
    assert where["next"] == () and not where["interrupts"]  # ended, nothing left scheduled


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
def test_every_pattern_falls_back_when_its_model_is_unavailable(graph_id: str) -> None:
    down = ScriptedChatModel(replies=[Overloaded("model overloaded")], cycle=True)
    controls = Controls(model_retry=RetrySettings(max_attempts=1), fallbacks={"*": ("demo",)})
    runtime = PatternRuntime(checkpointer=InMemorySaver(), store=InMemoryStore(), controls=controls)
    graph = build_graph(graph_id, model=down, runtime=runtime)
    values, where = _run(graph, graph_id, approval_policy="never")  # runs to its end

    switches = values.get("fallbacks") or []
    assert switches, "no fallback was recorded"
    assert all(s["to_model"] == "demo" for s in switches)
    failed = [s for s in switches if s["error_class"] == "retriable"]
    assert len(failed) == len(down.calls)  # each failed call fell back once, and was recorded
    fast = [s for s in switches if s["error_class"] == "fallback"]  # its breaker had opened
    assert all("circuit breaker" in s["error"] for s in fast)
    if where["interrupts"]:  # a review the pattern asks for whatever the approval policy
        assert graph_id in PATTERN_REVIEWS
    else:
        assert isinstance(values["messages"][-1], AIMessage)
        _assert_valid(values["messages"])
