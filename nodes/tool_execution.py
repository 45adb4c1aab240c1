"""The tool-execution node: the one place where tools run, after the approval gate.

It answers every tool call of the latest AI message with exactly one `ToolMessage`:

- an approved (or approval-free) call runs, with the reviewer's edited arguments if any;
- a rejected call is not run; the message says who rejected it and why;
- a "respond" decision is not run; the reviewer's message goes to the model instead;
- an unknown tool, arguments that fail the tool's schema, or an exception inside the tool
  become an error `ToolMessage` the model can read. The run never crashes on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from pydantic import ValidationError

from nodes.approval_gate import needs_approval
from nodes.context import AgentNode, agent_context
from state.agent import AgentState
from state.context import AgentContext

__all__ = ["execute_tool_call", "make_run_tools"]


def _error(call: ToolCall, text: str) -> ToolMessage:
    return ToolMessage(
        content=text, tool_call_id=call["id"] or "", name=call["name"], status="error"
    )


def execute_tool_call(call: ToolCall, tools_by_name: Mapping[str, BaseTool]) -> ToolMessage:
    """Run one tool call; every failure becomes an error `ToolMessage`."""
    tool = tools_by_name.get(call["name"])
    if tool is None:
        available = ", ".join(sorted(tools_by_name)) or "none"
        return _error(
            call, f"Error: there is no tool named {call['name']!r}. Available: {available}."
        )
    try:
        result = tool.invoke({**call, "type": "tool_call"})
    except GraphBubbleUp:
        raise  # an interrupt raised inside the tool must reach LangGraph
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return _error(
            call, f"Error: invalid arguments for {call['name']}: {problems}. Fix them and retry."
        )
    except Exception as exc:  # noqa: BLE001 - any tool failure is data for the model
        return _error(call, f"Error: {call['name']} failed: {type(exc).__name__}: {exc}")
    if isinstance(result, ToolMessage):
        return result
    return ToolMessage(content=str(result), tool_call_id=call["id"] or "", name=call["name"])


def _decided(call: ToolCall, record: Mapping[str, Any] | None) -> ToolMessage | ToolCall:
    """Apply a reviewer's decision: the call to run, or the message that replaces it."""
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
    reason = f" Reason: {record['reason']}" if record.get("reason") else ""
    return _error(call, f"Rejected by {reviewer}; the action was not performed.{reason}")


def make_run_tools(
    tools_by_name: Mapping[str, BaseTool],
) -> AgentNode:
    """Build the node that executes the latest AI message's tool calls.

    Args:
        tools_by_name: the tools the graph may run.

    Returns:
        A node ``run_tools(state, runtime) -> {"messages": [ToolMessage, ...]}``.
    """

    def run_tools(state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Run the approved tool calls and answer every call with one message."""
        policy = agent_context(runtime).approval_policy
        messages: list[AnyMessage] = state["messages"]
        index = next(
            (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], AIMessage)),
            None,
        )
        if index is None:
            return {"messages": []}
        last = messages[index]
        assert isinstance(last, AIMessage)
        records = {r["tool_call_id"]: r for r in state.get("approvals", [])}
        answered = {m.tool_call_id for m in messages[index:] if isinstance(m, ToolMessage)}
        replies: list[AnyMessage] = []
        for call in last.tool_calls:
            if call["id"] in answered:
                continue
            record = records.get(call["id"] or "")
            if record is None and needs_approval(call, tools_by_name, policy):
                replies.append(
                    _error(call, "Not run: this call needs approval and none was recorded.")
                )
                continue
            decided = _decided(call, record)
            if isinstance(decided, ToolMessage):
                replies.append(decided)
            else:
                replies.append(execute_tool_call(decided, tools_by_name))
        return {"messages": replies}

    return run_tools
