"""Where tools run, and binding tools once: the fast paths of issue 20 keep their promises.

Tool calls under a timeout run on shared daemon workers (no thread pool per call, not even
inside ``ToolNode``); calls without one run inline. Timeouts, retries of read-only tools,
the idempotency key (a contextvar) and the async path still work. The model node binds its
tools once per model, not on every call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver

from checkpointers.ledger import InMemoryLedger
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes import model_call as model_call_module
from nodes import tool_execution
from nodes.runtime import PatternRuntime
from nodes.tool_execution import execute_tool_call
from state.context import AgentContext
from tools.idempotency import idempotency_key, using_idempotency_key

READ_ONLY = {"side_effects": False}
SIDE_EFFECTS = {"side_effects": True, "idempotent": False}


def thread() -> RunnableConfig:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def user(text: str) -> Any:
    """A run's input: one user message."""
    return {"messages": [HumanMessage(text)]}


def answer_of(outputs: list[Any]) -> ToolMessage:
    """The single `ToolMessage` a call produced."""
    [answer] = outputs
    assert isinstance(answer, ToolMessage)
    return answer


def call(name: str, **args: Any) -> ToolCall:
    return ToolCall(name=name, args=args, id=f"call-{uuid.uuid4().hex[:8]}", type="tool_call")


@tool
def where(text: str) -> str:
    """Say which thread ran the tool."""
    return f"{text}@{threading.get_ident()}"


where.metadata = READ_ONLY


@pytest.fixture
def pool_constructions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every `ThreadPoolExecutor` built (``ToolNode``'s own pool is a subclass)."""
    built: list[int] = []
    original = concurrent.futures.ThreadPoolExecutor.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "__init__", counting)
    return built


@pytest.mark.parametrize("timeout_s", [5.0, None])
def test_tool_calls_build_no_thread_pool(pool_constructions: list[int], timeout_s: Any) -> None:
    for _ in range(5):
        outputs = execute_tool_call(call("where", text="hi"), {"where": where}, timeout_s=timeout_s)
        assert answer_of(outputs).status == "success"
    assert pool_constructions == []


def test_timed_calls_reuse_a_worker_and_untimed_calls_run_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tool_execution, "_WORKERS", tool_execution._ToolWorkers(size=4))
    tools = {"where": where}
    timed = {
        answer_of(execute_tool_call(call("where", text="a"), tools, timeout_s=5)).text
        for _ in "123"
    }
    assert len(timed) == 1  # one shared worker thread served all three
    assert timed != {f"a@{threading.get_ident()}"}
    inline = answer_of(execute_tool_call(call("where", text="b"), tools, timeout_s=None))
    assert inline.text == f"b@{threading.get_ident()}"


def test_graph_pools_do_not_grow_with_tool_calls(pool_constructions: list[int]) -> None:
    def run(rounds: int) -> int:
        replies = [tool_calls_reply(("where", {"text": str(i)})) for i in range(rounds)]
        graph = build_react_graph(ScriptedChatModel(replies=[*replies, "done"]), [where])
        pool_constructions.clear()
        graph.invoke(user("go"), thread())
        return len(pool_constructions)

    assert run(1) == run(4)  # LangGraph's own per-run pool, none per tool call


def test_a_slow_read_only_tool_is_reported_and_retried() -> None:
    release = threading.Event()
    starts: list[float] = []

    @tool
    def slow(text: str) -> str:
        """Wait until released."""
        starts.append(time.monotonic())
        release.wait(5)
        return text

    slow.metadata = {**READ_ONLY, "timeout_s": 0.05}
    try:
        answer = answer_of(execute_tool_call(call("slow", text="x"), {"slow": slow}, retries=2))
    finally:
        release.set()
    assert answer.status == "error" and "did not finish within 0.05s" in answer.text
    assert len(starts) == 2  # retried once: the second attempt did not queue behind the first


def test_a_slow_side_effecting_tool_is_not_retried() -> None:
    release = threading.Event()
    starts: list[int] = []

    @tool
    def charge(amount: int) -> str:
        """Wait until released."""
        starts.append(amount)
        release.wait(5)
        return "charged"

    charge.metadata = {**SIDE_EFFECTS, "timeout_s": 0.05}
    try:
        answer = answer_of(execute_tool_call(call("charge", amount=1), {"charge": charge}))
    finally:
        release.set()
    assert "gave up waiting" in answer.text and starts == [1]


def test_the_idempotency_key_reaches_a_timed_tool() -> None:
    @tool
    def keyed(text: str) -> str:
        """Report the idempotency key the tool sees."""
        return f"{idempotency_key()}"

    for timeout_s in (5.0, None):
        with using_idempotency_key("thread-1:call-7"):
            outputs = execute_tool_call(
                call("keyed", text="x"), {"keyed": keyed}, timeout_s=timeout_s
            )
        assert answer_of(outputs).text == "thread-1:call-7"


def test_the_ledger_key_reaches_the_tool_in_a_graph() -> None:
    seen: list[str | None] = []

    @tool
    def refund(order_id: str) -> str:
        """Refund an order (records the idempotency key it was given)."""
        seen.append(idempotency_key())
        return "refunded"

    refund.metadata = {"side_effects": True, "idempotent": True}
    ledger = InMemoryLedger()
    model = ScriptedChatModel(replies=[tool_calls_reply(("refund", {"order_id": "A-1"})), "ok"])
    runtime = PatternRuntime(checkpointer=InMemorySaver(), ledger=ledger, tool_timeout_s=5)
    graph = build_react_graph(model, [refund], runtime=runtime)
    config = thread()
    graph.invoke(user("refund A-1"), config, context=AgentContext(approval_policy="never"))
    call_id = graph.get_state(config).values["messages"][1].tool_calls[0]["id"]
    assert seen == [f"{config['configurable']['thread_id']}:{call_id}"]


def test_a_full_pool_still_starts_every_job_at_once() -> None:
    workers = tool_execution._ToolWorkers(size=1, idle_s=0.05)
    release = threading.Event()
    stuck = workers.submit(lambda: release.wait(5))
    try:
        assert workers.submit(lambda: "ran").result(timeout=2) == "ran"
    finally:
        release.set()
    assert stuck.result(timeout=2) is True
    deadline = time.monotonic() + 2
    while workers._threads and time.monotonic() < deadline:  # idle workers retire
        time.sleep(0.01)
    assert workers._threads == 0


def test_errors_inside_a_worker_reach_the_caller() -> None:
    @tool
    def broken(text: str) -> str:
        """Fail."""
        raise ValueError("no such thing")

    answer = answer_of(execute_tool_call(call("broken", text="x"), {"broken": broken}, timeout_s=5))
    assert answer.status == "error" and "ValueError: no such thing" in answer.text


def test_the_async_path_runs_timed_tools() -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(("where", {"text": "a"})), "done"])
    graph = build_react_graph(model, [where], runtime=PatternRuntime(tool_timeout_s=5))
    out = asyncio.run(graph.ainvoke(user("go"), thread()))
    answers = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(answers) == 1 and answers[0].text.startswith("a@")
    assert out["messages"][-1].text == "done"


# -- binding tools once ----------------------------------------------------------------------


@pytest.fixture
def binds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the id of every model `bind_tools` is called on."""
    seen: list[int] = []
    original = ScriptedChatModel.bind_tools

    def counting(self: ScriptedChatModel, tools: Any, **kwargs: Any) -> Any:
        seen.append(id(self))
        return original(self, tools, **kwargs)

    monkeypatch.setattr(ScriptedChatModel, "bind_tools", counting)
    return seen


def test_tools_are_bound_once_per_model(binds: list[int]) -> None:
    replies = [tool_calls_reply(("where", {"text": str(i)})) for i in range(3)]
    model = ScriptedChatModel(replies=[*replies, "done"] * 2)
    graph = build_react_graph(model, [where])
    graph.invoke(user("go"), thread())
    graph.invoke(user("again"), thread())
    assert len(model.calls) == 8 and binds == [id(model)]


def test_the_bind_cache_is_small_and_per_model(binds: list[int]) -> None:
    bound = model_call_module._BoundTools([where], size=2)
    models = [ScriptedChatModel(replies=["x"]) for _ in range(3)]
    for model in [*models, models[2], models[0]]:
        bound(model)
    assert binds == [id(models[0]), id(models[1]), id(models[2]), id(models[0])]
    assert len(bound._bound) == 2  # the oldest model was let go
    assert model_call_module._BoundTools([])(models[0]) is models[0]  # no tools: no binding


def test_a_model_resolved_per_run_is_bound_once(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(("where", {"text": "a"})), "done"] * 2)
    monkeypatch.setattr(model_call_module, "model_for_spec", lambda spec: model)
    count: list[BaseTool] = []
    original = ScriptedChatModel.bind_tools

    def counting(self: ScriptedChatModel, tools: Any, **kwargs: Any) -> Any:
        count.extend(tools)
        return original(self, tools, **kwargs)

    monkeypatch.setattr(ScriptedChatModel, "bind_tools", counting)
    graph = build_react_graph(None, [where])
    for _ in range(2):
        out = graph.invoke(user("go"), thread(), context=AgentContext(model="x"))
        assert out["messages"][-1].text == "done"
    assert count == [where]
