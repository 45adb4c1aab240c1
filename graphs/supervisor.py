"""Supervisor: a model delegates tasks to worker agents and decides what comes next.

The supervisor is a tool loop whose tools are ``delegate_to_<worker>(task)``. Each delegation
call is sent (`Send`) to that worker's node, which runs the worker's compiled graph *inside*
the node with only the task as input (or the transcript too, when asked) and answers the call
with one `ToolMessage` carrying the worker's result. Parallel delegations run in parallel; the
supervisor reads the results and delegates again or answers. A worker may be any compiled
graph taking ``{"messages": [...]}``: a ReAct agent, or another supervisor (a hierarchy).

    call_model ──(no tool calls)────────────► END
        │ ├──(budget used up)──► stop_at_budget ─► END
        │ ├──(delegations)─────► <worker> (one Send per call) ─► call_model
        │ ├──(side effects)────► approval_gate ─► run_tools ─┐
        │ └──(other calls)─────► run_tools ──(delegations?)──┴─► <worker> / call_model

Because the worker runs inside a node, it shares the run's checkpointer: an approval gate
inside a worker interrupts the whole run (the interrupt is on the top-level thread), and on
resume the node re-runs and the worker continues from its own checkpoint, without redoing
finished steps. ``stream(..., subgraphs=True)`` yields the workers' steps and tokens under the
namespace ``("<worker>:<task id>", ...)`` with ``lc_agent_name`` in the metadata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send
from pydantic import BaseModel, Field, ValidationError

from checkpointers.ledger import EffectLedger, default_ledger
from demo.effects import record_effect
from demo.orders import lookup_order, search_help_docs
from graphs._compile import compile_pattern
from graphs.react import build_react_graph
from nodes.approval_gate import gate_sends, make_approval_gate, needs_approval
from nodes.budget import RECURSION_HEADROOM, model_calls_this_turn, stop_at_budget
from nodes.context import context_as
from nodes.model_call import make_call_model
from nodes.retry import MODEL_RETRY
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S, make_run_tools
from state.agent import AgentInput
from state.supervisor import (
    DelegationRecord,
    DelegationStatus,
    SupervisorContext,
    SupervisorOutput,
    SupervisorState,
    WorkerTask,
)
from tools.idempotency import idempotency_key
from tools.registry import ToolRegistry, agent_tool

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "DELEGATION_PREFIX",
    "OutputMode",
    "Worker",
    "build_supervisor_graph",
    "default_workers",
    "graph",
    "make_delegation_tool",
    "publish_summary",
]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per supervisor run; a delegation round takes two (model, worker)."""

DELEGATION_PREFIX = "delegate_to_"
OutputMode = Literal["last_message", "full_history"]
_RESERVED = {"call_model", "approval_gate", "run_tools", "stop_at_budget"}
_SHARED_CONTEXT = ("model", "approval_policy", "max_steps", "approval_timeout_s")


# -- delegation tools ------------------------------------------------------------------------


class DelegationArgs(BaseModel):
    """Arguments of a delegation tool."""

    task: str = Field(
        description="The task for the worker, self-contained: it sees nothing else.",
        min_length=2,
    )


def make_delegation_tool(worker: str, description: str) -> BaseTool:
    """A ``delegate_to_<worker>(task)`` tool whose description says what the worker does.

    The supervisor graph answers these calls with worker nodes, not by running the tool; its
    function only reports the delegation when called outside the graph. Read-only.

    Args:
        worker: the worker's name (its node name).
        description: what the worker is for, shown to the model choosing whom to call.
    """

    def delegate(task: str) -> str:
        return f"Delegated to {worker}: {task}"

    delegate.__doc__ = f"Delegate a task to {worker}: {description}"
    return agent_tool(
        args_schema=DelegationArgs, side_effects=False, name=DELEGATION_PREFIX + worker
    )(delegate)


@dataclass(frozen=True)
class Worker:
    """A worker agent the supervisor can delegate to.

    Attributes:
        name: node name and tool suffix (``delegate_to_<name>``); letters, digits, ``_``.
        graph: a compiled graph taking ``{"messages": [...]}`` and returning ``messages``;
            compile it without a checkpointer, it shares the supervisor's.
        description: what the worker does (the delegation tool's description).
        prompt: the worker's system prompt; None keeps the worker's own default.
        pass_full_history: also give this worker the supervisor's transcript; None follows
            the supervisor's setting.
    """

    name: str
    graph: Pregel[Any, Any, Any, Any]
    description: str
    prompt: str | None = None
    pass_full_history: bool | None = field(default=None)


# -- the demo workers (research + writing) ---------------------------------------------------

RESEARCHER_PROMPT = (
    "You are a researcher. Look facts up in the help centre and the order system with your "
    "tools and report them briefly, citing what the tools returned. Never invent facts."
)
WRITER_PROMPT = (
    "You are a writer. Write a short, clear summary from the facts in your task and publish "
    "it with publish_summary (a person reviews publications). Do not add facts."
)


class PublishSummaryArgs(BaseModel):
    """Arguments of `publish_summary`."""

    title: str = Field(description="Title of the summary.", min_length=3, max_length=300)
    body: str = Field(description="The summary text.", min_length=3)


@agent_tool(args_schema=PublishSummaryArgs, side_effects=True, idempotent=True)
def publish_summary(title: str, body: str) -> dict[str, Any]:
    """Publish a written summary to the team knowledge base (visible to the whole team)."""
    digest = hashlib.sha256(f"{title}|{body}|{idempotency_key() or ''}".encode()).hexdigest()
    summary_id = f"SUM-{digest[:8].upper()}"
    recorded = record_effect("summary", {"summary_id": summary_id, "title": title, "body": body})
    return {"summary_id": recorded["summary_id"], "title": title, "status": "published"}


def default_workers(
    model: BaseChatModel | None = None, *, ledger: EffectLedger | None = None
) -> list[Worker]:
    """The research + writing team: a read-only researcher and a writer that publishes.

    Args:
        model: chat model for both workers; None resolves the run's ``context.model``.
        ledger: the effect ledger of the writer's side effects.
    """
    researcher = build_react_graph(
        model, [search_help_docs, lookup_order], name="researcher", ledger=ledger
    )
    writer = build_react_graph(model, [publish_summary], name="writer", ledger=ledger)
    return [
        Worker(
            "researcher",
            researcher,
            "researches questions about our policies (refunds, returns, damaged items, "
            "shipping) and orders in the help centre and reports the facts.",
            prompt=RESEARCHER_PROMPT,
        ),
        Worker(
            "writer",
            writer,
            "writes a short summary from the facts given and publishes it to the team "
            "knowledge base (publishing needs approval).",
            prompt=WRITER_PROMPT,
        ),
    ]


# -- worker nodes ----------------------------------------------------------------------------


def _render(messages: Sequence[AnyMessage], worker: str) -> str:
    """A worker's transcript as text, one line per step, for ``full_history`` results."""
    lines = [f"Transcript of {worker}:"]
    for message in messages:
        if isinstance(message, HumanMessage):
            lines.append(f"[task] {message.text}")
        elif isinstance(message, AIMessage) and message.tool_calls:
            calls = ", ".join(
                f"{c['name']}({json.dumps(c['args'], ensure_ascii=False)})"
                for c in message.tool_calls
            )
            lines.append(f"[{worker}] called {calls}")
        elif isinstance(message, ToolMessage):
            failed = " (error)" if message.status == "error" else ""
            lines.append(f"[{message.name or 'tool'}{failed}] {message.text}")
        elif isinstance(message, AIMessage):
            lines.append(f"[{worker}] {message.text}")
    return "\n".join(lines)


def _worker_context(context: SupervisorContext, worker: Worker) -> dict[str, Any]:
    """What a worker's run gets: the run's shared settings and the worker's own prompt."""
    shared = {name: getattr(context, name) for name in _SHARED_CONTEXT}
    shared["on_approval_timeout"] = context.on_approval_timeout
    if worker.prompt is not None:
        shared["system_prompt"] = worker.prompt
    return shared


def _lift_approvals(records: Sequence[dict[str, Any]], worker: str) -> list[dict[str, Any]]:
    """The worker's audit records, tagged with the path of the agent that asked."""
    return [
        {**record, "agent": f"{worker}/{record['agent']}" if record.get("agent") else worker}
        for record in records
    ]


class _Delegation:
    """One delegation being run: the parsed task, and how to answer the call."""

    def __init__(self, worker: Worker, payload: WorkerTask, full_history: bool) -> None:
        self.worker = worker
        self.call_id = payload["tool_call_id"]
        self.tool_name = payload["tool_name"]
        self.task = str(payload.get("task") or "")
        self.history = list(payload.get("history") or []) if full_history else []
        try:
            self.task = DelegationArgs.model_validate({"task": payload.get("task")}).task
            self.valid = True
        except ValidationError:
            self.valid = False

    @property
    def inputs(self) -> dict[str, Any]:
        """The worker's input: the task (after the transcript, with full history)."""
        return {"messages": [*self.history, HumanMessage(self.task, name="supervisor")]}

    def answer(self, text: str, status: DelegationStatus, **extra: Any) -> dict[str, Any]:
        """The state update answering the delegation call, with its delegation record."""
        record = DelegationRecord(
            worker=self.worker.name, task=self.task, tool_call_id=self.call_id, status=status
        )
        message = ToolMessage(
            content=text,
            tool_call_id=self.call_id,
            name=self.tool_name,
            status="error" if status == "failed" else "success",
            artifact=extra.pop("artifact", None),
        )
        return {"messages": [message], "delegations": [dict(record)], **extra}

    def invalid(self) -> dict[str, Any]:
        """The answer to a call without a usable task: nothing is delegated."""
        return self.answer(
            f"Error: {self.tool_name} needs a non-empty `task` argument: what "
            f"{self.worker.name} should do, self-contained. Nothing was delegated.",
            "failed",
        )

    def failed(self, exc: Exception) -> dict[str, Any]:
        """The answer when the worker raised (a failing worker is data for the supervisor)."""
        return self.answer(
            f"Error: {self.worker.name} failed: {type(exc).__name__}: {exc}", "failed"
        )

    def finished(self, result: Mapping[str, Any], output_mode: OutputMode) -> dict[str, Any]:
        """The answer carrying the worker's result, and its approvals for the audit trail."""
        name = self.worker.name
        produced: list[AnyMessage] = list(result.get("messages", []))[len(self.history) + 1 :]
        last = produced[-1] if produced else None
        status: DelegationStatus = (
            "stopped" if isinstance(last, AIMessage) and last.name == "budget" else "completed"
        )
        approvals = _lift_approvals(result.get("approvals", []), name)
        if output_mode == "full_history":
            return self.answer(
                _render(produced, name),
                status,
                artifact={"worker": name, "messages": [m.model_dump() for m in produced]},
                approvals=approvals,
            )
        text = last.text if last is not None else f"{name} returned nothing."
        return self.answer(text, status, approvals=approvals)


def make_worker_node(
    worker: Worker, *, output_mode: OutputMode, pass_full_history: bool
) -> RunnableLambda[WorkerTask, dict[str, Any]]:
    """Build the node that runs one delegation on `worker` and answers its tool call.

    The worker's graph is invoked inside the node: it inherits the run's checkpointer,
    interrupts and streaming. Whatever happens, the delegation call gets exactly one
    `ToolMessage` (a worker that raises becomes an error result the supervisor can read).
    The node has a sync and an async body, so the worker runs on the same (sync or async)
    checkpointer API as the supervisor: `langgraph dev` runs graphs async on an async saver.
    """
    bound = worker.graph.with_config(metadata={"lc_agent_name": worker.name})
    full_history = (
        worker.pass_full_history if worker.pass_full_history is not None else pass_full_history
    )

    def start(payload: WorkerTask) -> tuple[_Delegation, dict[str, Any]]:
        context = context_as(get_runtime(SupervisorContext), SupervisorContext)
        return _Delegation(worker, payload, full_history), _worker_context(context, worker)

    def run_worker(payload: WorkerTask) -> dict[str, Any]:
        """Run the worker on the delegated task; return its result as the call's answer."""
        delegation, context = start(payload)
        if not delegation.valid:
            return delegation.invalid()
        try:
            result = bound.invoke(delegation.inputs, context=context)
        except GraphBubbleUp:
            raise  # an interrupt inside the worker pauses the whole run
        except Exception as exc:  # noqa: BLE001 - a failing worker is data for the supervisor
            return delegation.failed(exc)
        return delegation.finished(result, output_mode)

    async def arun_worker(payload: WorkerTask) -> dict[str, Any]:
        """Async twin of `run_worker`."""
        delegation, context = start(payload)
        if not delegation.valid:
            return delegation.invalid()
        try:
            result = await bound.ainvoke(delegation.inputs, context=context)
        except GraphBubbleUp:
            raise
        except Exception as exc:  # noqa: BLE001
            return delegation.failed(exc)
        return delegation.finished(result, output_mode)

    return RunnableLambda(run_worker, afunc=arun_worker, name=worker.name)


# -- routing ---------------------------------------------------------------------------------


def _last_ai(messages: Sequence[AnyMessage]) -> tuple[int, AIMessage] | None:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, AIMessage):
            return index, message
    return None


def _delegation_sends(
    state: Mapping[str, Any], workers: Mapping[str, str], full_history: bool
) -> list[Send]:
    """One `Send` per unanswered delegation call of the latest AI message."""
    found = _last_ai(state["messages"])
    if found is None:
        return []
    index, last = found
    answered = {m.tool_call_id for m in state["messages"][index:] if isinstance(m, ToolMessage)}
    history = list(state["messages"][:index]) if full_history else None
    sends = []
    for call in last.tool_calls:
        worker = workers.get(call["name"])
        if worker is None or call["id"] in answered:
            continue
        payload: dict[str, Any] = {
            "worker": worker,
            "task": call["args"].get("task"),
            "tool_call_id": call["id"] or "",
            "tool_name": call["name"],
        }
        if history is not None:
            payload["history"] = history
        sends.append(Send(worker, payload))
    return sends


def _without_delegations(calls: Sequence[ToolCall], workers: Mapping[str, str]) -> list[ToolCall]:
    return [call for call in calls if call["name"] not in workers]


def build_supervisor_graph(
    model: BaseChatModel | None = None,
    workers: Sequence[Worker] | Mapping[str, tuple[Pregel[Any, Any, Any, Any], str]] | None = None,
    *,
    tools: Sequence[BaseTool] = (),
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "supervisor",
    output_mode: OutputMode = "last_message",
    pass_full_history: bool = False,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    ledger: EffectLedger | None = None,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[SupervisorState, SupervisorContext, AgentInput, SupervisorOutput]:
    """Build a supervisor over worker agents.

    Args:
        model: the supervisor's chat model; None resolves ``context.model`` per run (offline
            demo model when no API key is configured). Default workers use it too.
        workers: `Worker`s, or a mapping name → (compiled graph, description); defaults to
            the research + writing team (`default_workers`).
        tools: ordinary tools of the supervisor itself (run by its tool node, side effects
            behind its approval gate); delegation tools are added for every worker.
        checkpointer: saver for durable threads; workers share it (compile them without).
        store: long-term memory store, exposed to nodes (and workers) as ``runtime.store``.
        name: graph name; chunks the supervisor streams carry it as ``lc_agent_name``.
        output_mode: what a delegation returns to the supervisor: ``"last_message"`` (the
            worker's final answer) or ``"full_history"`` (its whole transcript as text, and
            the messages themselves in the `ToolMessage` artifact).
        pass_full_history: give workers the supervisor's transcript before the task instead
            of the task alone (a `Worker` may override it).
        recursion_limit: hard cap on the supervisor's super-steps per run.
        ledger: exactly-once record of side-effecting calls (the supervisor's tools and the
            default workers'); defaults to the one that goes with the checkpointer.
        tool_timeout_s: per-call timeout of the supervisor's own tools.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `SupervisorContext`.

    Raises:
        ValueError: for a worker name that is empty, not an identifier, reserved or repeated.
    """
    ledger = ledger if ledger is not None else default_ledger(checkpointer)
    if workers is None:
        team = default_workers(model, ledger=ledger)
    elif isinstance(workers, Mapping):
        team = [Worker(key, graph, text) for key, (graph, text) in workers.items()]
    else:
        team = list(workers)
    names = [worker.name for worker in team]
    for worker_name in names:
        if not worker_name.isidentifier() or worker_name in _RESERVED:
            raise ValueError(f"Invalid worker name {worker_name!r} (reserved or not identifier)")
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"Worker names must be unique and at least one is needed: {names}")

    delegation_tools = [make_delegation_tool(w.name, w.description) for w in team]
    delegations = {DELEGATION_PREFIX + w.name: w.name for w in team}
    registry = ToolRegistry(list(tools))
    tools_by_name = {tool.name: tool for tool in registry}
    full_history = pass_full_history or any(w.pass_full_history for w in team)

    builder: StateGraph[Any, Any, Any, Any] = StateGraph(
        SupervisorState,
        context_schema=SupervisorContext,
        input_schema=AgentInput,
        output_schema=SupervisorOutput,
    )
    builder.add_node(
        "call_model",
        make_call_model(model, [*delegation_tools, *registry]),
        retry_policy=MODEL_RETRY,
    )
    builder.add_node("stop_at_budget", stop_at_budget)
    run_tools = make_run_tools(tools_by_name, ledger=ledger, timeout_s=tool_timeout_s)

    def run_own_tools(state: SupervisorState, *, runtime: Runtime[SupervisorContext]) -> Any:
        """Run the supervisor's own tool calls (and answer unknown ones); not delegations.

        Returns the tool node's update: a dict, or a list when a tool returned a `Command`.
        """
        messages = list(state["messages"])
        found = _last_ai(messages)
        if found is not None:
            index, last = found
            calls = _without_delegations(last.tool_calls, delegations)
            messages[index] = last.model_copy(update={"tool_calls": calls})
        return run_tools({**state, "messages": messages}, runtime=runtime)

    builder.add_node("run_tools", run_own_tools)
    if tools_by_name:
        builder.add_node("approval_gate", make_approval_gate(tools_by_name, ledger=ledger))
        builder.add_edge("approval_gate", "run_tools")
    for worker in team:
        builder.add_node(
            worker.name,
            make_worker_node(worker, output_mode=output_mode, pass_full_history=pass_full_history),
        )
        builder.add_edge(worker.name, "call_model")

    def route_after_model(
        state: SupervisorState, runtime: Runtime[SupervisorContext]
    ) -> str | list[Send]:
        """Answer, stop at the budget, or send each call to its worker / the gate / tools."""
        last = state["messages"][-1]
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return END
        context = context_as(runtime, SupervisorContext)
        if (
            model_calls_this_turn(state["messages"]) >= context.max_steps
            or state.get("remaining_steps", RECURSION_HEADROOM) < RECURSION_HEADROOM
        ):
            return "stop_at_budget"
        own = _without_delegations(last.tool_calls, delegations)
        pending = [c for c in own if needs_approval(c, tools_by_name, context.approval_policy)]
        if pending:
            return gate_sends(pending, context)
        if own:
            return "run_tools"
        return _delegation_sends(state, delegations, full_history)

    def route_after_tools(state: SupervisorState) -> str | list[Send]:
        """After the supervisor's own tools: run the turn's delegations, else back to it."""
        return _delegation_sends(state, delegations, full_history) or "call_model"

    targets = [*names, "stop_at_budget", END]
    builder.add_conditional_edges(
        "call_model",
        route_after_model,
        ["run_tools", *(["approval_gate"] if tools_by_name else []), *targets],
    )
    builder.add_conditional_edges("run_tools", route_after_tools, [*names, "call_model"])
    builder.add_edge("stop_at_budget", END)
    builder.add_edge(START, "call_model")
    compiled = compile_pattern(
        builder,
        checkpointer=checkpointer,
        store=store,
        name=name,
        recursion_limit=recursion_limit,
    )
    return compiled.with_config(metadata={"lc_agent_name": name})


graph = build_supervisor_graph()
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
