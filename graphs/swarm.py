"""Swarm: agents hand the conversation to each other with handoff tools.

Each agent is a ReAct tool loop (model, approval gate, tools, budget stop) compiled as its own
graph and added to the swarm as a *subgraph node*, so an approval interrupt inside an agent
stops the whole run, shows on the swarm's thread, and a resume continues inside that agent
without repeating its finished steps. An agent hands off by calling ``transfer_to_<agent>``
(`tools.handoff`): a real tool the shared tool node answers, so a turn that calls a normal
tool *and* hands off keeps both results. The agent's loop ends after such a turn, and the
swarm's ``handoff`` step records who passed the conversation to whom and routes there.

The agent holding the conversation is kept in ``active_agent``: the next user turn starts at
that agent. Handoffs per user turn are bounded (``context.max_handoffs``); an agent that tries
once more ends the turn with a message naming the agents that passed the conversation around.

Agents share a memory (`nodes.shared_memory`): each model call's system prompt lists the notes
of ``context.shared_memory_scope`` relevant to the latest request, and agents declared
``AgentSpec(shared_memory="write")`` add notes with ``remember_shared(note)`` under their name,
so the agent a conversation is handed to reads what the previous one recorded.

    START ─(active agent)─► shipping │ billing │ technical ─► handoff ─(answered)──► END
                               ▲                                │ ├─(too many)─► stop_handoffs
                               └──────────(handed off)──────────┘
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from graphs._agents import agent_graph, agent_tools
from graphs._compile import compile_pattern
from nodes.context import context_as
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.agent_spec import AgentSpec, check_agent_names
from state.swarm import SwarmContext, SwarmOutput, SwarmState
from tools.handoff import last_handoff, make_handoff_tool

__all__ = ["DEFAULT_RECURSION_LIMIT", "build_swarm_agent", "build_swarm_graph", "graph"]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per run of the swarm; each agent counts its own steps against the same limit."""

HANDOFF_NODE = "handoff"
STOP_NODE = "stop_handoffs"


def build_swarm_agent(
    agent: AgentSpec,
    peers: Sequence[AgentSpec],
    *,
    model: BaseChatModel | None = None,
    runtime: PatternRuntime,
) -> Pregel[Any, Any, Any, Any]:
    """One swarm member: the ReAct tool loop over its tools plus handoffs to its peers.

    Compiled without a checkpointer of its own: as a subgraph node it checkpoints into the
    swarm's thread (its own namespace), which is what lets an interrupt inside it resume there.
    The loop ends right after a turn that called a handoff, every call answered; replies carry
    the agent's name.
    """
    handoffs = [make_handoff_tool(p.name, p.description) for p in peers if p.name != agent.name]
    compiled = agent_graph(
        agent,
        model=model,
        runtime=runtime,
        extra_tools=handoffs,
        exit_on_handoff=True,
        name_replies=True,
        shared_memory=True,
    )
    return compiled.with_config(metadata={"agent": agent.name})


# -- the swarm's own steps -------------------------------------------------------------------


def _turn(messages: Sequence[AnyMessage]) -> int:
    """The user turn number: how many user messages the conversation holds."""
    return sum(isinstance(m, HumanMessage) for m in messages)


def _this_turn(state: SwarmState) -> list[dict[str, Any]]:
    turn = _turn(state["messages"])
    return [h for h in state.get("handoffs") or [] if h.get("turn") == turn]


def _latest_ai(messages: Sequence[AnyMessage]) -> AIMessage | None:
    return next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)


def _handoff_reason(message: AIMessage | None, target: str) -> str:
    if message is None:
        return ""
    for call in reversed(message.tool_calls):
        if call["name"].endswith(f"_{target}"):
            return str(call["args"].get("reason", ""))
    return ""


class _SwarmSteps:
    """The swarm's own nodes and routers, for one set of member names."""

    def __init__(self, names: Sequence[str], first: str) -> None:
        self.names = list(names)
        self.first = first

    def current(self, state: SwarmState) -> str:
        """Who holds the conversation (the default agent before anyone did)."""
        active = state.get("active_agent")
        return active if active in self.names else self.first

    def route_to_active_agent(self, state: SwarmState) -> str:
        """Send the user's turn to the agent holding the conversation."""
        return self.current(state)

    def handoff(self, state: SwarmState, *, runtime: Runtime[SwarmContext]) -> dict[str, Any]:
        """Record the handoff the agent just made (if any) and who holds the conversation."""
        holder = self.current(state)
        target = last_handoff(state["messages"])
        if target is None:
            return {"active_agent": holder}
        context = context_as(runtime, SwarmContext)
        record = {
            "from": holder,
            "to": target,
            "reason": _handoff_reason(_latest_ai(state["messages"]), target),
            "turn": _turn(state["messages"]),
        }
        if len(_this_turn(state)) >= context.max_handoffs:
            return {"active_agent": holder, "handoffs": [{**record, "status": "refused"}]}
        if target not in self.names or target == holder:
            return {"active_agent": holder, "handoffs": [{**record, "status": "unknown agent"}]}
        return {"active_agent": target, "handoffs": [{**record, "status": "handed off"}]}

    def route_after_handoff(self, state: SwarmState) -> str:
        """Go to the new holder after a handoff; end the turn after an answer or a refusal."""
        if last_handoff(state["messages"]) is None:
            return END
        trail = _this_turn(state)
        if trail and trail[-1]["status"] == "refused":
            return STOP_NODE
        return self.current(state)

    def stop_handoffs(self, state: SwarmState, *, runtime: Runtime[SwarmContext]) -> dict[str, Any]:
        """End a turn whose agents kept passing the conversation on, saying so."""
        context = context_as(runtime, SwarmContext)
        turn = _this_turn(state)
        trail = [h for h in turn if h["status"] == "handed off"]
        limit = f"the limit is {context.max_handoffs} handoffs per message"
        if trail:
            involved = sorted({h["from"] for h in trail} | {h["to"] for h in trail})
            who = ", ".join(involved[:-1]) + f" and {involved[-1]}"
            times = {1: "once", 2: "twice"}.get(len(trail), f"{len(trail)} times")
            said = f"I was passed between {who} {times} without an answer, so I stopped here"
        else:
            attempt = turn[-1] if turn else {"from": self.current(state), "to": "another agent"}
            said = f"{attempt['from']} tried to hand you to {attempt['to']}, so I stopped here"
        text = (
            f"{said} ({limit}). Nothing else was done. Please say which department you "
            "need, or add details to your question."
        )
        return {"messages": [AIMessage(content=text, name="swarm")]}


def build_swarm_graph(
    agents: Sequence[AgentSpec],
    *,
    model: BaseChatModel | None = None,
    default_agent: str | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "swarm",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledStateGraph[SwarmState, SwarmContext, AgentInput, SwarmOutput]:
    """Build the swarm graph.

    Args:
        agents: the members (`AgentSpec` with instructions and tools: the swarm adds handoff
            tools to all the others, so a member cannot be a compiled graph).
        model: chat model for agents without their own; None resolves ``context.model`` per
            run (the offline model when no API key is configured).
        default_agent: who takes a thread's first turn; defaults to the first agent.
        runtime: checkpointer, store, ledger and tool timeout (`PatternRuntime`), shared by
            all agents.
        checkpointer: shorthand for the runtime's saver; None for stateless runs or under a
            server.
        store: shorthand for the runtime's store.
        name: graph name (traces, checkpoint ``graph_id`` tag).
        recursion_limit: hard cap on super-steps per run (the agents count theirs against it
            too), on top of ``context.max_steps`` and ``context.max_handoffs``.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `SwarmContext`.

    Raises:
        ValueError: no agents, duplicate or reserved names, an agent given as a compiled
            graph, or an unknown `default_agent`.
    """
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    members = list(agents)
    names = check_agent_names(members, reserved={HANDOFF_NODE, STOP_NODE})
    first = default_agent or names[0]
    if first not in names:
        raise ValueError(f"default_agent {first!r} is not one of the agents {names}")

    steps = _SwarmSteps(names, first)
    builder = StateGraph(
        SwarmState,
        context_schema=SwarmContext,
        input_schema=AgentInput,
        output_schema=SwarmOutput,
    )
    for agent in members:
        builder.add_node(agent.name, build_swarm_agent(agent, members, model=model, runtime=shared))
        builder.add_edge(agent.name, HANDOFF_NODE)
    builder.add_node(HANDOFF_NODE, steps.handoff)
    builder.add_node(STOP_NODE, steps.stop_handoffs)
    builder.add_conditional_edges(START, steps.route_to_active_agent, names)
    builder.add_conditional_edges(HANDOFF_NODE, steps.route_after_handoff, [*names, STOP_NODE, END])
    builder.add_edge(STOP_NODE, END)
    return compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=agent_tools(members),
    )


from demo.teams import support_agents  # noqa: E402  (the served graph's wiring only)

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "agents": support_agents()}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_swarm_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; no checkpointer of its own (the server brings one)."""
