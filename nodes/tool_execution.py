"""The tool-execution node: the one place where tools run, after the approval gate.

It answers every tool call of the latest AI message with exactly one `ToolMessage`:

- a call that needs approval runs only when the ledger holds a decision bound to its thread,
  call id and exact arguments (`checkpointers.ledger`); what state says is never consulted,
  so a forged approval record or a ``goto`` straight here runs nothing;
- an approved (or approval-free) call runs, with the reviewer's edited arguments if any;
- a rejected call is not run; the message says who rejected it and why;
- a "respond" decision is not run; the reviewer's message goes to the model instead;
- an unknown tool, arguments that fail the tool's schema, an exception inside the tool or a
  timeout become an error `ToolMessage` the model can read. The run never crashes on them.

**Parity with LangGraph's `ToolNode`.** Each call is invoked through a `ToolNode` (its public
``tool_call_with_context`` input), so tools get what they get under ``ToolNode``:

- injected arguments: ``Annotated[dict, InjectedState]`` (the node's state),
  ``InjectedState("field")``, ``InjectedStore()`` (the graph's store) and ``ToolRuntime``
  (state, context, store, config, stream writer, call id; ``context`` is the run's context as
  the caller gave it, None when none was given). The model never sees them (they are
  not in the tool-call schema), a value a call carries for one is dropped, and a reviewer's
  edit that sets one is not run. Approval and the ledger hash only the call's own arguments,
  so injected values never change a call's hash.
- a returned `Command` (``update``, ``goto``, ``graph=Command.PARENT`` for handoffs), or a list
  of Commands and messages: the node returns them to LangGraph as they are (messages of plain
  calls as ``{"messages": [...]}`` items, parent ``Send`` hand-offs merged into one Command,
  as ``ToolNode`` combines them). A Command for this graph must answer its call: exactly one
  `ToolMessage` with the call's id across what the call returned, and none answering another
  call. One that does not is replaced by an error message saying the tool *ran* and its update
  was not applied (so a model does not repeat an action that happened). A Command for the
  parent graph needs no answer here (``ToolNode``'s rule: the parent gets it).

Side-effecting calls go through the effect ledger, keyed by thread and tool-call id and
checked against the arguments' hash, so a replayed step never acts twice and a call id reused
with other arguments is refused instead of replaying another call's result. A Command outcome
is recorded too (``result_status="command"``, the result JSON holding the answer's text and
the outputs as LangChain's ``dumpd``), so a replay returns the same Command and update. A
side-effecting tool's Command must therefore be JSON-safe (messages, JSON values, `Send`s):
one that is not cannot be replayed exactly, so it is answered, on the first run and on every
replay alike, with an error saying the tool ran and its update was dropped. Transient failures
(network, timeouts) of read-only and idempotent tools are retried with backoff; a tool that
outlives its timeout is abandoned (its thread cannot be killed) and reported as such.

Calls under a timeout run on a small shared pool of daemon threads (`_ToolWorkers`), not a
thread pool created per call; calls without one (``timeout_s=None``) run inline. Either way
the tool runs in that thread (`_InlineToolNode`), not on another pool ``ToolNode`` would
create for every invoke.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import queue
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core._api import LangChainBetaWarning
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, load
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    RemoveMessage,
    ToolCall,
    ToolMessage,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config, get_config_list, merge_configs
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.prebuilt import ToolNode, ToolRuntime
from langgraph.prebuilt.tool_node import ToolInvocationError
from langgraph.runtime import Runtime
from langgraph.types import Command, Send
from pydantic import ValidationError

from checkpointers.ledger import EffectLedger, LedgerConflictError, LedgerEntry, args_hash
from nodes.approval_gate import needs_approval
from nodes.context import agent_context
from nodes.identity import current_thread_id
from nodes.retry import call_with_retries
from state.agent import AgentState
from state.context import AgentContext
from tools.idempotency import using_idempotency_key
from tools.registry import has_side_effects, injected_args, is_idempotent

__all__ = [
    "COMMAND_RESULT",
    "DEFAULT_TOOL_TIMEOUT_S",
    "ToolEnv",
    "ToolOutput",
    "bound_decision",
    "combine_outputs",
    "execute_tool_call",
    "make_run_tools",
]

DEFAULT_TOOL_TIMEOUT_S = 30.0

COMMAND_RESULT = "command"
"""The ledger's ``result_status`` for an outcome recorded as Commands (see the module docs)."""

ToolOutput = ToolMessage | Command
"""What one tool call contributes: messages, and Commands when the tool returned them."""


@dataclass(frozen=True)
class ToolEnv:
    """What a tool call may be given besides its arguments (LangGraph's injected values).

    Attributes:
        node: the `ToolNode` (over the graph's tools) that injects and invokes.
        state: the graph state ``InjectedState`` and ``ToolRuntime.state`` see.
        config: the node's runnable config (callbacks, ``ToolRuntime.config``).
        runtime: the node's runtime (context, store, stream writer).
    """

    node: ToolNode
    state: Any = None
    config: RunnableConfig | None = None
    runtime: Runtime[Any] | None = None


class _GaveUp(TimeoutError):
    """The tool outlived its timeout; its thread is abandoned (transient: may be retried)."""


_Job = tuple[concurrent.futures.Future[Any], Callable[[], Any]]


class _ToolWorkers:
    """The shared daemon threads that run tool calls under a timeout.

    Why not a ``ThreadPoolExecutor`` per call (what this node did before): starting and
    joining a thread for every call cost more than the rest of a round. Why not one shared
    ``ThreadPoolExecutor``: its workers are joined at interpreter exit (a tool abandoned on its
    timeout would hold up the process), and a job queued behind busy workers would spend its
    timeout waiting for a thread instead of running. So: up to `size` daemon threads, started
    lazily, retired after `idle_s` without work; a job never waits for a worker. When all of
    them are busy (many concurrent calls, or abandoned tools still running), the job gets a
    one-off daemon thread of its own, so a timeout always measures the tool itself.
    """

    def __init__(self, size: int, idle_s: float = 60.0) -> None:
        self._size = size
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = 0
        self._idle = 0  # workers waiting for a job that no submitted job has claimed yet

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Start `fn` at once on a worker; its future holds the result or the exception."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            claimed = self._idle > 0  # a waiting worker will take the job off the queue
            grow = not claimed and self._threads < self._size
            self._idle -= claimed
            self._threads += grow
        if claimed or grow:
            self._jobs.put((future, fn))
            if grow:
                self._start(self._work)
        else:  # every worker is busy: a thread of its own, so the job never waits
            self._start(lambda: self._run(future, fn))
        return future

    @staticmethod
    def _start(target: Callable[[], None]) -> None:
        threading.Thread(target=target, name="tool", daemon=True).start()

    @staticmethod
    def _run(future: concurrent.futures.Future[Any], fn: Callable[[], Any]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - the caller re-raises it from result()
            future.set_exception(exc)

    def _work(self) -> None:
        """A worker's loop: run jobs; retire after `idle_s` with no job and none claimed."""
        while True:
            try:
                future, fn = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # unclaimed: no job is on its way to this worker
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # a job was claimed just now; it is on the queue already
            self._run(future, fn)
            del future, fn  # drop the result before waiting for the next job
            with self._lock:
                self._idle += 1


_WORKERS = _ToolWorkers(size=32)
"""Shared by every tool node of the process (threads start only when a call needs one)."""


class _InlineToolNode(ToolNode):
    """A `ToolNode` that runs a single call in the calling thread.

    ``ToolNode`` maps its calls over a thread pool it creates on every invoke, so each call
    cost a thread start and join. This node is invoked with one call at a time (`_invoke`
    decides the thread: inline, or a shared worker under a timeout), so that one call runs
    here, in a copy of the context as the pool would give it, with the same `ToolRuntime`
    ``ToolNode`` builds. Several calls (never sent by this module) go to ``ToolNode`` itself.

    It overrides ``ToolNode``'s private ``_func`` and uses its private helpers (``_parse_input``,
    ``_extract_state``, ``_run_one``, ``_combine_tool_outputs``; langgraph-prebuilt 1.1), so a
    LangGraph upgrade may break it: the parity tests (tests/unit/test_tool_node_parity.py)
    run every injected argument and Command shape through it.
    """

    def _func(self, input: Any, config: RunnableConfig, runtime: Runtime[Any]) -> Any:
        tool_calls, input_type = self._parse_input(input)
        if len(tool_calls) != 1:
            return super()._func(input, config, runtime)
        call, cfg = tool_calls[0], get_config_list(config, 1)[0]
        tool_runtime: Any = ToolRuntime(
            state=self._extract_state(input, cfg),
            tool_call_id=call["id"],
            config=cfg,
            context=runtime.context,
            store=runtime.store,
            stream_writer=runtime.stream_writer,
            tools=list(self.tools_by_name.values()),
            execution_info=runtime.execution_info,
            server_info=runtime.server_info,
        )
        output = contextvars.copy_context().run(self._run_one, call, input_type, tool_runtime)
        return self._combine_tool_outputs([output], input_type)


class _ReturnWatch(BaseCallbackHandler):
    """Notes whether the tool itself returned (``ToolNode`` checks its result afterwards)."""

    def __init__(self) -> None:
        self.outer: UUID | None = None
        self.returned = False

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **_: Any) -> None:
        """Remember the outermost tool run (tools the tool calls start later)."""
        if self.outer is None:
            self.outer = run_id

    def on_tool_end(self, output: Any, *, run_id: UUID, **_: Any) -> None:
        """The outermost tool returned."""
        if run_id == self.outer:
            self.returned = True


def _error(call: ToolCall, text: str) -> ToolMessage:
    return ToolMessage(
        content=text, tool_call_id=call["id"] or "", name=call["name"], status="error"
    )


def _flatten(output: Any) -> list[ToolOutput]:
    """``ToolNode``'s combined output for one call as a flat list of messages and Commands."""
    items = output if isinstance(output, list) else [output]
    flat: list[ToolOutput] = []
    for item in items:
        if isinstance(item, Command | ToolMessage):
            flat.append(item)
        else:
            flat.extend(item["messages"])
    return flat


def _invoke(env: ToolEnv, call: ToolCall, timeout_s: float | None, watch: _ReturnWatch) -> Any:
    """Invoke one call through the `ToolNode`: on a shared worker when a timeout applies.

    Without a timeout the call runs inline. With one, it runs on `_WORKERS` in a copy of the
    caller's context (so the idempotency key and other contextvars reach the tool), and the
    caller waits at most `timeout_s`.
    """
    payload = {
        "__type": "tool_call_with_context",
        "tool_call": {**call, "type": "tool_call"},
        "state": env.state if env.state is not None else {},
    }
    config = merge_configs(env.config, {"callbacks": [watch]})
    runtime = env.runtime if env.runtime is not None else Runtime()

    def run() -> list[ToolOutput]:
        return _flatten(env.node.invoke(payload, config, runtime=runtime))

    if not timeout_s:
        return run()
    context = contextvars.copy_context()
    future = _WORKERS.submit(lambda: context.run(run))
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError as exc:
        raise _GaveUp from exc


def _failure(call: ToolCall, exc: Exception, limit: float | None, ran: bool) -> ToolMessage:
    """The error message for a call that raised (in the tool, or in checking its result)."""
    name = call["name"]
    if isinstance(exc, ToolInvocationError | ValidationError):
        errors = exc.filtered_errors if isinstance(exc, ToolInvocationError) else exc.errors()
        source = exc.source if isinstance(exc, ToolInvocationError) else exc
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
            for e in (errors if errors is not None else source.errors())
        )
        return _error(call, f"Error: invalid arguments for {name}: {problems}. Fix them and retry.")
    if isinstance(exc, _GaveUp):
        return _error(
            call,
            f"Error: {name} did not finish within {limit or 0:g}s; gave up waiting. "
            "Its outcome is unknown.",
        )
    if ran:  # the tool returned; what it returned was refused
        return _error(
            call,
            f"Error: {name} ran, but its result was refused, so its update was not applied: {exc}",
        )
    return _error(call, f"Error: {name} failed: {type(exc).__name__}: {exc}")


def _answers(output: ToolOutput) -> list[ToolMessage]:
    """The tool messages an output writes into this graph's conversation."""
    if isinstance(output, ToolMessage):
        return [output]
    if output.graph == Command.PARENT or not isinstance(output.update, dict):
        return []
    messages = convert_to_messages(output.update.get("messages") or [])
    return [m for m in messages if isinstance(m, ToolMessage)]


def _unanswered(call: ToolCall, outputs: Sequence[ToolOutput]) -> str | None:
    """Why a call's outputs do not answer it exactly once (None: they do, as ``ToolNode``'s).

    Outputs all addressed to the parent graph (a handoff) need no answer here; an update that
    removes every message (``REMOVE_ALL_MESSAGES``) leaves no call to answer.
    """
    local = [o for o in outputs if not (isinstance(o, Command) and o.graph == Command.PARENT)]
    if not local:
        return None
    for output in local:
        if isinstance(output, Command) and isinstance(output.update, dict):
            wiped = convert_to_messages(output.update.get("messages") or [])
            if wiped == [RemoveMessage(id=REMOVE_ALL_MESSAGES)]:
                return None
    answers = [m for output in local for m in _answers(output)]
    mine = [m for m in answers if m.tool_call_id == call["id"]]
    others = sorted({m.tool_call_id for m in answers if m.tool_call_id != call["id"]})
    if others:
        return f"it answers other tool calls ({', '.join(others)})"
    if len(mine) != 1:
        return f"it holds {len(mine)} tool messages for call {call['id']}, not exactly one"
    return None


def execute_tool_call(
    call: ToolCall,
    tools_by_name: Mapping[str, BaseTool],
    *,
    timeout_s: float | None = None,
    retries: int = 3,
    env: ToolEnv | None = None,
) -> list[ToolOutput]:
    """Run one tool call; every failure becomes an error `ToolMessage`.

    Args:
        call: the tool call (name, args, id); its args are the model-visible ones only.
        tools_by_name: the tools that may run.
        timeout_s: stop waiting after this long (the tool's own ``timeout_s`` metadata wins).
        retries: attempts for transient failures; only read-only or idempotent tools retry.
        env: state, config and runtime to inject (None: an empty state, a default runtime).

    Returns:
        What the call contributes: one `ToolMessage`, or what the tool returned when it
        returned a `Command` (or a list of Commands and messages) that answers the call.
    """
    tool = tools_by_name.get(call["name"])
    if tool is None:
        available = ", ".join(sorted(tools_by_name)) or "none"
        return [
            _error(call, f"Error: there is no tool named {call['name']!r}. Available: {available}.")
        ]
    env = env or ToolEnv(_InlineToolNode(list(tools_by_name.values()), handle_tool_errors=False))
    limit = (tool.metadata or {}).get("timeout_s") or timeout_s
    watches: list[_ReturnWatch] = []

    def attempt() -> list[ToolOutput]:
        watches.append(_ReturnWatch())
        return _invoke(env, call, limit, watches[-1])

    try:
        outputs = call_with_retries(attempt, attempts=retries if is_idempotent(tool) else 1)
    except GraphBubbleUp:
        raise  # an interrupt raised inside the tool must reach LangGraph
    except Exception as exc:  # noqa: BLE001 - any tool failure is data for the model
        return [_failure(call, exc, limit, bool(watches) and watches[-1].returned)]
    problem = _unanswered(call, outputs)
    if problem is not None:
        text = f"Error: {call['name']} ran, but the Command it returned was not applied: {problem}."
        return [_error(call, text + " Every call must get exactly one ToolMessage.")]
    return outputs


def _encode(outputs: Sequence[ToolOutput]) -> str | None:
    """A call's outputs as ledger text, or None when they cannot be replayed exactly."""
    items: list[dict[str, Any]] = []
    for output in outputs:
        if isinstance(output, ToolMessage):
            items.append({"message": output})
            continue
        goto = output.goto if isinstance(output.goto, list | tuple) else [output.goto]
        targets = [
            {"send": t.node, "arg": t.arg} if isinstance(t, Send) else {"node": t}
            for t in goto
            if t
        ]
        command = {"graph": output.graph, "update": output.update, "resume": output.resume}
        items.append({"command": {**command, "goto": targets}})
    answer = next((m.text for o in outputs for m in _answers(o)), "")
    try:
        text = json.dumps(dumpd({"answer": answer, "outputs": items}), ensure_ascii=True)
        _decode(text)  # something dumpd could not serialise fails here
    except Exception:  # noqa: BLE001 - not JSON-safe: not replayable
        return None
    return text


def _decode(text: str) -> list[ToolOutput]:
    """The outputs `_encode` recorded (messages revived; nothing else is constructed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangChainBetaWarning)
        data = load(json.loads(text), allowed_objects="messages")
    outputs: list[ToolOutput] = []
    for item in data["outputs"]:
        if "message" in item:
            outputs.append(item["message"])
            continue
        spec = item["command"]
        goto = [Send(t["send"], t["arg"]) if "send" in t else t["node"] for t in spec["goto"]]
        outputs.append(
            Command(graph=spec["graph"], update=spec["update"], resume=spec["resume"], goto=goto)
        )
    return outputs


def _replay(call: ToolCall, entry: LedgerEntry) -> list[ToolOutput]:
    """The outcome a completed entry recorded, as the first run returned it."""
    if entry.result_status == COMMAND_RESULT:
        try:
            return _decode(entry.result or "")
        except Exception as exc:  # noqa: BLE001 - a damaged record must not crash the run
            return [
                _error(
                    call,
                    f"Error: {call['name']} ran, but its recorded result is "
                    f"unreadable ({type(exc).__name__}); it was not run again.",
                )
            ]
    status = "error" if entry.result_status == "error" else "success"
    text = entry.result or ""
    return [
        ToolMessage(content=text, tool_call_id=call["id"] or "", name=call["name"], status=status)
    ]


def _record(call: ToolCall, outputs: list[ToolOutput]) -> tuple[list[ToolOutput], str, str]:
    """What to return and store for an outcome: (outputs, result text, result status)."""
    if len(outputs) == 1 and isinstance(outputs[0], ToolMessage):
        return outputs, outputs[0].text, outputs[0].status
    encoded = _encode(outputs)
    if encoded is not None:
        return outputs, encoded, COMMAND_RESULT
    message = _error(
        call,
        f"Error: {call['name']} ran, but the Command it returned is not JSON-safe, so it "
        "cannot be recorded for replay; its update was not applied.",
    )
    return [message], message.text, "error"


def _execute_once(
    call: ToolCall,
    tools_by_name: Mapping[str, BaseTool],
    ledger: EffectLedger | None,
    thread_id: str | None,
    env: ToolEnv,
    timeout_s: float | None,
) -> list[ToolOutput]:
    """Run a call; side-effecting calls consult and update the effect ledger."""
    tool = tools_by_name.get(call["name"])
    call_id = call["id"] or ""
    if ledger is None or not thread_id or tool is None or not has_side_effects(tool):
        return execute_tool_call(call, tools_by_name, timeout_s=timeout_s, env=env)
    try:
        entry = ledger.begin(thread_id, call_id, call["name"], dict(call["args"]))
    except LedgerConflictError as exc:
        return [_error(call, f"Not run: {exc}.")]
    if entry.status != "started":  # done before: replay the recorded outcome
        return _replay(call, entry)
    if entry.attempts > 1 and not is_idempotent(tool):
        message = _error(
            call,
            f"Outcome unknown: an earlier attempt of {call['name']} was interrupted while "
            "running (the process stopped), so it was not repeated, to avoid doing it twice. "
            "A person must check whether it happened.",
        )
        ledger.finish(thread_id, call_id, message.text, "error", "unknown")
        return [message]
    with using_idempotency_key(f"{thread_id}:{call_id}"):
        outputs = execute_tool_call(call, tools_by_name, timeout_s=timeout_s, env=env)
    outputs, result, result_status = _record(call, outputs)
    timed_out = result_status == "error" and "gave up waiting" in result
    ledger.finish(
        thread_id, call_id, result, result_status, "unknown" if timed_out else "completed"
    )
    return outputs


def _decided(
    call: ToolCall, record: Mapping[str, Any] | None, tool: BaseTool | None
) -> ToolMessage | ToolCall:
    """Apply a bound decision: the call to run, or the message that replaces it."""
    if record is None or record["decision"] == "accept":
        return call
    reviewer = record.get("reviewer") or "the reviewer"
    if record["decision"] == "edit":
        edited = dict(record["edited_args"])
        forged = [k for k in injected_args(tool) if edited.get(k) != call["args"].get(k)]
        if forged:
            return _error(
                call,
                f"Not run: {reviewer}'s edit sets {', '.join(forged)}, which the graph supplies "
                "itself (injected arguments); an edit may change only the tool's own arguments.",
            )
        return ToolCall(name=call["name"], args=edited, id=call["id"], type="tool_call")
    if record["decision"] == "response":
        return ToolMessage(
            content=f"Not run. {reviewer} reviewed this call and replied: {record['response']}",
            tool_call_id=call["id"] or "",
            name=call["name"],
        )
    if record["decision"] == "superseded":
        return _error(call, "Not run: the request was cancelled by a newer message.")
    reason = f" Reason: {record['reason']}" if record.get("reason") else ""
    return _error(call, f"Rejected by {reviewer}; the action was not performed.{reason}")


def bound_decision(
    call: ToolCall, ledger: EffectLedger, thread_id: str | None
) -> dict[str, Any] | None:
    """The decision the ledger binds to this call and these exact arguments, or None.

    The hash covers the call's own arguments as the model wrote them (what the gate showed);
    values the tool node injects at run time are not part of the call, so never of the hash.
    """
    if thread_id is None:
        return None
    found = ledger.decision(thread_id, call["id"] or "")
    if found is None or found.get("action") != call["name"]:
        return None
    return found if found.get("args_hash") == args_hash(dict(call["args"])) else None


def _latest_ai(messages: list[AnyMessage]) -> tuple[int, AIMessage] | None:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, AIMessage):
            return index, message
    return None


def combine_outputs(outputs: Sequence[ToolOutput]) -> dict[str, Any] | list[Any]:
    """The node's return value for the outputs of all its calls, in call order.

    As ``ToolNode`` combines them: only messages → ``{"messages": [...]}``; with Commands, a
    list LangGraph applies in order (each message as ``{"messages": [message]}``, each
    Command as is, and parent Commands that only ``Send`` merged into one).
    """
    if not any(isinstance(output, Command) for output in outputs):
        return {"messages": list(outputs)}
    combined: list[Any] = []
    sends: list[Send] = []
    for output in outputs:
        if isinstance(output, ToolMessage):
            combined.append({"messages": [output]})
        elif (
            output.graph == Command.PARENT
            and output.update is None
            and isinstance(output.goto, list)
            and output.goto
            and all(isinstance(send, Send) for send in output.goto)
        ):
            sends.extend(output.goto)
        else:
            combined.append(output)
    if sends:
        combined.append(Command(graph=Command.PARENT, goto=sends))
    return combined


def make_run_tools(
    tools_by_name: Mapping[str, BaseTool],
    *,
    ledger: EffectLedger,
    timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> Callable[..., Any]:
    """Build the node that executes the latest AI message's tool calls.

    Args:
        tools_by_name: the tools the graph may run.
        ledger: where decisions are bound and side-effecting calls recorded (see
            `checkpointers.ledger`); the graph's approval gate must write to the same one.
        timeout_s: default per-call timeout in seconds (None: wait forever).

    Returns:
        A node ``run_tools(state, *, runtime)`` returning ``{"messages": [ToolMessage,
        ...]}``, or, when a tool returned a `Command`, the list `combine_outputs` makes.
    """
    tool_node = _InlineToolNode(list(tools_by_name.values()), handle_tool_errors=False)

    def run_tools(
        state: AgentState, *, runtime: Runtime[AgentContext]
    ) -> dict[str, Any] | list[Any]:
        """Run the approved tool calls and answer every call exactly once."""
        policy = agent_context(runtime).approval_policy
        messages: list[AnyMessage] = state["messages"]
        found = _latest_ai(messages)
        if found is None:
            return {"messages": []}
        index, last = found
        answered = {m.tool_call_id for m in messages[index:] if isinstance(m, ToolMessage)}
        thread_id = current_thread_id()
        env = ToolEnv(tool_node, state=state, config=ensure_config(), runtime=runtime)
        outputs: list[ToolOutput] = []
        for call in last.tool_calls:
            if call["id"] in answered:
                continue
            record = bound_decision(call, ledger, thread_id)
            if record is None and needs_approval(call, tools_by_name, policy):
                outputs.append(
                    _error(call, "Not run: this call needs approval and none was recorded.")
                )
                continue
            decided = _decided(call, record, tools_by_name.get(call["name"]))
            if isinstance(decided, ToolMessage):
                outputs.append(decided)
            else:
                outputs.extend(
                    _execute_once(decided, tools_by_name, ledger, thread_id, env, timeout_s)
                )
        return combine_outputs(outputs)

    return run_tools
