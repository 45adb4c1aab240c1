"""Per-round overhead: the ReAct graph against a minimal StateGraph and LangGraph's prebuilt agent.

Each candidate runs the same conversation on the zero-latency `ScriptedChatModel` (replies
cycling one tool call, then an answer) with one trivial read-only tool, so every number is
framework cost: one model+tool round and the closing answer per run. Three candidates:

- **ours**: `graphs.react.build_react_graph` (model node, approval routing, tool node with
  timeouts and the ledger, budget stop);
- **minimal**: a hand-written `StateGraph` of the same shape (model node with tools bound once,
  a tool node as a plain function, one conditional edge);
- **prebuilt**: LangGraph's ``create_react_agent`` on the same scripted model;
- **ours untimed**: ours with ``tool_timeout_s=None`` (the tool runs inline in the node's
  thread instead of on a shared worker), against minimal only, to show what the one thread
  hand-off a timed call needs costs on this machine.

Measured with no saver and with an `InMemorySaver` (a fresh thread per run). Targets (no saver):
ours / minimal <= 1.10 and ours / prebuilt <= 0.7; the saver ratios are reported without one.
"""

from __future__ import annotations

import statistics
import uuid
import warnings
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import BaseModel

from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.runtime import PatternRuntime
from scripts.bench.measure import Finding, interleaved, ratio
from tools.registry import agent_tool

RUNS_PER_SAMPLE = 10
"""Runs timed together as one sample (each run: one model+tool round and the answer)."""


class _EchoArgs(BaseModel):
    text: str


@agent_tool(args_schema=_EchoArgs, side_effects=False)
def echo(text: str) -> str:
    """Return the text unchanged (a trivial read-only tool)."""
    return text


def _model() -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[tool_calls_reply(("echo", {"text": "hi"})), "done"], cycle=True
    )


def _minimal(model: ScriptedChatModel, tool: BaseTool, saver: BaseCheckpointSaver | None) -> Any:
    """The same shape written by hand: model node, plain tool function, conditional edge."""
    bound = model.bind_tools([tool])

    def call_model(state: MessagesState) -> dict[str, list[AnyMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    def run_tools(state: MessagesState) -> dict[str, list[AnyMessage]]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        return {
            "messages": [
                ToolMessage(str(tool.invoke(c["args"])), tool_call_id=c["id"] or "", name=c["name"])
                for c in last.tool_calls
            ]
        }

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "run_tools" if isinstance(last, AIMessage) and last.tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node("call_model", call_model)
    builder.add_node("run_tools", run_tools)
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route, ["run_tools", END])
    builder.add_edge("run_tools", "call_model")
    return builder.compile(checkpointer=saver)


def _prebuilt(model: ScriptedChatModel, tool: BaseTool, saver: BaseCheckpointSaver | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(model, [tool], checkpointer=saver)


def _ours(model: ScriptedChatModel, tool: BaseTool, saver: BaseCheckpointSaver | None) -> Any:
    return build_react_graph(model, [tool], checkpointer=saver)


def _ours_untimed(
    model: ScriptedChatModel, tool: BaseTool, saver: BaseCheckpointSaver | None
) -> Any:
    """Ours with no tool timeout: the tool runs inline, in the node's own thread."""
    return build_react_graph(
        model, [tool], runtime=PatternRuntime(checkpointer=saver, tool_timeout_s=None)
    )


def _runner(graph: Any, model: ScriptedChatModel) -> Callable[[], None]:
    """`RUNS_PER_SAMPLE` runs of the graph, each on a fresh thread."""

    def work() -> None:
        for _ in range(RUNS_PER_SAMPLE):
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            out = graph.invoke({"messages": [("user", "say hi")]}, config)
            assert out["messages"][-1].text == "done", out["messages"][-1]
        model.reset()  # the recorded calls would otherwise grow without bound

    return work


def _candidates(saver: bool) -> dict[str, Callable[[], None]]:
    candidates = {}
    builds = {
        "ours": _ours,
        "ours untimed": _ours_untimed,
        "minimal": _minimal,
        "prebuilt": _prebuilt,
    }
    for name, build in builds.items():
        model = _model()
        graph = build(model, echo, InMemorySaver() if saver else None)
        candidates[name] = _runner(graph, model)
        candidates[name]()  # warm up (first-call imports and caches)
    return candidates


def run(quick: bool) -> list[Finding]:
    """Ours vs minimal and vs prebuilt, per model+tool round, without and with a saver.

    "ours" is the graph as built by default (a 30 s tool timeout, so the tool runs on a shared
    worker thread); "ours untimed" (``tool_timeout_s=None``, the tool inline) is reported
    beside it against the minimal graph, without a target.
    """
    findings = []
    pairs = [
        ("ours", "minimal", 1.10),
        ("ours", "prebuilt", 0.7),
        ("ours untimed", "minimal", None),
    ]
    for saver in (False, True):
        samples = interleaved(_candidates(saver), rounds=9 if quick else 25)
        label = "in-memory saver" if saver else "no saver"
        ms = {
            name: statistics.median(times) / RUNS_PER_SAMPLE * 1000
            for name, times in samples.items()
        }
        for ours, other, limit in pairs:
            measured = ratio(samples[ours], samples[other])
            target = limit is not None and not saver
            findings.append(
                Finding(
                    f"per round, {label}: {ours} / {other}",
                    measured,
                    target=f"<= {limit:.2f}" if target else "",
                    met=measured.median <= limit if target and limit is not None else None,
                    detail=f"{ours} {ms[ours]:.2f} ms/run, {other} {ms[other]:.2f} ms/run",
                )
            )
    return findings
