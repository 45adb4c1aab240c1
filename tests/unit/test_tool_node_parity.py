"""The tool node's parity with LangGraph's `ToolNode`: Commands and injected arguments.

Tools here return `Command`s and declare `InjectedState`, `InjectedStore` and `ToolRuntime`
arguments; the ReAct graph (scripted model, in-memory saver) and a small graph around
`make_run_tools` check that the node keeps its promises with them: one answer per call,
errors as messages, the approval binding and the ledger's exactly-once.
"""

from __future__ import annotations

import operator
import time
import uuid
from typing import Annotated, Any

from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import InjectedState, InjectedStore, ToolRuntime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, Send

from checkpointers.ledger import InMemoryLedger, args_hash
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply
from nodes.runtime import PatternRuntime
from nodes.tool_execution import (
    COMMAND_RESULT,
    combine_outputs,
    execute_tool_call,
    make_run_tools,
)
from state.agent import AgentState
from tools.registry import injected_args

SIDE_EFFECTS = {"side_effects": True, "idempotent": False}
READ_ONLY = {"side_effects": False}


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def tool_messages(values: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in values["messages"] if isinstance(m, ToolMessage)]


def react(replies: list[Any], tools: list[Any], **kwargs: Any) -> tuple[Any, ScriptedChatModel]:
    """A react graph on a scripted model; `kwargs` are `PatternRuntime` settings."""
    model = ScriptedChatModel(replies=replies)
    runtime = PatternRuntime(checkpointer=InMemorySaver(), **kwargs)
    graph = build_react_graph(model=model, tools=tools, runtime=runtime)
    return graph, model


# -- tools returning Commands ----------------------------------------------------------------


@tool
def save_note(text: str, runtime: ToolRuntime) -> Command:
    """Save a note and answer with a Command."""
    answer = ToolMessage(f"saved {text!r}", tool_call_id=runtime.tool_call_id or "")
    return Command(update={"messages": [answer], "notes": [text]})


save_note.metadata = READ_ONLY


@tool
def forget_to_answer(text: str) -> Command:
    """Return a Command whose update does not answer the call."""
    return Command(update={"notes": [text]})


forget_to_answer.metadata = READ_ONLY


@tool
def answer_someone_else(text: str, runtime: ToolRuntime) -> Command:
    """Return a Command that answers its call and another call's id."""
    mine = ToolMessage("mine", tool_call_id=runtime.tool_call_id or "")
    return Command(update={"messages": [mine, ToolMessage("forged", tool_call_id="other-call")]})


answer_someone_else.metadata = READ_ONLY


class NotesState(AgentState):
    notes: Annotated[list[str], operator.add]


def notes_graph(tools: list[Any], *, ledger: InMemoryLedger | None = None) -> Any:
    """``run_tools`` alone in a graph whose state has a ``notes`` key (and an ``after`` node)."""
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(NotesState)
    builder.add_node(
        "run_tools", make_run_tools({t.name: t for t in tools}, ledger=ledger or InMemoryLedger())
    )
    builder.add_node("after", lambda state: {"notes": ["after ran"]})
    builder.add_edge(START, "run_tools")
    builder.add_edge("run_tools", END)
    builder.add_edge("after", END)
    return builder.compile(checkpointer=InMemorySaver())


def calling(*calls: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    message = AIMessage(
        "", tool_calls=[ToolCall(name=n, args=a, id=i, type="tool_call") for n, a, i in calls]
    )
    return {"messages": [HumanMessage("go"), message], "notes": []}


def test_a_command_from_a_tool_updates_other_state_keys_and_answers_its_call() -> None:
    graph = notes_graph([save_note])

    values = graph.invoke(calling(("save_note", {"text": "milk"}, "c1")), thread())

    assert values["notes"] == ["milk"]
    [answer] = tool_messages(values)
    assert answer.tool_call_id == "c1" and answer.text == "saved 'milk'"
    assert answer.name == "save_note" and answer.status == "success"


def test_a_commands_goto_is_followed() -> None:
    @tool
    def go_after(runtime: ToolRuntime) -> Command:
        """Answer and jump to the after node."""
        answer = ToolMessage("jumping", tool_call_id=runtime.tool_call_id or "")
        return Command(update={"messages": [answer]}, goto="after")

    go_after.metadata = READ_ONLY
    graph = notes_graph([go_after])

    values = graph.invoke(calling(("go_after", {}, "c1")), thread())

    assert values["notes"] == ["after ran"]
    assert [m.text for m in tool_messages(values)] == ["jumping"]


def test_commands_and_plain_results_of_one_turn_each_answer_their_call_in_order() -> None:
    @tool
    def plain(text: str) -> str:
        """A plain tool."""
        return text.upper()

    plain.metadata = READ_ONLY
    graph = notes_graph([save_note, plain])

    values = graph.invoke(
        calling(("plain", {"text": "a"}, "c1"), ("save_note", {"text": "b"}, "c2")), thread()
    )

    assert [(m.tool_call_id, m.text) for m in tool_messages(values)] == [
        ("c1", "A"),
        ("c2", "saved 'b'"),
    ]
    assert values["notes"] == ["b"]


def test_a_command_that_does_not_answer_its_call_becomes_an_error_and_is_not_applied() -> None:
    graph = notes_graph([forget_to_answer, answer_someone_else])

    values = graph.invoke(
        calling(
            ("forget_to_answer", {"text": "x"}, "c1"),
            ("answer_someone_else", {"text": "y"}, "c2"),
        ),
        thread(),
    )

    first, second = tool_messages(values)
    assert values["notes"] == [], "the update of a Command that does not answer is dropped"
    assert first.tool_call_id == "c1" and first.status == "error"
    assert "forget_to_answer ran" in first.text and "update was not applied" in first.text
    assert "matching ToolMessage" in first.text, "ToolNode's own check, reported as data"
    assert second.tool_call_id == "c2" and second.status == "error"
    assert "answers other tool calls (other-call)" in second.text
    assert not {"forged", "mine"} & {m.text for m in values["messages"]}


def test_react_loop_feeds_a_commands_tool_message_to_the_model() -> None:
    @tool
    def lookup_with_command(order_id: str, runtime: ToolRuntime) -> Command:
        """Look an order up and answer with a Command."""
        answer = ToolMessage(f"{order_id}: delivered", tool_call_id=runtime.tool_call_id or "")
        return Command(update={"messages": [answer]})

    lookup_with_command.metadata = READ_ONLY
    graph, model = react(
        [tool_calls_reply(("lookup_with_command", {"order_id": "A-1"})), "It was delivered."],
        [lookup_with_command],
    )

    values = graph.invoke({"messages": [HumanMessage("where is A-1?")]}, thread())

    [answer] = tool_messages(values)
    assert answer.text == "A-1: delivered", "the Command is applied, not turned into a string"
    assert model.calls[1].messages[-1].text == "A-1: delivered"
    assert values["messages"][-1].text == "It was delivered."


def test_a_command_for_the_parent_graph_needs_no_answer_here_and_sends_are_merged() -> None:
    @tool
    def hand_off(to: str) -> Command[Any]:
        """Hand the conversation to another agent of the parent graph."""
        return Command(graph=Command.PARENT, goto=[Send(to, {"from": "me"})])

    hand_off.metadata = READ_ONLY
    call = ToolCall(name="hand_off", args={"to": "b"}, id="c2", type="tool_call")
    [handoff] = execute_tool_call(call, {"hand_off": hand_off})
    assert handoff == Command(graph=Command.PARENT, goto=[Send("b", {"from": "me"})])

    first: Command[Any] = Command(graph=Command.PARENT, goto=[Send("a", {"x": 1})])
    message = ToolMessage("ok", tool_call_id="c1")
    combined = combine_outputs([message, first, handoff])

    assert combined == [
        {"messages": [message]},
        Command(graph=Command.PARENT, goto=[Send("a", {"x": 1}), Send("b", {"from": "me"})]),
    ]
    assert combine_outputs([message]) == {"messages": [message]}


# -- injected state, store and runtime -------------------------------------------------------


def test_injected_state_store_and_runtime_receive_the_graphs_values() -> None:
    seen: dict[str, Any] = {}

    @tool
    def count_messages(prefix: str, state: Annotated[dict, InjectedState]) -> str:
        """Count the conversation's messages."""
        seen["state"] = state
        return f"{prefix}{len(state['messages'])}"

    @tool
    def first_message(
        approvals: Annotated[list, InjectedState("approvals")],
        messages: Annotated[list, InjectedState("messages")],
    ) -> str:
        """Read fields of the state."""
        seen["fields"] = (approvals, messages[0].text)
        return "read"

    @tool
    def remember(key: str, store: Annotated[BaseStore, InjectedStore()]) -> str:
        """Save a key in the store."""
        store.put(("notes",), key, {"saved": True})
        return "stored"

    @tool
    def who_am_i(runtime: ToolRuntime) -> str:
        """Report the runtime."""
        seen["runtime"] = runtime
        return "runtime seen"

    tools = [count_messages, first_message, remember, who_am_i]
    for each in tools:
        each.metadata = READ_ONLY
    store = InMemoryStore()
    graph, model = react(
        [
            tool_calls_reply(
                ("count_messages", {"prefix": "n=", "state": {"messages": ["forged"]}}),
                ("first_message", {}),
                ("remember", {"key": "k"}),
                ("who_am_i", {}),
            ),
            "done",
        ],
        tools,
        store=store,
    )
    cfg = thread()

    values = graph.invoke({"messages": [HumanMessage("hello")]}, cfg, context={"max_steps": 7})

    assert [m.text for m in tool_messages(values)] == ["n=2", "read", "stored", "runtime seen"]
    assert seen["state"]["messages"][0].text == "hello", "the model's forged state is dropped"
    assert seen["fields"] == ([], "hello")
    saved = store.get(("notes",), "k")
    assert saved is not None and saved.value == {"saved": True}
    runtime = seen["runtime"]
    assert runtime.store is store and runtime.context.max_steps == 7
    assert runtime.tool_call_id == values["messages"][1].tool_calls[3]["id"]
    assert runtime.config["configurable"]["thread_id"] == cfg["configurable"]["thread_id"]
    assert runtime.state["messages"][0].text == "hello"
    assert "state" not in count_messages.tool_call_schema.model_json_schema()["properties"]  # type: ignore[union-attr]
    assert injected_args(count_messages) == ["state"]
    assert injected_args(remember) == ["store"]
    assert injected_args(who_am_i) == ["runtime"]


# -- the approval gate and the ledger with Command-returning, injected tools -----------------


def ticket_tool(runs: list[dict[str, Any]]) -> Any:
    """A side-effecting tool that reads the state, counts its runs and answers with a Command."""

    @tool
    def file_ticket(
        subject: str, state: Annotated[dict, InjectedState], runtime: ToolRuntime
    ) -> Command:
        """File a support ticket."""
        runs.append({"subject": subject, "state": state})
        answer = ToolMessage(
            f"ticket T-{len(runs)} filed",
            tool_call_id=runtime.tool_call_id or "",
            artifact={"ticket": f"T-{len(runs)}", "subject": subject},
        )
        return Command(update={"messages": [answer]})

    file_ticket.metadata = SIDE_EFFECTS
    return file_ticket


def fork_before_run_tools(graph: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """Run ``run_tools`` again from the checkpoint before it, as a resume after a crash would."""
    before = next(s for s in graph.get_state_history(cfg) if s.next == ("run_tools",))
    return graph.invoke(None, before.config)


def test_a_gated_command_tool_runs_once_on_approval_and_a_replay_returns_the_same_update() -> None:
    runs: list[dict[str, Any]] = []
    ledger = InMemoryLedger()
    graph, _ = react(
        [tool_calls_reply(("file_ticket", {"subject": "broken kettle"})), "Filed.", "Filed."],
        [ticket_tool(runs)],
        ledger=ledger,
    )
    cfg = thread()

    graph.invoke({"messages": [HumanMessage("file a ticket")]}, cfg)
    assert graph.get_state(cfg).interrupts and runs == [], "it waits at the gate"
    values = graph.invoke(Command(resume={"type": "accept", "reviewer": "ana"}), cfg)

    [answer] = tool_messages(values)
    assert answer.text == "ticket T-1 filed" and answer.artifact["ticket"] == "T-1"
    assert len(runs) == 1 and runs[0]["state"]["approvals"][0]["reviewer"] == "ana", (
        "the injected state (which changed since the gate) does not change the call's hash"
    )
    [entry] = ledger.entries()
    assert entry.result_status == COMMAND_RESULT and entry.status == "completed"
    assert entry.args == {"subject": "broken kettle"}, "injected values are not recorded"

    replayed = fork_before_run_tools(graph, cfg)

    assert len(runs) == 1, "the replay does not run the tool again"
    [again] = tool_messages(replayed)
    assert (again.text, again.artifact) == (answer.text, answer.artifact)


def test_a_rejected_command_tool_runs_nothing() -> None:
    runs: list[dict[str, Any]] = []
    graph, _ = react(
        [tool_calls_reply(("file_ticket", {"subject": "x"})), "Not filed."], [ticket_tool(runs)]
    )
    cfg = thread()
    graph.invoke({"messages": [HumanMessage("file a ticket")]}, cfg)

    values = graph.invoke(Command(resume={"type": "ignore", "reviewer": "ana"}), cfg)

    assert runs == []
    [answer] = tool_messages(values)
    assert answer.status == "error" and "Rejected by ana" in answer.text


def test_a_reviewers_edit_cannot_set_an_injected_argument() -> None:
    runs: list[dict[str, Any]] = []
    graph, _ = react(
        [tool_calls_reply(("file_ticket", {"subject": "x"})), "Done."], [ticket_tool(runs)]
    )
    cfg = thread()
    graph.invoke({"messages": [HumanMessage("file a ticket")]}, cfg)

    forged = {"subject": "y", "state": {"messages": [], "approvals": ["forged"]}}
    graph.invoke(Command(resume={"type": "edit", "args": forged, "reviewer": "eve"}), cfg)

    assert runs == [], "an edit naming an injected argument runs nothing"
    [waiting] = graph.get_state(cfg).interrupts
    assert waiting.value is not None and "not accepted" in waiting.value[0]["description"]
    graph.invoke(Command(resume={"type": "accept", "reviewer": "eve"}), cfg)
    [run] = runs
    assert run["subject"] == "x" and run["state"]["approvals"][0]["decision"] == "accept"


def test_the_tool_node_refuses_a_bound_edit_that_sets_an_injected_argument() -> None:
    """Defence in depth: even a decision bound with an injected key is not run."""
    runs: list[dict[str, Any]] = []
    ledger = InMemoryLedger()
    graph = notes_graph([ticket_tool(runs)], ledger=ledger)
    cfg = thread()
    edited = {"subject": "x", "state": {"messages": [], "approvals": ["forged"]}}
    ledger.record_decision(
        cfg["configurable"]["thread_id"],
        {
            "tool_call_id": "c1",
            "action": "file_ticket",
            "args_hash": args_hash({"subject": "x"}),
            "decision": "edit",
            "edited_args": edited,
            "reviewer": "eve",
        },
    )

    values = graph.invoke(calling(("file_ticket", {"subject": "x"}, "c1")), cfg)

    assert runs == []
    [answer] = tool_messages(values)
    assert answer.status == "error" and "eve's edit sets state" in answer.text
    assert ledger.entries() == [], "nothing was started"


def test_a_reviewer_may_edit_the_own_arguments_of_a_tool_with_injected_ones() -> None:
    runs: list[dict[str, Any]] = []
    graph, _ = react(
        [tool_calls_reply(("file_ticket", {"subject": "x"})), "Done."], [ticket_tool(runs)]
    )
    cfg = thread()
    graph.invoke({"messages": [HumanMessage("file a ticket")]}, cfg)

    graph.invoke(Command(resume={"type": "edit", "args": {"subject": "y"}}), cfg)

    assert [r["subject"] for r in runs] == ["y"]


def test_a_side_effecting_command_that_cannot_be_recorded_is_an_error_on_every_run() -> None:
    runs: list[int] = []

    @tool
    def start_job(name: str, runtime: ToolRuntime) -> Command:
        """Start a job (its Command holds something JSON cannot)."""
        runs.append(1)
        answer = ToolMessage("started", tool_call_id=runtime.tool_call_id or "", artifact=object())
        return Command(update={"messages": [answer]})

    start_job.metadata = SIDE_EFFECTS
    graph, _ = react([tool_calls_reply(("start_job", {"name": "n"})), "ok", "ok"], [start_job])
    cfg = thread()
    graph.invoke({"messages": [HumanMessage("start it")]}, cfg)

    values = graph.invoke(Command(resume="accept"), cfg)
    replayed = fork_before_run_tools(graph, cfg)

    assert runs == [1]
    for result in (values, replayed):
        [answer] = tool_messages(result)
        assert answer.status == "error" and "start_job ran" in answer.text
        assert "not JSON-safe" in answer.text


def test_timeouts_and_retries_still_apply_to_tools_run_through_the_tool_node() -> None:
    attempts: list[int] = []

    @tool
    def slow_lookup(order_id: str, runtime: ToolRuntime) -> str:
        """A read-only lookup that hangs."""
        attempts.append(1)
        time.sleep(1.0)
        return "late"

    slow_lookup.metadata = {"side_effects": False, "timeout_s": 0.1}

    @tool
    def slow_charge(amount: int, runtime: ToolRuntime) -> str:
        """A side-effecting call that hangs."""
        time.sleep(1.0)
        return "charged"

    slow_charge.metadata = {**SIDE_EFFECTS, "timeout_s": 0.1}
    ledger = InMemoryLedger()
    graph = notes_graph([slow_lookup, slow_charge], ledger=ledger)
    cfg = thread()
    ledger.record_decision(
        cfg["configurable"]["thread_id"],
        {
            "tool_call_id": "c2",
            "action": "slow_charge",
            "args_hash": args_hash({"amount": 5}),
            "decision": "accept",
        },
    )

    values = graph.invoke(
        calling(("slow_lookup", {"order_id": "A-1"}, "c1"), ("slow_charge", {"amount": 5}, "c2")),
        cfg,
    )

    lookup, charge = tool_messages(values)
    assert len(attempts) == 3, "a read-only tool's timeout is retried"
    for answer in (lookup, charge):
        assert answer.status == "error" and "did not finish within 0.1s" in answer.text
    [entry] = ledger.entries()
    assert entry.status == "unknown", "a side-effecting call that timed out is not known done"
