"""Fan-out: K delegations in one supervisor turn against the same K one after another.

Each worker's model sleeps ``DELAY_S`` per call (model latency; tools are not used), so the
ideal parallel / sequential wall time is 1/K plus the supervisor's own calls. Reported for
K = 2, 4 and 8: the ratio, and K x ratio (1.0 = perfect fan-out; the supervisor's two
instant calls and LangGraph's scheduling are what keeps it above). LangGraph runs a step's
tasks on a thread pool of Python's default size (CPUs + 4: 6 here) unless the run's config
sets ``max_concurrency``, so K = 8 runs in two waves on this machine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from graphs.supervisor import build_supervisor_graph
from models import ScriptedChatModel, tool_calls_reply
from scripts.bench.measure import Finding, interleaved, ratio
from state.agent_spec import AgentSpec

DELAY_S = 0.05


def _slow_worker(name: str) -> AgentSpec:
    def answer(messages: list[BaseMessage]) -> str:
        time.sleep(DELAY_S)
        return f"{name} done"

    return AgentSpec(
        name, f"does part {name}", model=ScriptedChatModel(replies=[answer], cycle=True)
    )


def _delegations(names: list[str], together: bool) -> list[Any]:
    calls = [(f"delegate_to_{name}", {"task": f"do part {name}"}) for name in names]
    if together:
        return [tool_calls_reply(*calls), "all done"]
    return [*(tool_calls_reply(call) for call in calls), "all done"]


def _supervisor(names: list[str], together: bool) -> Callable[[], object]:
    """A built supervisor (built once, outside the timing) and one run of it on a new thread."""
    boss = ScriptedChatModel(replies=_delegations(names, together), cycle=True)
    graph = build_supervisor_graph(
        [_slow_worker(name) for name in names], model=boss, checkpointer=InMemorySaver()
    )

    def one_run() -> object:
        config = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 200}
        # max_steps above K + 1: the sequential supervisor makes K + 1 model calls per turn
        context = {"max_steps": 20}
        return graph.invoke({"messages": [("user", "do every part")]}, config, context=context)

    return one_run


def run(quick: bool) -> list[Finding]:
    """K parallel delegations vs K sequential ones, K = 2, 4, 8."""
    findings = []
    for k in (2, 4, 8):
        names = [f"w{i}" for i in range(k)]
        candidates = {
            "parallel": _supervisor(names, together=True),
            "sequential": _supervisor(names, together=False),
        }
        samples = interleaved(candidates, rounds=3 if quick else 9)
        measured = ratio(samples["parallel"], samples["sequential"])
        findings.append(
            Finding(
                f"fan-out K={k}: parallel / sequential wall time (ideal 1/K = {1 / k:.3f})",
                measured,
                detail=f"K x ratio {k * measured.median:.2f}; worker call {DELAY_S * 1000:.0f} ms",
            )
        )
    return findings
