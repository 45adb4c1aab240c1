"""The parallel graph: each aggregation, quorum, timeouts, real concurrency (sync and async),
an approval inside a branch, misbehaving synthesizer and judge, and the served incident triage."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.pregel import Pregel
from langgraph.types import Command
from pydantic import BaseModel

from demo.incident import INCIDENT_REQUEST, incident_branches
from graphs.parallel import build_parallel_graph, graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.parallel_aggregate import normalize_answer
from state.agent_spec import AgentSpec
from state.parallel import Score
from tests.snapshots import assert_matches_snapshot
from tools.registry import agent_tool

REQUEST = {"messages": [HumanMessage("What is the capital of France?")]}


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def answering(
    reply: Callable[[str], str], calls: list[str] | None = None
) -> Pregel[Any, Any, Any, Any]:
    """A one-node graph answering the request with ``reply(request)`` (sync)."""

    def answer(state: MessagesState) -> dict[str, Any]:
        text = reply(state["messages"][-1].text)
        if calls is not None:
            calls.append(text)
        return {"messages": [AIMessage(text)]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer).add_edge(START, "answer")
    return builder.compile()


def fixed(*answers: str, calls: list[str] | None = None) -> list[AgentSpec]:
    """Branches b0, b1, ... answering `answers` in order."""
    return [
        AgentSpec(f"b{i}", f"branch {i}", graph=answering(lambda _, a=a: a, calls))
        for i, a in enumerate(answers)
    ]


def failing(name: str) -> AgentSpec:
    def boom(_: str) -> str:
        raise RuntimeError(f"{name} broke")

    return AgentSpec(name, f"{name} fails", graph=answering(boom))


def test_structure_matches_snapshot() -> None:
    assert_matches_snapshot("parallel", graph.get_graph().draw_mermaid())


def test_synthesis_reads_every_branch_output() -> None:
    synthesizer = ScriptedChatModel(replies=["Paris, say all three."])
    compiled = build_parallel_graph(fixed("Paris", "paris.", "PARIS"), synthesizer=synthesizer)

    out = compiled.invoke(REQUEST)

    prompt = synthesizer.calls[0].last_text
    assert all(f"[b{i}] done" in prompt for i in range(3)) and "paris." in prompt
    assert out["messages"][-1].text.startswith("Paris, say all three.")
    assert "- b2: done" in out["messages"][-1].text


def test_vote_counts_normalised_answers_and_reports_the_distribution() -> None:
    config = thread()
    compiled = build_parallel_graph(
        fixed("Lyon", ' "Paris." ', "paris"), aggregate="vote", checkpointer=InMemorySaver()
    )

    out = compiled.invoke(REQUEST, config)

    values = compiled.get_state(config).values
    assert values["votes"] == {"lyon": ["b0"], "paris": ["b1", "b2"]}
    assert values["winner"] == "b1" and values["confidence"] == pytest.approx(2 / 3)
    assert out["messages"][-1].text.startswith(' "Paris." ')
    assert "2 of 3 successful branches agree (confidence 67%)" in out["messages"][-1].text


def test_a_vote_tie_goes_to_the_earliest_declared_branch() -> None:
    config = thread()
    compiled = build_parallel_graph(
        fixed("B", "A", "a", "b"), aggregate="vote", quorum=4, checkpointer=InMemorySaver()
    )

    compiled.invoke(REQUEST, config)

    values = compiled.get_state(config).values
    assert values["winner"] == "b0" and values["confidence"] == 0.5


def test_normalisation() -> None:
    assert normalize_answer("  'Yes!'  ") == normalize_answer("yes") == "yes"
    assert normalize_answer("Roll  back\nnow.") == "roll back now"
    assert normalize_answer("no") != normalize_answer("yes")


def test_best_of_picks_the_highest_score_ties_to_the_earliest() -> None:
    judge = ScriptedChatModel(
        replies=[Score(score=0.4), Score(score=0.9, reason="complete"), Score(score=0.9)]
    )
    config = thread()
    compiled = build_parallel_graph(
        fixed("short", "long and right", "also right"),
        aggregate="best_of",
        judge=judge,
        checkpointer=InMemorySaver(),
    )

    out = compiled.invoke(REQUEST, config)

    values = compiled.get_state(config).values
    assert values["winner"] == "b1" and values["confidence"] == 0.9
    assert [s["score"] for s in values["scores"].values()] == [0.4, 0.9, 0.9]
    assert "Answer (b0):\nshort" in judge.calls[0].last_text
    assert out["messages"][-1].text.startswith("long and right")
    assert "b1 scored 0.90 (complete)" in out["messages"][-1].text


def test_a_failed_branch_is_reported_and_the_rest_aggregate_at_quorum() -> None:
    synthesizer = ScriptedChatModel(replies=["From two of three."])
    config = thread()
    compiled = build_parallel_graph(
        [*fixed("one", "two"), failing("bad")],
        synthesizer=synthesizer,
        checkpointer=InMemorySaver(),
    )

    out = compiled.invoke(REQUEST, config)

    results = compiled.get_state(config).values["branch_results"]
    assert results["bad"]["status"] == "failed"
    assert "RuntimeError: bad broke" in results["bad"]["error"]
    assert "[bad] failed" in synthesizer.calls[0].last_text
    assert "- bad: failed - bad failed: RuntimeError: bad broke" in out["messages"][-1].text
    assert compiled.get_state(config).values["status"] == "answered"


def test_below_quorum_the_run_ends_saying_so_without_aggregating() -> None:
    synthesizer = ScriptedChatModel(replies=[])
    config = thread()
    compiled = build_parallel_graph(
        [*fixed("one"), failing("bad"), failing("worse")],
        synthesizer=synthesizer,
        checkpointer=InMemorySaver(),
    )

    out = compiled.invoke(REQUEST, config)

    assert compiled.get_state(config).values["status"] == "below_quorum"
    text = out["messages"][-1].text
    assert "Only 1 of 3 branches succeeded and at least 2 are needed" in text
    assert "- worse: failed" in text and not synthesizer.calls


def test_factory_validation() -> None:
    with pytest.raises(ValueError, match="quorum must be between 1 and 2"):
        build_parallel_graph(fixed("a", "b"), quorum=3)
    with pytest.raises(ValueError, match="aggregate must be one of"):
        build_parallel_graph(fixed("a"), aggregate="average")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reserved"):
        build_parallel_graph([AgentSpec("aggregate", "x", graph=answering(str))])
    with pytest.raises(ValueError, match="branch_timeout_s must be positive"):
        build_parallel_graph(fixed("a"), branch_timeout_s=0)


# -- timeouts ----------------------------------------------------------------------------------


def _stuck(release: threading.Event) -> AgentSpec:
    def wait(_: str) -> str:
        release.wait(timeout=30)
        return "too late"

    return AgentSpec("stuck", "never answers in time", graph=answering(wait))


def test_a_timed_out_branch_is_reported_and_the_others_aggregate() -> None:
    release = threading.Event()
    config = thread()
    compiled = build_parallel_graph(
        [*fixed("yes", "yes"), _stuck(release)],
        aggregate="vote",
        branch_timeout_s=0.3,
        checkpointer=InMemorySaver(),
    )
    try:
        out = compiled.invoke(REQUEST, config)
    finally:
        release.set()

    values = compiled.get_state(config).values
    assert values["branch_results"]["stuck"] == {
        "status": "timed_out",
        "output": "",
        "error": "stuck timed out after 0.3 s",
    }
    assert values["winner"] == "b0" and values["confidence"] == 1.0
    assert "- stuck: timed_out - stuck timed out after 0.3 s" in out["messages"][-1].text


async def test_a_timed_out_branch_is_cancelled_async() -> None:
    cancelled = asyncio.Event()

    async def never(state: MessagesState) -> dict[str, Any]:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"messages": [AIMessage("too late")]}

    builder = StateGraph(MessagesState)
    builder.add_node("never", never).add_edge(START, "never")
    stuck = AgentSpec("stuck", "never answers", graph=builder.compile())
    compiled = build_parallel_graph(
        [*fixed("yes"), stuck], aggregate="vote", quorum=1, branch_timeout_s=0.3
    )

    out = await compiled.ainvoke(REQUEST)

    assert cancelled.is_set()
    assert "- stuck: timed_out - stuck timed out after 0.3 s" in out["messages"][-1].text


# -- concurrency -------------------------------------------------------------------------------

K = 20


def test_twenty_branches_run_at_the_same_time_sync() -> None:
    """Each branch waits at a barrier all K must reach: it breaks (10 s) unless all run at once."""
    barrier = threading.Barrier(K, timeout=10)

    def meet(_: str) -> str:
        barrier.wait()
        return "met"

    specs = [AgentSpec(f"b{i}", "waits for all", graph=answering(meet)) for i in range(K)]
    compiled = build_parallel_graph(specs, aggregate="vote", checkpointer=InMemorySaver())
    config = thread()

    compiled.invoke(REQUEST, config)

    results = compiled.get_state(config).values["branch_results"]
    assert [r["status"] for r in results.values()] == ["done"] * K
    assert not barrier.broken


async def test_twenty_branches_run_at_the_same_time_async() -> None:
    barrier = asyncio.Barrier(K)

    async def meet(state: MessagesState) -> dict[str, Any]:
        await asyncio.wait_for(barrier.wait(), timeout=10)
        return {"messages": [AIMessage("met")]}

    def spec(i: int) -> AgentSpec:
        builder = StateGraph(MessagesState)
        builder.add_node("meet", meet).add_edge(START, "meet")
        return AgentSpec(f"b{i}", "waits for all", graph=builder.compile())

    compiled = build_parallel_graph(
        [spec(i) for i in range(K)], aggregate="vote", checkpointer=InMemorySaver()
    )
    config = thread()

    await compiled.ainvoke(REQUEST, config)

    results = (await compiled.aget_state(config)).values["branch_results"]
    assert [r["status"] for r in results.values()] == ["done"] * K


# -- an approval inside a branch ---------------------------------------------------------------


class ServiceArgs(BaseModel):
    service: str


def _approval_case(timeout: float | None = None) -> tuple[Any, list[str], list[str]]:
    restarted: list[str] = []

    @agent_tool(args_schema=ServiceArgs, side_effects=True)
    def restart_service(service: str) -> str:
        """Restart a service. Changes production."""
        restarted.append(service)
        return f"{service} restarted"

    operator = AgentSpec(
        "operator",
        "restarts services",
        tools=[restart_service],
        model=ScriptedChatModel(
            replies=[tool_calls_reply(("restart_service", {"service": "checkout"})), "Restarted."]
        ),
    )
    reader_calls: list[str] = []
    compiled = build_parallel_graph(
        [operator, *fixed("Logs look fine.", calls=reader_calls)],
        synthesizer=ScriptedChatModel(replies=["Checkout restarted; logs fine."]),
        branch_timeout_s=timeout,
        checkpointer=InMemorySaver(),
    )
    return compiled, restarted, reader_calls


@pytest.mark.parametrize("timeout", [None, 5.0], ids=["no-timeout", "in-a-timed-thread"])
def test_an_approval_inside_a_branch_pauses_the_run_and_resumes_inside_it(
    timeout: float | None,
) -> None:
    compiled, restarted, reader_calls = _approval_case(timeout)
    config = thread()

    compiled.invoke(REQUEST, config)

    (pending,) = compiled.get_state(config).interrupts
    assert pending.value[0]["action_request"] == {
        "action": "restart_service",
        "args": {"service": "checkout"},
    }
    assert restarted == [] and reader_calls == ["Logs look fine."]
    decision = {"type": "accept", "reviewer": "ops"}
    out = compiled.invoke(Command(resume={pending.id: decision}), config)

    assert restarted == ["checkout"]
    assert reader_calls == ["Logs look fine."], "a finished branch ran again after the resume"
    values = compiled.get_state(config).values
    assert values["branch_results"]["operator"]["output"] == "Restarted."
    assert [(a["action"], a["branch"]) for a in values["approvals"]] == [
        ("restart_service", "operator")
    ]
    assert out["messages"][-1].text.startswith("Checkout restarted; logs fine.")


async def test_an_approval_inside_a_branch_async() -> None:
    compiled, restarted, reader_calls = _approval_case()
    config = thread()

    await compiled.ainvoke(REQUEST, config)
    (pending,) = (await compiled.aget_state(config)).interrupts
    await compiled.ainvoke(Command(resume={pending.id: {"type": "accept"}}), config)

    assert restarted == ["checkout"] and reader_calls == ["Logs look fine."]
    values = (await compiled.aget_state(config)).values
    assert values["status"] == "answered"


# -- misbehaving synthesizer and judge ---------------------------------------------------------


def test_a_judge_without_a_valid_score_ends_cleanly_with_the_reason() -> None:
    judge = ScriptedChatModel(replies=[{"score": 7}], cycle=True)
    config = thread()
    compiled = build_parallel_graph(
        fixed("a", "b"), aggregate="best_of", judge=judge, checkpointer=InMemorySaver()
    )

    out = compiled.invoke(REQUEST, config)

    values = compiled.get_state(config).values
    assert values["status"] == "invalid_output"
    assert values["invalid_output"]["schema"] == "Score"
    assert out["messages"][-1].text.startswith("No answer was picked: the judge gave no valid")
    assert "- b1: done" in out["messages"][-1].text


def test_an_empty_synthesis_ends_cleanly() -> None:
    config = thread()
    compiled = build_parallel_graph(
        fixed("a"), synthesizer=ScriptedChatModel(replies=["  "]), checkpointer=InMemorySaver()
    )

    out = compiled.invoke(REQUEST, config)

    assert compiled.get_state(config).values["status"] == "invalid_output"
    assert "the synthesizer gave an empty answer" in out["messages"][-1].text


def test_a_synthesizer_that_raises_ends_the_run_cleanly() -> None:
    broken = ScriptedChatModel(replies=[ValueError("model exploded")], cycle=True)
    compiled = build_parallel_graph(fixed("a"), synthesizer=broken)

    out = compiled.invoke(REQUEST)

    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    assert last.text.startswith("No answer: the synthesizer failed: ValueError: model exploded")
    assert "[b0] done: a" in last.text


# -- nesting and the served scenario -----------------------------------------------------------


def test_a_branch_may_be_another_parallel_graph() -> None:
    """A nested vote's message is its answer, then its report after a blank line."""
    inner = build_parallel_graph(fixed("yes", "yes", "no"), aggregate="vote")
    outer = build_parallel_graph(
        [AgentSpec("panel", "a voting panel", graph=inner), *fixed("yes")],
        aggregate="vote",
        normalize=lambda text: normalize_answer(text.split("\n\n")[0]),
    )

    out = outer.invoke(REQUEST)

    assert "2 of 2 successful branches agree" in out["messages"][-1].text


def test_the_incident_triage_runs_offline_on_the_demo_model() -> None:
    out = graph.invoke({"messages": [HumanMessage(INCIDENT_REQUEST)]}, context={"model": "demo"})

    text = out["messages"][-1].text
    assert "v2.14.0" in text and "Confidence: high (3 of 3" in text
    assert "Safest next action: Roll back checkout to v2.13.2" in text


def test_the_commander_holds_without_the_deployments_evidence() -> None:
    specs = [s for s in incident_branches() if s.name != "deployments"] + [failing("deployments")]
    compiled = build_parallel_graph(specs, synthesis_instructions="Command.")

    out = compiled.invoke({"messages": [HumanMessage(INCIDENT_REQUEST)]})

    text = out["messages"][-1].text
    assert "Confidence: medium (2 of 3" in text and "Missing evidence: deployments" in text
    assert "do not change production blind" in text


def test_branch_stand_ins_are_per_branch_role() -> None:
    """The incident's stand-ins play its own specialists only; another spec branch on the
    demo model runs on the demo model itself."""
    other = AgentSpec("logs_elsewhere", "reads other logs", tools=incident_branches()[0].tools)
    config = thread()
    compiled = build_parallel_graph(
        [incident_branches()[0], other], aggregate="vote", quorum=1, checkpointer=InMemorySaver()
    )

    compiled.invoke(
        {"messages": [HumanMessage(INCIDENT_REQUEST)]}, config, context={"model": "demo"}
    )

    results = compiled.get_state(config).values["branch_results"]
    assert results["logs"]["output"].startswith("logs findings:\n- search_app_logs:")
    assert results["logs_elsewhere"]["status"] == "done"
    assert not results["logs_elsewhere"]["output"].startswith("logs_elsewhere findings:")


async def test_twenty_react_branches_run_at_the_same_time_async() -> None:
    """Sync model nodes of an async run use the loop's default pool: it must fit all K."""
    barrier = threading.Barrier(K, timeout=10)

    def meet(messages: list[Any]) -> str:
        barrier.wait()
        return "met"

    specs = [
        AgentSpec(f"b{i}", "waits for all", model=ScriptedChatModel(replies=[meet]))
        for i in range(K)
    ]
    compiled = build_parallel_graph(specs, aggregate="vote", checkpointer=InMemorySaver())
    config = thread()

    await compiled.ainvoke(REQUEST, config)

    results = (await compiled.aget_state(config)).values["branch_results"]
    assert [r["status"] for r in results.values()] == ["done"] * K
    assert not barrier.broken
