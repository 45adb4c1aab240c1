"""Benchmark (not a test): model calls per scenario, ours against langgraph-supervisor/-swarm.

Both sides run the same scripted *policies*: a `ScriptedChatModel` whose reply is a function of
the conversation and the bound tool names, so each framework's orchestration decides how often
the model is asked. Besides the count, each run is checked for what users of the upstream
packages report: every tool call answered (no dangling calls) and a final answer reached.

    pip install -e ".[bench]"      # langgraph-supervisor, langgraph-swarm (and langchain)
    python scripts/bench_multiagent.py [--json out.json]

Side-effect approval is turned off on our side (``approval_policy="never"``) so the two sides
do the same work; upstream has no approval gate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LANGSMITH_TRACING", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from demo.orders import lookup_order, search_help_docs  # noqa: E402
from demo.teams import publish_summary  # noqa: E402
from graphs.supervisor import build_supervisor_graph  # noqa: E402
from graphs.swarm import build_swarm_graph  # noqa: E402
from models import ScriptedChatModel, tool_calls_reply  # noqa: E402
from state.agent_spec import AgentSpec  # noqa: E402

Policy = Callable[[list[AnyMessage], list[str]], Any]
REQUEST = "My order A-1001 arrived broken. What is the refund policy for damaged items?"
BRIEF = "Research the refund policy for damaged items and write a short summary for customers."


def _tool_results(messages: list[AnyMessage], name: str) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage) and m.name == name]


def _called(tools: list[str], fragment: str) -> str:
    return next(t for t in tools if fragment in t and t.startswith(("transfer_to", "delegate")))


def _handoff_args(tool: str, task: str) -> dict[str, Any]:
    return {"task": task} if tool.startswith("delegate_to_") else {}


def _did(messages: list[AnyMessage], worker: str) -> bool:
    """Whether `worker` has reported back (our delegation result or upstream's agent message)."""
    for m in messages:
        name = getattr(m, "name", None) or ""
        if name == f"delegate_to_{worker}" or (isinstance(m, AIMessage) and name == worker):
            if m.text and not m.text.startswith(("Transferred", "Successfully transferred")):
                return True
    return False


# -- policies ------------------------------------------------------------------------------


def supervisor_policy(messages: list[AnyMessage], tools: list[str]) -> Any:
    if not _did(messages, "researcher"):
        tool = _called(tools, "researcher")
        return tool_calls_reply(
            (tool, _handoff_args(tool, "Find the refund policy for damaged items."))
        )
    if not _did(messages, "writer"):
        tool = _called(tools, "writer")
        return tool_calls_reply((tool, _handoff_args(tool, "Write a summary of the findings.")))
    return "The summary is published."


def researcher_policy(messages: list[AnyMessage], tools: list[str]) -> Any:
    if not _tool_results(messages, "search_help_docs"):
        return tool_calls_reply(("search_help_docs", {"query": "refund damaged items"}))
    return "Findings: damaged items are refunded in full without a return."


def writer_policy(messages: list[AnyMessage], tools: list[str]) -> Any:
    if not _tool_results(messages, "publish_summary"):
        body = "Damaged items are refunded in full, no return needed."
        return tool_calls_reply(("publish_summary", {"title": "Damaged items", "body": body}))
    return "Published the summary."


def shipping_policy(together: bool) -> Policy:
    def policy(messages: list[AnyMessage], tools: list[str]) -> Any:
        looked = _tool_results(messages, "lookup_order")
        handoff = _called(tools, "billing")
        if together and not looked:
            return tool_calls_reply(("lookup_order", {"order_id": "A-1001"}), (handoff, {}))
        if not looked:
            return tool_calls_reply(("lookup_order", {"order_id": "A-1001"}))
        return tool_calls_reply((handoff, {}))

    return policy


def billing_policy(messages: list[AnyMessage], tools: list[str]) -> Any:
    if not _tool_results(messages, "search_help_docs"):
        return tool_calls_reply(("search_help_docs", {"query": "refund damaged items"}))
    return "Damaged items are refunded in full; I can start the refund for A-1001."


# -- runs ----------------------------------------------------------------------------------


def _model(policy: Policy) -> ScriptedChatModel:
    return ScriptedChatModel(replies=[policy], cycle=True)


def _check(messages: list[AnyMessage]) -> dict[str, Any]:
    calls = {c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    last = messages[-1]
    return {
        "dangling_tool_calls": len(calls - answered),
        "final_answer": isinstance(last, AIMessage) and not last.tool_calls and bool(last.text),
    }


def _invoke(graph: Any, request: str, **kwargs: Any) -> list[AnyMessage]:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 80}
    return list(graph.invoke({"messages": [("user", request)]}, config, **kwargs)["messages"])


def ours_supervisor() -> tuple[int, dict[str, Any]]:
    models = [_model(supervisor_policy), _model(researcher_policy), _model(writer_policy)]
    workers = [
        AgentSpec(
            "researcher",
            "looks facts up in the help centre",
            tools=[search_help_docs],
            model=models[1],
        ),
        AgentSpec(
            "writer", "writes and publishes summaries", tools=[publish_summary], model=models[2]
        ),
    ]
    graph = build_supervisor_graph(workers, model=models[0], checkpointer=InMemorySaver())
    messages = _invoke(graph, BRIEF, context={"approval_policy": "never"})
    return sum(len(m.calls) for m in models), _check(messages)


def upstream_supervisor() -> tuple[int, dict[str, Any]]:
    from langchain.agents import create_agent
    from langgraph_supervisor import create_supervisor

    models = [_model(supervisor_policy), _model(researcher_policy), _model(writer_policy)]
    agents = [
        create_agent(models[1], tools=[search_help_docs], name="researcher"),
        create_agent(models[2], tools=[publish_summary], name="writer"),
    ]
    graph = create_supervisor(agents, model=models[0]).compile(checkpointer=InMemorySaver())
    messages = _invoke(graph, BRIEF)
    return sum(len(m.calls) for m in models), _check(messages)


def _swarm_agents(together: bool, models: list[ScriptedChatModel]) -> list[AgentSpec]:
    return [
        AgentSpec(
            "shipping", "delivery and tracking", "You track orders.", (lookup_order,), models[0]
        ),
        AgentSpec(
            "billing", "refunds and payments", "You handle refunds.", (search_help_docs,), models[1]
        ),
    ]


def ours_swarm(together: bool) -> tuple[int, dict[str, Any]]:
    models = [_model(shipping_policy(together)), _model(billing_policy)]
    graph = build_swarm_graph(_swarm_agents(together, models), checkpointer=InMemorySaver())
    messages = _invoke(graph, REQUEST, context={"approval_policy": "never"})
    return sum(len(m.calls) for m in models), _check(messages)


def upstream_swarm(together: bool) -> tuple[int, dict[str, Any]]:
    from langchain.agents import create_agent
    from langgraph_swarm import create_handoff_tool, create_swarm

    models = [_model(shipping_policy(together)), _model(billing_policy)]
    agents = [
        create_agent(
            models[0],
            tools=[lookup_order, create_handoff_tool(agent_name="billing")],
            name="shipping",
        ),
        create_agent(
            models[1],
            tools=[search_help_docs, create_handoff_tool(agent_name="shipping")],
            name="billing",
        ),
    ]
    graph = create_swarm(agents, default_active_agent="shipping").compile(
        checkpointer=InMemorySaver()
    )
    messages = _invoke(graph, REQUEST)
    return sum(len(m.calls) for m in models), _check(messages)


SCENARIOS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "supervisor: research, then write": (ours_supervisor, upstream_supervisor),
    "swarm: look up, then hand off": (lambda: ours_swarm(False), lambda: upstream_swarm(False)),
    "swarm: tool call and handoff in one turn": (
        lambda: ours_swarm(True),
        lambda: upstream_swarm(True),
    ),
}


def _run(func: Callable[[], Any]) -> dict[str, Any]:
    try:
        calls, check = func()
    except Exception as exc:  # noqa: BLE001 - a failing framework is a result, not a crash
        return {"model_calls": None, "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"model_calls": calls, **check}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    rows = []
    for scenario, (ours, upstream) in SCENARIOS.items():
        rows.append({"scenario": scenario, "ours": _run(ours), "upstream": _run(upstream)})
    print(f"{'scenario':<42} {'ours':>6} {'upstream':>9}  notes")
    for row in rows:
        notes = []
        for side in ("ours", "upstream"):
            result = row[side]
            if result.get("error"):
                notes.append(f"{side}: {result['error']}")
            elif result["dangling_tool_calls"] or not result["final_answer"]:
                notes.append(
                    f"{side}: {result['dangling_tool_calls']} dangling call(s), "
                    f"final answer {'yes' if result['final_answer'] else 'no'}"
                )
        ours_n, up_n = row["ours"].get("model_calls"), row["upstream"].get("model_calls")
        print(f"{row['scenario']:<42} {ours_n!s:>6} {up_n!s:>9}  {'; '.join(notes) or 'ok'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
