"""Supervisor: a model delegates tasks to worker agents and decides what comes next.

The supervisor is a tool loop whose tools are ``delegate_to_<worker>(task)``. Each delegation
call is sent (`Send`) to that worker's node, which runs the worker's compiled graph *inside*
the node with only the task as input (or the transcript too, when asked) and answers the call
with one `ToolMessage` carrying the worker's result. Parallel delegations run in parallel; the
supervisor reads the results and delegates again or answers. A worker may be any compiled
graph taking ``{"messages": [...]}``: an `AgentSpec` the supervisor builds into a ReAct agent,
or one given as a compiled graph (another supervisor: a hierarchy). Workers run through
`nodes.subagent` (interrupts pass through, a worker that raises is a failed delegation).

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

Workers share a memory (`nodes.shared_memory`): before each model call a worker's system
prompt lists the notes of ``context.shared_memory_scope`` relevant to its task, and workers
declared ``AgentSpec(shared_memory="write")`` record findings with ``remember_shared(note)``,
saved under their name; a worker delegated later (in this run or another) reads them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send
from pydantic import BaseModel, Field, ValidationError

from graphs._agents import agent_graph, agent_tools
from graphs._compile import compile_pattern
from nodes.approval_gate import make_approval_gate
from nodes.budget import stop_at_budget
from nodes.model_call import make_call_model
from nodes.retry import MODEL_RETRY
from nodes.routing import make_route_after_model
from nodes.runtime import PatternRuntime
from nodes.subagent import SubAgent, SubAgentResult
from nodes.tool_execution import make_run_tools
from state.agent import AgentInput
from state.agent_spec import AgentSpec, check_agent_names
from state.shared_memory import SharedMemoryContext
from state.supervisor import (
    DelegationRecord,
    DelegationStatus,
    SupervisorContext,
    SupervisorOutput,
    SupervisorState,
    WorkerTask,
)
from tools.registry import ToolRegistry, agent_tool

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "DELEGATION_PREFIX",
    "OutputMode",
    "build_supervisor_graph",
    "graph",
    "make_delegation_tool",
]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per supervisor run; a delegation round takes two (model, worker)."""

DELEGATION_PREFIX = "delegate_to_"
OutputMode = Literal["last_message", "full_history"]
_RESERVED = {"call_model", "approval_gate", "run_tools", "stop_at_budget"}


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


def _lift_approvals(records: Sequence[dict[str, Any]], worker: str) -> list[dict[str, Any]]:
    """The worker's audit records, tagged with the path of the agent that asked."""
    return [
        {**record, "agent": f"{worker}/{record['agent']}" if record.get("agent") else worker}
        for record in records
    ]


class _Delegation:
    """One delegation being run: the parsed task, and how to answer the call."""

    def __init__(self, worker: str, payload: WorkerTask, full_history: bool) -> None:
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
            worker=self.worker, task=self.task, tool_call_id=self.call_id, status=status
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
            f"{self.worker} should do, self-contained. Nothing was delegated.",
            "failed",
        )

    def finished(self, result: SubAgentResult, output_mode: OutputMode) -> dict[str, Any]:
        """The answer carrying the worker's result (or failure), and its approvals."""
        if result.failed:
            return self.answer(f"Error: {result.describe_error(self.worker)}", "failed")
        name = self.worker
        produced: list[AnyMessage] = list(result.values.get("messages", []))[
            len(self.history) + 1 :
        ]
        last = produced[-1] if produced else None
        status: DelegationStatus = (
            "stopped" if isinstance(last, AIMessage) and last.name == "budget" else "completed"
        )
        approvals = _lift_approvals(result.values.get("approvals", []), name)
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
    worker: SubAgent, *, output_mode: OutputMode, full_history: bool
) -> RunnableLambda[WorkerTask, dict[str, Any]]:
    """Build the node that runs one delegation on `worker` and answers its tool call.

    The worker runs inside the node (`nodes.subagent`): it inherits the run's checkpointer,
    interrupts and streaming, and its context is the supervisor's minus the supervisor's own
    prompt. Whatever happens, the delegation call gets exactly one `ToolMessage` (a worker
    that raises becomes an error result the supervisor can read). The node has a sync and an
    async body, so the worker runs on the same (sync or async) checkpointer API as the
    supervisor: `langgraph dev` runs graphs async on an async saver.
    """

    def run_worker(payload: WorkerTask) -> dict[str, Any]:
        """Run the worker on the delegated task; return its result as the call's answer."""
        delegation = _Delegation(worker.name, payload, full_history)
        if not delegation.valid:
            return delegation.invalid()
        result = worker.run(delegation.inputs, get_runtime(SupervisorContext).context)
        return delegation.finished(result, output_mode)

    async def arun_worker(payload: WorkerTask) -> dict[str, Any]:
        """Async twin of `run_worker`."""
        delegation = _Delegation(worker.name, payload, full_history)
        if not delegation.valid:
            return delegation.invalid()
        result = await worker.arun(delegation.inputs, get_runtime(SupervisorContext).context)
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


def _make_run_own_tools(
    tools_by_name: Mapping[str, BaseTool], delegations: Collection[str], runtime: PatternRuntime
) -> Any:
    """The supervisor's tool node: its own tool calls (and unknown ones), never delegations."""
    run_tools = make_run_tools(
        tools_by_name, ledger=runtime.ledger, timeout_s=runtime.tool_timeout_s
    )

    def run_own_tools(state: SupervisorState, *, runtime: Runtime[SupervisorContext]) -> Any:
        """Run the supervisor's own calls: a dict, or a list when a tool returned a `Command`."""
        messages = list(state["messages"])
        found = _last_ai(messages)
        if found is not None:
            index, last = found
            calls = [c for c in last.tool_calls if c["name"] not in delegations]
            messages[index] = last.model_copy(update={"tool_calls": calls})
        return run_tools({**state, "messages": messages}, runtime=runtime)

    return run_own_tools


def _full_history_for(names: Sequence[str], pass_full_history: bool | Collection[str]) -> set[str]:
    if pass_full_history is True or pass_full_history is False:
        return set(names) if pass_full_history else set()
    unknown = set(pass_full_history) - set(names)
    if unknown:
        raise ValueError(f"pass_full_history names unknown workers {sorted(unknown)}")
    return set(pass_full_history)


class _DelegationRoutes:
    """Where the supervisor's turns go: delegation calls to their workers' nodes."""

    def __init__(self, team: Sequence[AgentSpec], full_history: bool) -> None:
        self.delegations = {DELEGATION_PREFIX + agent.name: agent.name for agent in team}
        self.workers = [agent.name for agent in team]
        self.full_history = full_history

    def sends(self, state: dict[str, Any]) -> list[Send]:
        """One `Send` per unanswered delegation call of the latest AI message."""
        return _delegation_sends(state, self.delegations, self.full_history)

    def after_tools(self, state: dict[str, Any]) -> str | list[Send]:
        """After the supervisor's own tools: run the turn's delegations, else back to it."""
        return self.sends(state) or "call_model"


def _add_own_tools(
    builder: StateGraph[Any, Any, Any, Any],
    registry: ToolRegistry,
    routes: _DelegationRoutes,
    runtime: PatternRuntime,
) -> None:
    """The supervisor's tool node, its gate (when it has tools) and the routes around them."""
    tools_by_name = {tool.name: tool for tool in registry}
    builder.add_node("run_tools", _make_run_own_tools(tools_by_name, routes.delegations, runtime))
    gate = []
    if tools_by_name:
        builder.add_node("approval_gate", make_approval_gate(tools_by_name, ledger=runtime.ledger))
        builder.add_edge("approval_gate", "run_tools")
        gate = ["approval_gate"]
    route_after_model = make_route_after_model(
        tools_by_name, routed_elsewhere=routes.delegations, route_elsewhere=routes.sends
    )
    builder.add_conditional_edges(
        "call_model",
        route_after_model,
        ["run_tools", *gate, *routes.workers, "stop_at_budget", END],
    )
    builder.add_conditional_edges("run_tools", routes.after_tools, [*routes.workers, "call_model"])


def build_supervisor_graph(
    agents: Sequence[AgentSpec],
    *,
    model: BaseChatModel | None = None,
    instructions: str = "",
    tools: Sequence[BaseTool] = (),
    output_mode: OutputMode = "last_message",
    pass_full_history: bool | Collection[str] = False,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "supervisor",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledStateGraph[SupervisorState, SupervisorContext, AgentInput, SupervisorOutput]:
    """Build a supervisor over worker agents.

    Args:
        agents: the workers (`AgentSpec`): built into ReAct agents from their instructions and
            tools, or given as compiled graphs (compile them without a checkpointer).
        model: the supervisor's chat model, and the workers' unless a spec has its own; None
            resolves ``context.model`` per run (the offline model when no API key is set).
        instructions: the supervisor's system prompt; empty uses ``context.system_prompt``
            (`SupervisorContext`: a generic supervisor prompt).
        tools: ordinary tools of the supervisor itself (run by its tool node, side effects
            behind its approval gate); delegation tools are added for every worker.
        output_mode: what a delegation returns to the supervisor: ``"last_message"`` (the
            worker's final answer) or ``"full_history"`` (its whole transcript as text, and
            the messages themselves in the `ToolMessage` artifact).
        pass_full_history: give workers the supervisor's transcript before the task instead
            of the task alone: True for all, or the names of the workers that get it.
        runtime: checkpointer, store, ledger and tool timeout (`PatternRuntime`); workers
            share the checkpointer (through the run) and the ledger.
        checkpointer: shorthand for the runtime's saver.
        store: shorthand for the runtime's store.
        name: graph name; chunks the supervisor streams carry it as ``lc_agent_name``.
        recursion_limit: hard cap on the supervisor's super-steps per run.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `SupervisorContext`.

    Raises:
        ValueError: no workers, a repeated or reserved worker name, or `pass_full_history`
            naming an unknown worker.
    """
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    team = list(agents)
    names = check_agent_names(team, reserved=_RESERVED)
    full_history = _full_history_for(names, pass_full_history)
    registry = ToolRegistry(tools)
    routes = _DelegationRoutes(team, bool(full_history))
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(
        SupervisorState,
        context_schema=SupervisorContext,
        input_schema=AgentInput,
        output_schema=SupervisorOutput,
    )
    delegation_tools = [make_delegation_tool(a.name, a.description) for a in team]
    builder.add_node(
        "call_model",
        make_call_model(model, [*delegation_tools, *registry], instructions=instructions or None),
        retry_policy=MODEL_RETRY,
    )
    builder.add_node("stop_at_budget", stop_at_budget)
    _add_own_tools(builder, registry, routes, shared)
    for agent in team:
        worker = SubAgent(
            agent_graph(agent, model=model, runtime=shared, shared_memory=True),
            name=agent.name,
            context_schema=SharedMemoryContext,
        )
        full = agent.name in full_history
        builder.add_node(
            agent.name, make_worker_node(worker, output_mode=output_mode, full_history=full)
        )
        builder.add_edge(agent.name, "call_model")
    builder.add_edge("stop_at_budget", END)
    builder.add_edge(START, "call_model")
    compiled = compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=[*registry, *agent_tools(team)],
    )
    return compiled.with_config(metadata={"lc_agent_name": name})


from demo.teams import research_team  # noqa: E402  (the served graph's wiring only)

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "agents": research_team()}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_supervisor_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; no checkpointer of its own (the server brings one)."""
