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

    START ─(active agent)─► shipping │ billing │ technical ─► handoff ─(answered)──► END
                               ▲                                │ ├─(too many)─► stop_handoffs
                               └──────────(handed off)──────────┘
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from checkpointers.ledger import EffectLedger, default_ledger
from demo.orders import create_support_ticket, issue_refund, lookup_order, search_help_docs
from graphs._compile import compile_pattern
from graphs.react import build_react_graph
from nodes.context import context_as
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S
from state.agent import AgentInput, AgentOutput, AgentState
from state.context import AgentContext
from state.swarm import SwarmContext, SwarmOutput, SwarmState
from tools.handoff import last_handoff, make_handoff_tool

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "SwarmAgent",
    "build_swarm_agent",
    "build_swarm_graph",
    "graph",
    "support_agents",
]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per run of the swarm; each agent counts its own steps against the same limit."""

HANDOFF_NODE = "handoff"
STOP_NODE = "stop_handoffs"


@dataclass(frozen=True)
class SwarmAgent:
    """One member of a swarm.

    Attributes:
        name: node name and handoff target (``transfer_to_<name>``); letters, digits, ``_``.
        description: what the agent handles; the other agents read it in the description of
            their ``transfer_to_<name>`` tool when choosing whom to hand off to.
        instructions: the agent's own system prompt, added after ``context.system_prompt``.
        tools: the agent's own tools (handoff tools to the other agents are added).
        model: this agent's model; None uses the swarm's model (or ``context.model``).
    """

    name: str
    description: str
    instructions: str
    tools: Sequence[BaseTool] = field(default_factory=tuple)
    model: BaseChatModel | None = None


def support_agents() -> list[SwarmAgent]:
    """The demo swarm: the shipping, billing and technical departments of the order desk."""
    return [
        SwarmAgent(
            name="shipping",
            description="where a parcel is, delivery dates, tracking, carriers, late parcels.",
            instructions=(
                "You are the shipping department: you track orders and explain delivery. "
                "Money (refunds, charges) belongs to billing; a product that does not work "
                "belongs to technical. Hand off instead of answering outside your field."
            ),
            tools=(lookup_order, search_help_docs),
        ),
        SwarmAgent(
            name="billing",
            description="refunds, money back, charges, payments and invoices.",
            instructions=(
                "You are the billing department: you check orders and issue refunds. A refund "
                "moves money: request it with issue_refund, a person reviews it. Hand delivery "
                "questions to shipping and faulty products to technical."
            ),
            tools=(lookup_order, issue_refund),
        ),
        SwarmAgent(
            name="technical",
            description="a product that is faulty, does not work, will not turn on, or setup.",
            instructions=(
                "You are the technical department: you troubleshoot products and open support "
                "tickets for a person to follow up. Hand refunds to billing and delivery "
                "questions to shipping."
            ),
            tools=(search_help_docs, create_support_ticket),
        ),
    ]


def build_swarm_agent(
    agent: SwarmAgent,
    peers: Sequence[SwarmAgent],
    *,
    model: BaseChatModel | None = None,
    ledger: EffectLedger,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput]:
    """One swarm member: the ReAct tool loop over its tools plus handoffs to its peers.

    Compiled without a checkpointer of its own: as a subgraph node it checkpoints into the
    swarm's thread (its own namespace), which is what lets an interrupt inside it resume there.
    The loop ends right after a turn that called a handoff, every call answered.
    """
    handoffs = [make_handoff_tool(p.name, p.description) for p in peers if p.name != agent.name]
    compiled = build_react_graph(
        agent.model if agent.model is not None else model,
        [*agent.tools, *handoffs],
        name=agent.name,
        ledger=ledger,
        tool_timeout_s=tool_timeout_s,
        exit_on_handoff=True,
        instructions=agent.instructions,
        name_replies=True,
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


def build_swarm_graph(
    agents: Sequence[SwarmAgent] | None = None,
    *,
    default_agent: str | None = None,
    model: BaseChatModel | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "swarm",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    ledger: EffectLedger | None = None,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[SwarmState, SwarmContext, AgentInput, SwarmOutput]:
    """Build the swarm graph.

    Args:
        agents: the members; defaults to the support departments (`support_agents`). Each
            gets handoff tools to all the others.
        default_agent: who takes a thread's first turn; defaults to the first agent.
        model: chat model for agents without their own; None resolves ``context.model`` per
            run (offline demo model when no API key is configured).
        checkpointer: saver for durable threads; None for stateless runs or under a server.
        store: long-term memory store, exposed to nodes as ``runtime.store``.
        name: graph name (traces, checkpoint ``graph_id`` tag).
        recursion_limit: hard cap on super-steps per run (the agents count theirs against it
            too), on top of ``context.max_steps`` and ``context.max_handoffs``.
        ledger: exactly-once record of side-effecting calls, shared by all agents; defaults to
            the one that goes with the checkpointer.
        tool_timeout_s: default per-call tool timeout in seconds.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `SwarmContext`.

    Raises:
        ValueError: no agents, duplicate or reserved names, or an unknown `default_agent`.
    """
    members = list(support_agents() if agents is None else agents)
    names = [agent.name for agent in members]
    if not members:
        raise ValueError("A swarm needs at least one agent.")
    if len(set(names)) != len(names):
        raise ValueError(f"Agent names must be unique, got {names}")
    if reserved := {HANDOFF_NODE, STOP_NODE} & set(names):
        raise ValueError(f"Agent names {sorted(reserved)} are reserved by the swarm graph.")
    first = default_agent or names[0]
    if first not in names:
        raise ValueError(f"default_agent {first!r} is not one of the agents {names}")
    shared_ledger = ledger if ledger is not None else default_ledger(checkpointer)

    def current(state: SwarmState) -> str:
        active = state.get("active_agent")
        return active if active in names else first

    def route_to_active_agent(state: SwarmState) -> str:
        """Send the user's turn to the agent holding the conversation."""
        return current(state)

    def handoff(state: SwarmState, *, runtime: Runtime[SwarmContext]) -> dict[str, Any]:
        """Record the handoff the agent just made (if any) and who holds the conversation."""
        holder = current(state)
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
        if target not in names or target == holder:
            return {"active_agent": holder, "handoffs": [{**record, "status": "unknown agent"}]}
        return {"active_agent": target, "handoffs": [{**record, "status": "handed off"}]}

    def route_after_handoff(state: SwarmState) -> str:
        """Go to the new holder after a handoff; end the turn after an answer or a refusal."""
        if last_handoff(state["messages"]) is None:
            return END
        trail = _this_turn(state)
        if trail and trail[-1]["status"] == "refused":
            return STOP_NODE
        return current(state)

    def stop_handoffs(state: SwarmState, *, runtime: Runtime[SwarmContext]) -> dict[str, Any]:
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
            attempt = turn[-1] if turn else {"from": current(state), "to": "another agent"}
            said = f"{attempt['from']} tried to hand you to {attempt['to']}, so I stopped here"
        text = (
            f"{said} ({limit}). Nothing else was done. Please say which department you "
            "need, or add details to your question."
        )
        return {"messages": [AIMessage(content=text, name="swarm")]}

    builder = StateGraph(
        SwarmState,
        context_schema=SwarmContext,
        input_schema=AgentInput,
        output_schema=SwarmOutput,
    )
    for agent in members:
        peers = [p for p in members if p.name != agent.name]
        builder.add_node(
            agent.name,
            build_swarm_agent(
                agent, peers, model=model, ledger=shared_ledger, tool_timeout_s=tool_timeout_s
            ),
        )
        builder.add_edge(agent.name, HANDOFF_NODE)
    builder.add_node(HANDOFF_NODE, handoff)
    builder.add_node(STOP_NODE, stop_handoffs)
    builder.add_conditional_edges(START, route_to_active_agent, names)
    builder.add_conditional_edges(HANDOFF_NODE, route_after_handoff, [*names, STOP_NODE, END])
    builder.add_edge(STOP_NODE, END)
    return compile_pattern(
        builder,
        checkpointer=checkpointer,
        store=store,
        name=name,
        recursion_limit=recursion_limit,
    )


graph = build_swarm_graph()
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
