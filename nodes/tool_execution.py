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
replay alike, with an error saying the tool ran and its update was dropped (`nodes.tool_replay`).

**Failure controls** (`nodes.controls.Controls` of the run; docs/tool_controls.md). Every
failure is classified once (`nodes.error_classes.classify`, messages in `nodes.tool_failures`):
retriable failures of read-only and idempotent tools are retried with backoff and jitter as
the tool's `RetrySettings` say (`nodes.retry.call_with_retry`, honouring ``Retry-After``); a
tool that outlives its timeout is abandoned (its thread cannot be killed) and reported as such.
A tool unavailable after its retries (or behind an open circuit breaker, `nodes.breakers`) is
answered by its declared fallback tool (``metadata["fallback_tool"]``) when there is one.
Fixable errors (invalid arguments) go back to the model, marked, and bounded per tool and
turn (``Controls.max_fixable_errors``: over it, `nodes.run_stop.RunStopped`). Terminal ones
say the action cannot be done. Every result is capped at
``Controls.window.max_tool_output_chars`` (`nodes.tool_output_cap`).
Then it is screened for prompt injection (`nodes.injection_screen`): a flagged result reaches
the model wrapped as untrusted data and is recorded in ``guardrail_flags``; screening never
changes which calls run (approval is decided before, from the call alone).

Calls under a timeout run on a small shared pool of daemon threads (`nodes.tool_workers`),
not a thread pool created per call; calls without one (``timeout_s=None``) run inline.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    RemoveMessage,
    ToolCall,
    ToolMessage,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config, merge_configs
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from checkpointers.ledger import EffectLedger, LedgerConflictError, args_hash
from nodes.approval_gate import needs_approval
from nodes.breakers import BreakerBoard, breaker_board, breaker_key
from nodes.context import agent_context
from nodes.controls import Controls, current_controls
from nodes.error_classes import CircuitOpenError, ErrorClass, classify, describe_failure
from nodes.identity import current_thread_id
from nodes.injection_screen import FLAGS_CHANNEL, screen_tool_outputs
from nodes.retry import call_with_retry
from nodes.run_budget import claim_tool_call
from nodes.tool_failures import (
    ERROR_CLASS_KEY,
    FALLBACK_FROM_KEY,
    TOOL_FALLBACK_KEY,
    ToolFailure,
    enforce_fixable_bound,
    error_message,
    failure_message,
    retry_settings_for,
)
from nodes.tool_failures import ToolGaveUp as _GaveUp
from nodes.tool_output_cap import cap_outputs
from nodes.tool_replay import COMMAND_RESULT, ToolOutput, answers, replay
from nodes.tool_replay import record as record_outcome
from nodes.tool_workers import InlineToolNode as _InlineToolNode
from nodes.tool_workers import ReturnWatch as _ReturnWatch
from nodes.tool_workers import ToolWorkers as _ToolWorkers
from observability.events import emit, sinks_active
from observability.timing import clock, elapsed
from state.agent import AgentState
from state.context import AgentContext, ApprovalPolicy
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


@dataclass(frozen=True)
class ToolEnv:
    """What a tool call may be given besides its arguments (LangGraph's injected values).

    Attributes:
        node: the `ToolNode` (over the graph's tools) that injects and invokes.
        state: the graph state ``InjectedState`` and ``ToolRuntime.state`` see.
        config: the node's runnable config (callbacks, ``ToolRuntime.config``).
        runtime: the node's runtime (context, store, stream writer).
        approval_policy: the run's approval policy: a fallback tool that would need
            approval under it is never run in place of a failed tool.
    """

    node: ToolNode
    state: Any = None
    config: RunnableConfig | None = None
    runtime: Runtime[Any] | None = None
    approval_policy: ApprovalPolicy = "side-effects"


_WORKERS = _ToolWorkers(size=32)
"""Shared by every tool node of the process (threads start only when a call needs one)."""

_retry_sleep: Callable[[float], object] = time.sleep
"""How the node waits between retries (read at each retry; tests replace it)."""


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
    found = [m for output in local for m in answers(output)]
    mine = [m for m in found if m.tool_call_id == call["id"]]
    others = sorted({m.tool_call_id for m in found if m.tool_call_id != call["id"]})
    if others:
        return f"it answers other tool calls ({', '.join(others)})"
    if len(mine) != 1:
        return f"it holds {len(mine)} tool messages for call {call['id']}, not exactly one"
    return None


def _run_guarded(
    call: ToolCall,
    tool: BaseTool,
    env: ToolEnv,
    timeout_s: float | None,
    attempts: int | None,
    controls: Controls,
) -> list[ToolOutput] | ToolFailure:
    """Run one tool behind its circuit breaker, retrying retriable failures.

    Returns:
        The tool's outputs, or how it failed once its retries were spent (an open breaker
        fails at once, class ``fallback``). Retriable and fallback failures count against
        the tool's breaker; fixable and terminal ones, and refused results, do not.
    """
    limit = (tool.metadata or {}).get("timeout_s") or timeout_s
    board = BreakerBoard(breaker_board(env.config).store, controls.breaker)  # these controls'
    key = breaker_key("tool", tool.name)
    watches: list[_ReturnWatch] = []

    def attempt() -> list[ToolOutput]:
        watches.append(_ReturnWatch())
        return _invoke(env, call, limit, watches[-1])

    def kind(exc: BaseException) -> ErrorClass:
        ran = bool(watches) and watches[-1].returned
        return "terminal" if ran else classify(exc)  # a refused result is not retried

    try:
        board.before_call(key)
        outputs = call_with_retry(
            attempt,
            retry_settings_for(tool, controls, attempts=attempts),
            classify=kind,
            sleep=lambda s: _retry_sleep(s),
        )
    except GraphBubbleUp:
        raise  # an interrupt raised inside the tool must reach LangGraph
    except Exception as exc:  # noqa: BLE001 - any tool failure is data for the model
        ran = bool(watches) and watches[-1].returned
        failure = ToolFailure(exc, kind(exc), ran=ran, limit=limit)
        if failure.unavailable and watches:  # it was called (not refused by the breaker)
            board.record_failure(key, describe_failure(exc))
        elif ran:  # the tool itself answered; only its result was refused
            board.record_success(key)
        return failure
    board.record_success(key)
    return outputs


def _fallback_for(
    tool: BaseTool, tools_by_name: Mapping[str, BaseTool], tried: set[str]
) -> BaseTool | None:
    """The tool's declared fallback tool, if it is one of the graph's and not yet tried."""
    name = (tool.metadata or {}).get(TOOL_FALLBACK_KEY)
    if not isinstance(name, str) or name in tried:
        return None
    return tools_by_name.get(name)


def _may_stand_in(failed: BaseTool, failure: ToolFailure) -> bool:
    """Whether a fallback may answer for a failed tool without risking a double action.

    A tool that is neither read-only nor idempotent may have acted before it failed (that
    is why it is never retried), so a fallback stands in for it only when it was not called
    at all (its breaker was open).
    """
    return is_idempotent(failed) or isinstance(failure.exc, CircuitOpenError)


def _answered_by(outputs: list[ToolOutput], failed: str) -> list[ToolOutput]:
    """A fallback's outputs, each tool message marked with the tool it stood in for."""
    marked: list[ToolOutput] = []
    for output in outputs:
        if isinstance(output, ToolMessage):
            extra = {**output.additional_kwargs, FALLBACK_FROM_KEY: failed}
            output = output.model_copy(update={"additional_kwargs": extra})
        marked.append(output)
    return marked


def _run_with_fallbacks(
    call: ToolCall,
    tools_by_name: Mapping[str, BaseTool],
    env: ToolEnv,
    timeout_s: float | None,
    attempts: int | None,
    controls: Controls,
) -> list[ToolOutput]:
    """Run the call; while its tool is unavailable, let the declared fallback tools answer.

    A fallback gets the same arguments and call id; one that would need approval under the
    run's policy is not run (nobody approved it). When no fallback answers, the first
    failure is reported (with what the fallbacks did).
    """
    tool = tools_by_name[call["name"]]
    tried = {tool.name}
    first: ToolMessage | None = None
    notes: list[str] = []
    current, current_call = tool, call
    while True:
        result = _run_guarded(current_call, current, env, timeout_s, attempts, controls)
        if not isinstance(result, ToolFailure):
            return result if current is tool else _answered_by(result, call["name"])
        message = failure_message(current_call, result)
        first = first or message
        if current is not tool:
            notes.append(f"its fallback {current.name} failed too ({describe_failure(result.exc)})")
        following = _fallback_for(current, tools_by_name, tried) if result.unavailable else None
        if following is not None and not _may_stand_in(current, result):
            notes.append(
                f"its fallback {following.name} was not run: {current.name} may have acted"
            )
            following = None
        if following is not None and needs_approval(
            ToolCall(name=following.name, args=call["args"], id=call["id"], type="tool_call"),
            tools_by_name,
            env.approval_policy,
        ):
            notes.append(f"its fallback {following.name} needs approval, so it was not run")
            following = None
        if following is None:
            break
        tried.add(following.name)
        current, attempts = following, None
        current_call = ToolCall(
            name=following.name, args=call["args"], id=call["id"], type="tool_call"
        )
    assert first is not None  # the loop ran at least once
    if not notes:
        return [first]
    text = f"{first.text} ({'; '.join(notes)}.)"
    return [first.model_copy(update={"content": text})]


def execute_tool_call(
    call: ToolCall,
    tools_by_name: Mapping[str, BaseTool],
    *,
    timeout_s: float | None = None,
    retries: int | None = None,
    env: ToolEnv | None = None,
    controls: Controls | None = None,
) -> list[ToolOutput]:
    """Run one tool call; every failure becomes an error `ToolMessage`.

    Args:
        call: the tool call (name, args, id); its args are the model-visible ones only.
        tools_by_name: the tools that may run.
        timeout_s: stop waiting after this long (the tool's own ``timeout_s`` metadata wins).
        retries: attempts for retriable failures, overriding the tool's retry settings
            (`nodes.tool_failures.retry_settings_for`); only read-only or idempotent tools
            retry.
        env: state, config and runtime to inject (None: an empty state, a default runtime).
        controls: the failure controls (None: the run's, `nodes.controls.current_controls`).

    Returns:
        What the call contributes: one `ToolMessage`, or what the tool (or its fallback)
        returned when it returned a `Command` (or a list of Commands and messages) that
        answers the call. Output caps and the fixable bound are the node's (`make_run_tools`).
    """
    if call["name"] not in tools_by_name:
        available = ", ".join(sorted(tools_by_name)) or "none"
        text = f"Error: there is no tool named {call['name']!r}. Available: {available}."
        return [error_message(call, text, "fixable")]
    env = env or ToolEnv(_InlineToolNode(list(tools_by_name.values()), handle_tool_errors=False))
    controls = controls or current_controls(env.config)
    outputs = _run_with_fallbacks(call, tools_by_name, env, timeout_s, retries, controls)
    problem = _unanswered(call, outputs)
    if problem is not None:
        text = f"Error: {call['name']} ran, but the Command it returned was not applied: {problem}."
        return [error_message(call, text + " Every call must get exactly one ToolMessage.")]
    return outputs


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
        return [error_message(call, f"Not run: {exc}.")]
    if entry.status != "started":  # done before: replay the recorded outcome
        return replay(call, entry)
    if entry.attempts > 1 and not is_idempotent(tool):
        message = error_message(
            call,
            f"Outcome unknown: an earlier attempt of {call['name']} was interrupted while "
            "running (the process stopped), so it was not repeated, to avoid doing it twice. "
            "A person must check whether it happened.",
        )
        ledger.finish(thread_id, call_id, message.text, "error", "unknown")
        return [message]
    with using_idempotency_key(f"{thread_id}:{call_id}"):
        outputs = execute_tool_call(call, tools_by_name, timeout_s=timeout_s, env=env)
    outputs, result, result_status = record_outcome(call, outputs)
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
            return error_message(
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
        return error_message(call, "Not run: the request was cancelled by a newer message.")
    reason = f" Reason: {record['reason']}" if record.get("reason") else ""
    return error_message(call, f"Rejected by {reviewer}; the action was not performed.{reason}")


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
        """Run the approved tool calls and answer every call exactly once.

        Raises:
            RunStopped: a tool went over the turn's bound of fixable errors (the graph's
                stop guard turns it into a clean ending that keeps the results so far).
        """
        policy = agent_context(runtime).approval_policy
        messages: list[AnyMessage] = state["messages"]
        found = _latest_ai(messages)
        if found is None:
            return {"messages": []}
        index, last = found
        answered = {m.tool_call_id for m in messages[index:] if isinstance(m, ToolMessage)}
        thread_id = current_thread_id()
        config = ensure_config()
        controls = current_controls(config)
        env = ToolEnv(
            tool_node, state=state, config=config, runtime=runtime, approval_policy=policy
        )
        outputs: list[ToolOutput] = []
        flags: list[dict[str, Any]] = []  # prompt-injection flags (nodes.injection_screen)
        for call in last.tool_calls:
            if call["id"] in answered:
                continue
            record = bound_decision(call, ledger, thread_id)
            if record is None and needs_approval(call, tools_by_name, policy):
                outputs.append(
                    error_message(call, "Not run: this call needs approval and none was recorded.")
                )
                continue
            decided = _decided(call, record, tools_by_name.get(call["name"]))
            if isinstance(decided, ToolMessage):
                outputs.append(decided)
                continue
            refusal = claim_tool_call(call["name"], config)  # the run's max_tool_calls
            if refusal is not None:
                outputs.append(error_message(call, f"Not run: {refusal}."))
                continue
            started = clock()
            produced = _execute_once(decided, tools_by_name, ledger, thread_id, env, timeout_s)
            _observe(decided["name"], produced, started, tools_by_name.get(decided["name"]))
            produced = cap_outputs(produced, controls.window.max_tool_output_chars)
            produced, flagged = screen_tool_outputs(produced)
            flags.extend(flagged)
            done = _messages_of(outputs)
            enforce_fixable_bound(
                call["name"],
                _messages_of(produced),
                [*messages, *done],
                controls.max_fixable_errors,
                partial=done,
            )
            outputs.extend(produced)
        return _with_flags(combine_outputs(outputs), flags)

    return run_tools


def _observe(name: str, produced: list[ToolOutput], started: float, tool: BaseTool | None) -> None:
    """One ``tool_call`` event for an executed call (`observability.events`)."""
    if not sinks_active():
        return
    failed = [m for m in _messages_of(produced) if getattr(m, "status", None) == "error"]
    error = (failed[0].additional_kwargs.get(ERROR_CLASS_KEY) or "error") if failed else None
    side_effect = has_side_effects(tool) if tool is not None else False
    emit(
        "tool_call",
        tool=name,
        latency_s=elapsed(started),
        success=not failed,
        error=error,
        side_effect=side_effect,
    )


def _with_flags(
    update: dict[str, Any] | list[Any], flags: list[dict[str, Any]]
) -> dict[str, Any] | list[Any]:
    """The node's update with the turn's injection flags appended to the audit trail."""
    if not flags:
        return update
    if isinstance(update, dict):
        return {**update, FLAGS_CHANNEL: flags}
    return [*update, {FLAGS_CHANNEL: flags}]


def _messages_of(outputs: Sequence[ToolOutput]) -> list[BaseMessage]:
    """The tool messages outputs write into this graph's conversation, in order."""
    return [m for output in outputs for m in answers(output)]
