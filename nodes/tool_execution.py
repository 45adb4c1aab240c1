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

Side-effecting calls go through the effect ledger, keyed by thread and tool-call id and
checked against the arguments' hash, so a replayed step never acts twice and a call id reused
with other arguments is refused instead of replaying another call's result. Transient
failures (network, timeouts) of read-only and idempotent tools are retried with backoff; a
tool that outlives its timeout is abandoned (its thread cannot be killed) and reported as such.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from pydantic import ValidationError

from checkpointers.ledger import EffectLedger, LedgerConflictError, args_hash
from nodes.approval_gate import needs_approval
from nodes.context import AgentNode, agent_context
from nodes.identity import current_thread_id
from nodes.retry import call_with_retries
from state.agent import AgentState
from state.context import AgentContext
from tools.effects import using_idempotency_key
from tools.registry import has_side_effects, is_idempotent

__all__ = ["DEFAULT_TOOL_TIMEOUT_S", "bound_decision", "execute_tool_call", "make_run_tools"]

DEFAULT_TOOL_TIMEOUT_S = 30.0


def _error(call: ToolCall, text: str) -> ToolMessage:
    return ToolMessage(
        content=text, tool_call_id=call["id"] or "", name=call["name"], status="error"
    )


def _invoke(tool: BaseTool, call: ToolCall, timeout_s: float | None) -> Any:
    """Invoke the tool, in a helper thread when a timeout applies (context preserved)."""
    payload = {**call, "type": "tool_call"}
    if not timeout_s:
        return tool.invoke(payload)
    context = contextvars.copy_context()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="tool")
    try:
        return pool.submit(context.run, tool.invoke, payload).result(timeout=timeout_s)
    finally:
        pool.shutdown(wait=False)


def execute_tool_call(
    call: ToolCall,
    tools_by_name: Mapping[str, BaseTool],
    *,
    timeout_s: float | None = None,
    retries: int = 3,
) -> ToolMessage:
    """Run one tool call; every failure becomes an error `ToolMessage`.

    Args:
        call: the tool call (name, args, id).
        tools_by_name: the tools that may run.
        timeout_s: stop waiting after this long (the tool's own ``timeout_s`` metadata wins).
        retries: attempts for transient failures; only read-only or idempotent tools retry.
    """
    tool = tools_by_name.get(call["name"])
    if tool is None:
        available = ", ".join(sorted(tools_by_name)) or "none"
        return _error(
            call, f"Error: there is no tool named {call['name']!r}. Available: {available}."
        )
    limit = (tool.metadata or {}).get("timeout_s") or timeout_s
    attempts = retries if is_idempotent(tool) else 1
    try:
        result = call_with_retries(lambda: _invoke(tool, call, limit), attempts=attempts)
    except GraphBubbleUp:
        raise  # an interrupt raised inside the tool must reach LangGraph
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return _error(
            call, f"Error: invalid arguments for {call['name']}: {problems}. Fix them and retry."
        )
    except concurrent.futures.TimeoutError:
        return _error(
            call,
            f"Error: {call['name']} did not finish within {limit:g}s; gave up waiting. "
            "Its outcome is unknown.",
        )
    except Exception as exc:  # noqa: BLE001 - any tool failure is data for the model
        return _error(call, f"Error: {call['name']} failed: {type(exc).__name__}: {exc}")
    if isinstance(result, ToolMessage):
        return result
    return ToolMessage(content=str(result), tool_call_id=call["id"] or "", name=call["name"])


def _execute_once(
    call: ToolCall,
    tools_by_name: Mapping[str, BaseTool],
    ledger: EffectLedger | None,
    thread_id: str | None,
    timeout_s: float | None,
) -> ToolMessage:
    """Run a call; side-effecting calls consult and update the effect ledger."""
    tool = tools_by_name.get(call["name"])
    call_id = call["id"] or ""
    if ledger is None or not thread_id or tool is None or not has_side_effects(tool):
        return execute_tool_call(call, tools_by_name, timeout_s=timeout_s)
    try:
        entry = ledger.begin(thread_id, call_id, call["name"], dict(call["args"]))
    except LedgerConflictError as exc:
        return _error(call, f"Not run: {exc}.")
    if entry.status != "started":  # done before: replay the recorded outcome
        return ToolMessage(
            content=entry.result or "",
            tool_call_id=call_id,
            name=call["name"],
            status="error" if entry.result_status == "error" else "success",
        )
    if entry.attempts > 1 and not is_idempotent(tool):
        message = _error(
            call,
            f"Outcome unknown: an earlier attempt of {call['name']} was interrupted while "
            "running (the process stopped), so it was not repeated, to avoid doing it twice. "
            "A person must check whether it happened.",
        )
        ledger.finish(thread_id, call_id, message.text, "error", "unknown")
        return message
    with using_idempotency_key(f"{thread_id}:{call_id}"):
        message = execute_tool_call(call, tools_by_name, timeout_s=timeout_s)
    timed_out = message.status == "error" and "gave up waiting" in message.text
    ledger.finish(
        thread_id,
        call_id,
        message.text,
        message.status,
        "unknown" if timed_out else "completed",
    )
    return message


def _decided(call: ToolCall, record: Mapping[str, Any] | None) -> ToolMessage | ToolCall:
    """Apply a bound decision: the call to run, or the message that replaces it."""
    if record is None or record["decision"] == "accept":
        return call
    reviewer = record.get("reviewer") or "the reviewer"
    if record["decision"] == "edit":
        return ToolCall(
            name=call["name"], args=record["edited_args"], id=call["id"], type="tool_call"
        )
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
    """The decision the ledger binds to this call and these exact arguments, or None."""
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


def make_run_tools(
    tools_by_name: Mapping[str, BaseTool],
    *,
    ledger: EffectLedger,
    timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> AgentNode:
    """Build the node that executes the latest AI message's tool calls.

    Args:
        tools_by_name: the tools the graph may run.
        ledger: where decisions are bound and side-effecting calls recorded (see
            `checkpointers.ledger`); the graph's approval gate must write to the same one.
        timeout_s: default per-call timeout in seconds (None: wait forever).

    Returns:
        A node ``run_tools(state, runtime) -> {"messages": [ToolMessage, ...]}``.
    """

    def run_tools(state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Run the approved tool calls and answer every call with one message."""
        policy = agent_context(runtime).approval_policy
        messages: list[AnyMessage] = state["messages"]
        found = _latest_ai(messages)
        if found is None:
            return {"messages": []}
        index, last = found
        answered = {m.tool_call_id for m in messages[index:] if isinstance(m, ToolMessage)}
        thread_id = current_thread_id()
        replies: list[AnyMessage] = []
        for call in last.tool_calls:
            if call["id"] in answered:
                continue
            record = bound_decision(call, ledger, thread_id)
            if record is None and needs_approval(call, tools_by_name, policy):
                replies.append(
                    _error(call, "Not run: this call needs approval and none was recorded.")
                )
                continue
            decided = _decided(call, record)
            if isinstance(decided, ToolMessage):
                replies.append(decided)
            else:
                replies.append(_execute_once(decided, tools_by_name, ledger, thread_id, timeout_s))
        return {"messages": replies}

    return run_tools
