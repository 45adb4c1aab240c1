"""Parallel fan-out: K branches at once against LangGraph's plain ``Send`` and one by one.

Each branch is one model call that sleeps ``DELAY_S`` (model latency: ``time.sleep`` under
``invoke``, ``asyncio.sleep`` under ``ainvoke``) and answers. Measured for K = 5, 10, 20, sync
and async, on an in-memory saver:

- ``parallel``: `graphs.parallel.build_parallel_graph` (``aggregate="vote"``, so the fan-in
  makes no model call), its branches ReAct agents built from specs;
- ``parallel_native``: the same pattern, its branches compiled graphs whose one node has an
  async body (``model.ainvoke``);
- ``send``: a plain StateGraph with one ``Send`` per branch to a node that calls the model,
  with the same ``max_concurrency`` (K + 2);
- ``sequential``: the same K branch agents invoked one after another.

Reported: wall time / (K x DELAY_S) for each (ideal 1/K for the two fan-outs, 1.0 for the
sequential run), and parallel / send (the pattern's overhead over the bare mechanism).

A ReAct branch's model node is sync (the shared model-call path has no async twin); under
``ainvoke`` LangGraph runs it on the event loop's default thread pool, which the parallel node
grows to fit its branches (`nodes.parallel_branches.ensure_loop_threads`), so ``parallel``
and ``parallel_native`` both track ``send``.
"""

from __future__ import annotations

import asyncio
import operator
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypedDict, cast

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Send

from graphs._agents import agent_graph
from graphs.parallel import build_parallel_graph
from models import ScriptedChatModel
from nodes.runtime import PatternRuntime
from scripts.bench.measure import Finding, interleaved, ratio
from state.agent_spec import AgentSpec

DELAY_S = 0.2
REQUEST: Any = {"messages": [HumanMessage("answer")]}


class SlowModel(ScriptedChatModel):
    """A scripted model whose every call takes `DELAY_S` (a thread sleep, or an async one)."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        time.sleep(DELAY_S)
        return super()._generate(messages, *args, **kwargs)

    async def _agenerate(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> ChatResult:
        await asyncio.sleep(DELAY_S)
        return super()._generate(messages, *args, **kwargs)


def _specs(k: int) -> list[AgentSpec]:
    return [
        AgentSpec(f"b{i}", f"branch {i}", model=SlowModel(replies=["yes"], cycle=True))
        for i in range(k)
    ]


def _native_specs(k: int) -> list[AgentSpec]:
    """The branches as compiled graphs whose one node calls the model (async-native)."""
    return [AgentSpec(f"b{i}", f"branch {i}", graph=_model_node_graph()) for i in range(k)]


def _model_node_graph() -> Any:
    model = SlowModel(replies=["yes"], cycle=True)

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    async def aanswer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", RunnableLambda(answer, afunc=aanswer))
    builder.add_edge(START, "answer")
    return builder.compile()


class _SendState(TypedDict):
    messages: list[BaseMessage]
    answers: Annotated[list[str], operator.add]


def _send_graph(k: int) -> Any:
    model = SlowModel(replies=["yes"], cycle=True)

    def branch(payload: dict[str, Any]) -> dict[str, Any]:
        return {"answers": [model.invoke(payload["messages"]).text]}

    async def abranch(payload: dict[str, Any]) -> dict[str, Any]:
        return {"answers": [(await model.ainvoke(payload["messages"])).text]}

    builder = StateGraph(_SendState)
    builder.add_node("branch", cast(Any, RunnableLambda(branch, afunc=abranch)))
    builder.add_conditional_edges(
        START, lambda s: [Send("branch", {"messages": s["messages"]}) for _ in range(k)]
    )
    builder.add_edge("branch", END)
    return builder.compile(checkpointer=InMemorySaver()).with_config(max_concurrency=k + 2)


def _config() -> RunnableConfig:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def _candidates(k: int, use_async: bool) -> dict[str, Callable[[], object]]:
    """One run of each candidate (graphs built once, outside the timing)."""
    ours = build_parallel_graph(_specs(k), aggregate="vote", checkpointer=InMemorySaver())
    native = build_parallel_graph(_native_specs(k), aggregate="vote", checkpointer=InMemorySaver())
    send = _send_graph(k)
    runtime = PatternRuntime()
    agents = [agent_graph(spec, model=None, runtime=runtime) for spec in _specs(k)]

    async def sequential_async() -> None:
        for agent in agents:
            await agent.ainvoke(REQUEST)

    if use_async:
        return {
            "parallel": lambda: asyncio.run(ours.ainvoke(REQUEST, _config())),
            "parallel_native": lambda: asyncio.run(native.ainvoke(REQUEST, _config())),
            "send": lambda: asyncio.run(send.ainvoke(REQUEST, _config())),
            "sequential": lambda: asyncio.run(sequential_async()),
        }
    return {
        "parallel": lambda: ours.invoke(REQUEST, _config()),
        "parallel_native": lambda: native.invoke(REQUEST, _config()),
        "send": lambda: send.invoke(REQUEST, _config()),
        "sequential": lambda: [agent.invoke(REQUEST) for agent in agents],
    }


def run(quick: bool) -> list[Finding]:
    """K = 5, 10, 20 branches, sync and async: each candidate's wall time / (K x DELAY_S)."""
    findings = []
    for use_async in (False, True):
        mode = "async" if use_async else "sync"
        for k in (5, 10, 20):
            samples = interleaved(_candidates(k, use_async), rounds=2 if quick else 5)
            ideal = [k * DELAY_S] * len(samples["parallel"])
            for name in ("parallel", "parallel_native", "send", "sequential"):
                findings.append(
                    Finding(
                        f"{mode} K={k}: {name} wall / (K x {DELAY_S * 1000:.0f} ms)"
                        + (f" (ideal 1/K = {1 / k:.3f})" if name != "sequential" else ""),
                        ratio(samples[name], ideal),
                    )
                )
            findings.append(
                Finding(
                    f"{mode} K={k}: parallel / send wall time",
                    ratio(samples["parallel"], samples["send"]),
                )
            )
    return findings


if __name__ == "__main__":
    import sys

    for finding in run(quick="--quick" in sys.argv):
        print(finding.line())
