"""Routers of the tool-calling loop."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Send

from nodes.approval_gate import gate_sends, needs_approval
from nodes.budget import RECURSION_HEADROOM, model_calls_this_turn
from nodes.context import agent_context
from state.context import AgentContext
from tools.handoff import last_handoff

__all__ = ["make_route_after_model", "make_route_after_tools"]


def _in_a_run(runtime: Runtime[Any] | None) -> bool:
    """Whether the route runs inside a run's step (not a state update such as a fork).

    ``update_state`` runs a node's routes outside any run, where LangGraph reports two steps
    left (``remaining_steps``) whatever the recursion limit, so a fork written as the model
    node went to the budget stop instead of the approval gate. No run, no recursion budget:
    the run that continues the thread checks its own.
    """
    return runtime is not None and runtime.execution_info is not None


def make_route_after_model(
    tools_by_name: Mapping[str, BaseTool],
    *,
    gate: str = "approval_gate",
    tools_node: str = "run_tools",
    budget_node: str = "stop_at_budget",
    finish: str = END,
    routed_elsewhere: Collection[str] = (),
    route_elsewhere: Callable[[dict[str, Any]], list[Send]] | None = None,
) -> Callable[..., str | list[Send]]:
    """Build the router that runs after every model call.

    The route is: no tool calls → `finish` (END unless a pattern has a closing step, such as
    the memory agent's ``remember_facts``); budget or recursion headroom used up → the budget
    node; calls that need approval → one gate task per such call (`Send`), after which the
    tool node runs them all; otherwise → the tool node directly.

    A pattern whose model calls some "tools" that are answered by other nodes (a supervisor's
    ``delegate_to_<worker>``) names them in `routed_elsewhere`: they never pass the gate or the
    tool node, and a turn with only such calls goes where `route_elsewhere` sends it (its
    tool node's own router sends the rest after the ordinary calls ran).
    """

    def route_after_model(
        state: dict[str, Any], runtime: Runtime[AgentContext]
    ) -> str | list[Send]:
        """Decide what follows the model's reply."""
        last = state["messages"][-1]
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return finish
        context = agent_context(runtime)
        if model_calls_this_turn(state["messages"]) >= context.max_steps or (
            _in_a_run(runtime)
            and state.get("remaining_steps", RECURSION_HEADROOM) < RECURSION_HEADROOM
        ):
            return budget_node
        own = [call for call in last.tool_calls if call["name"] not in routed_elsewhere]
        pending = [c for c in own if needs_approval(c, tools_by_name, context.approval_policy)]
        if pending:
            return gate_sends(pending, context, node=gate)
        if not own and route_elsewhere is not None:
            return route_elsewhere(state)
        return tools_node

    return route_after_model


def make_route_after_tools(
    *, model_node: str = "call_model", finish: str = END
) -> Callable[..., str]:
    """Build the router that runs after the tool node in agents that can hand off.

    After a turn whose AI message called a handoff tool (`tools.handoff`), every call has been
    answered and control leaves the agent (to `finish`); otherwise the model sees the results.
    """

    def route_after_tools(state: dict[str, Any]) -> str:
        """Leave the agent after a handoff, else back to the model."""
        return finish if last_handoff(state["messages"]) else model_node

    return route_after_tools
