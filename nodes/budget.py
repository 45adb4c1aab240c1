"""The step budget: count model calls in the current turn and end cleanly when it runs out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime

from nodes.context import agent_context
from observability.events import emit
from state.agent import AgentState
from state.context import AgentContext

__all__ = ["RECURSION_HEADROOM", "model_calls_this_turn", "stop_at_budget"]

RECURSION_HEADROOM = 4
"""Super-steps one more tool round needs (model, gate, tools, model); below this we stop."""


def model_calls_this_turn(messages: Sequence[BaseMessage]) -> int:
    """How many AI replies follow the latest human message."""
    count = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage):
            count += 1
    return count


def stop_at_budget(state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Close the pending tool calls without running them and say why the run stopped.

    Every requested tool call gets a `ToolMessage` (so the conversation stays valid for
    providers that require a result per call) and the run ends with an AI message that names
    the budget and what was still being attempted.
    """
    context = agent_context(runtime)
    messages: list[AnyMessage] = state["messages"]
    last = messages[-1]
    calls = last.tool_calls if isinstance(last, AIMessage) else []
    used = model_calls_this_turn(messages)
    if state.get("remaining_steps", RECURSION_HEADROOM) < RECURSION_HEADROOM:
        limit, budget = "the run's recursion limit", "recursion_limit"
    else:
        limit, budget = f"the step budget ({context.max_steps} model calls per turn)", "max_steps"
    emit("budget_stop", limit=budget, reason=f"{limit} was used up")
    closing: list[AnyMessage] = [
        ToolMessage(
            content=f"Not run: {limit} was used up before this call could run.",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )
        for call in calls
    ]
    attempted = ", ".join(sorted({c["name"] for c in calls})) or "nothing"
    closing.append(
        AIMessage(
            content=(
                f"I stopped without finishing: I reached {limit} after {used} model calls. "
                f"I was still trying to call: {attempted}. Nothing further was run. Ask a "
                "narrower question, or raise max_steps if the task needs more steps."
            ),
            name="budget",
        )
    )
    return {"messages": closing}
