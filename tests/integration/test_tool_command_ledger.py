"""A side-effecting tool that returns a `Command`, on Postgres: gated, run once, replayed.

Each step uses its own saver and graph, as separate processes would: the ledger (Postgres
tables next to the checkpoints) is what makes a replay return the recorded Command instead
of running the tool again.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import InjectedState, ToolRuntime
from langgraph.types import Command

from checkpointers import open_checkpointer
from checkpointers.ledger_postgres import PostgresLedger
from graphs.react import build_react_graph
from models import ScriptedChatModel
from nodes.tool_execution import COMMAND_RESULT

pytestmark = pytest.mark.postgres

RUNS: list[dict[str, Any]] = []


@tool
def file_ticket(
    subject: str, state: Annotated[dict[str, Any], InjectedState], runtime: ToolRuntime
) -> Command[Any]:
    """File a support ticket (counted in RUNS) and answer with a Command."""
    RUNS.append({"subject": subject, "approvals": list(state.get("approvals") or [])})
    answer = ToolMessage(
        f"ticket T-{len(RUNS)} filed",
        tool_call_id=runtime.tool_call_id or "",
        artifact={"ticket": f"T-{len(RUNS)}"},
    )
    return Command(update={"messages": [answer]})


file_ticket.metadata = {"side_effects": True, "idempotent": False}
TOOLS: list[BaseTool] = [file_ticket]


def call_reply(call_id: str) -> AIMessage:
    return AIMessage(
        "",
        tool_calls=[
            ToolCall(name="file_ticket", args={"subject": "kettle"}, id=call_id, type="tool_call")
        ],
    )


def graph_on(saver: Any, call_id: str) -> Any:
    model = ScriptedChatModel(replies=[call_reply(call_id), "Filed."], index_by="turn")
    return build_react_graph(model=model, tools=TOOLS, checkpointer=saver)


@pytest.fixture(autouse=True)
def _no_runs() -> None:
    RUNS.clear()


def tool_messages(values: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def test_a_command_tool_runs_once_and_a_replay_after_a_resume_returns_its_command(
    postgres_url: str,
) -> None:
    cfg = {"configurable": {"thread_id": f"cmd-{uuid.uuid4().hex[:8]}"}}
    with open_checkpointer(postgres_url) as saver:
        graph_on(saver, "call-1").invoke(
            {"messages": [HumanMessage("file a ticket")]}, cfg, durability="sync"
        )
    assert RUNS == [], "it waits at the gate"

    with open_checkpointer(postgres_url) as saver:  # another process resumes
        graph = graph_on(saver, "call-1")
        values = graph.invoke(
            Command(resume={"type": "accept", "reviewer": "ana"}), cfg, durability="sync"
        )
    [answer] = tool_messages(values)
    assert (answer.text, answer.artifact) == ("ticket T-1 filed", {"ticket": "T-1"})
    assert len(RUNS) == 1 and RUNS[0]["approvals"][0]["reviewer"] == "ana"
    [entry] = PostgresLedger(postgres_url).entries(cfg["configurable"]["thread_id"])
    assert (entry.status, entry.result_status) == ("completed", COMMAND_RESULT)
    assert entry.args == {"subject": "kettle"}, "injected state is not part of the record"

    with open_checkpointer(postgres_url) as saver:  # a third process re-runs the tool step
        graph = graph_on(saver, "call-1")
        before = next(s for s in graph.get_state_history(cfg) if s.next == ("run_tools",))
        replayed = graph.invoke(None, before.config, durability="sync")

    assert len(RUNS) == 1, "the replay returned the recorded Command; the tool did not run"
    [again] = tool_messages(replayed)
    assert (again.text, again.artifact, again.tool_call_id) == (
        answer.text,
        answer.artifact,
        "call-1",
    )


def test_a_command_tool_cut_short_is_reported_unknown_not_run_again(postgres_url: str) -> None:
    cfg = {"configurable": {"thread_id": f"cmd-{uuid.uuid4().hex[:8]}"}}
    with open_checkpointer(postgres_url) as saver:
        graph = graph_on(saver, "call-2")
        graph.invoke({"messages": [HumanMessage("file a ticket")]}, cfg, durability="sync")
        ledger = PostgresLedger(postgres_url)
        ledger.begin(
            cfg["configurable"]["thread_id"], "call-2", "file_ticket", {"subject": "kettle"}
        )
        values = graph.invoke(Command(resume="accept"), cfg, durability="sync")

    assert RUNS == [], "a started attempt of a non-idempotent tool is not repeated"
    [answer] = tool_messages(values)
    assert answer.status == "error" and answer.text.startswith("Outcome unknown")
