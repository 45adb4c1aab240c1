"""Router (coordinator): route each request to one specialist agent, or ask what it is about.

``route_request`` runs the context's routing strategy (rules, embeddings, a model, or the
hybrid of the three; see `nodes.routers`) on the *conversation*: the latest human message
when it is clear, else a yes to triage's best guess, the recent human turns read together, or
the specialist the thread was already with (`nodes.routers.ConversationRouter`). It stores the
decision, its confidence and what it rests on in ``state["route"]`` (and ``route_history``).
A confident decision goes to that specialist (an `AgentSpec`: a ReAct agent with its own tools
and instructions, or a compiled graph), added as a *subgraph node*: its approval gate
interrupts the whole run, the interrupt shows on this graph's thread, and a resume continues
inside the specialist. Below the threshold the request goes to ``triage``, a fixed clarifying
question that names the best guess (answer "yes" to take it) and lists the departments.

A catch-all specialist (the demo's ``general``) is a specialist like any other: it is for
requests the router is *sure* belong to no department. Triage is for requests it is *unsure*
about.

    START → route_request ──► billing ───► END   (issue_refund waits at billing's gate)
                 ├──────────► technical ─► END
                 ├──────────► account ───► END
                 ├──────────► shipping ──► END   (customs: escalate_to_human, gated)
                 ├──────────► fraud ─────► END   (escalate_to_human, gated)
                 ├──────────► general ───► END   (the catch-all)
                 └──────────► triage ────► END   (below the threshold: a clarifying question)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs._agents import agent_graph, agent_tools
from graphs._compile import compile_pattern
from memory.embeddings import create_embeddings
from nodes.context import AgentNode
from nodes.model_call import resolve_model
from nodes.retry import MODEL_RETRY
from nodes.routers import (
    TRIAGE,
    EmbeddingRouter,
    HybridRouter,
    ModelRouter,
    Router,
    RuleRouter,
    make_route_request,
)
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.agent_spec import AgentSpec, check_agent_names
from state.routing import ROUTER_ROLE, RouteHints, RouterContext, RouterOutput, RouterState

__all__ = ["DEFAULT_RECURSION_LIMIT", "build_router_graph", "graph"]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per run: one to route, then the specialist's tool rounds (three each)."""


def _triage_answer(agents: Sequence[AgentSpec]) -> AgentNode:
    """The triage node: a fixed clarifying question naming the best guess (no model call)."""
    departments = "\n".join(f"- {agent.name}: {agent.description}" for agent in agents)

    def triage(state: RouterState) -> dict[str, Any]:
        """Ask the customer what the request is about; a "yes" takes the best guess."""
        route = state.get("route") or {}
        guess = ""
        if route.get("specialist") not in (None, TRIAGE):
            guess = (
                f" My best guess was {route['specialist']} (confidence "
                f"{route.get('confidence', 0):.2f}), not sure enough to send you there: if "
                "that is it, just say yes."
            )
        text = (
            "I want to send you to the right team, but I could not tell what your request is "
            f"about.{guess} Which of these is it?\n{departments}\n"
            "Tell me a little more (an order number helps) and I will pass you on."
        )
        return {"messages": [AIMessage(content=text, name=TRIAGE)]}

    return triage


def _strategies(
    agents: Sequence[AgentSpec], hints: Mapping[str, RouteHints], model: BaseChatModel | None
) -> Any:
    """A builder of the routing strategy a run's context asks for.

    Rules and embeddings are built once per (strategy, embeddings) and cached (the examples
    are embedded once); the model strategy is built per run, so a run on the offline demo
    model gets a fresh stand-in for `ROUTER_ROLE` (`models.offline`).
    """
    rules = {n: list(h.rules) for n, h in hints.items() if h.rules}
    examples = {n: list(h.examples) for n, h in hints.items() if h.examples}
    descriptions = {agent.name: agent.description for agent in agents}

    @functools.lru_cache(maxsize=32)
    def cheap(strategy: str, embeddings: str) -> tuple[Router, ...]:
        chosen: list[Router] = []
        if strategy in ("rules", "hybrid") and rules:
            chosen.append(RuleRouter(rules))
        if strategy in ("embeddings", "hybrid") and examples:
            chosen.append(EmbeddingRouter(examples, create_embeddings(embeddings)))
        return tuple(chosen)

    def router_for(context: RouterContext) -> Router:
        chosen = list(cheap(context.routing_strategy, context.embeddings))
        if context.routing_strategy in ("model", "hybrid") or not chosen:
            routing_model = resolve_model(
                model,
                "" if model is not None else context.model,
                role=ROUTER_ROLE,
                inputs={"descriptions": descriptions},
            )
            chosen.append(ModelRouter(routing_model, descriptions))
        if context.routing_strategy == "hybrid":
            return HybridRouter(chosen, context.confidence_threshold)
        return chosen[0]

    return router_for


def build_router_graph(
    agents: Sequence[AgentSpec],
    *,
    model: BaseChatModel | None = None,
    hints: Mapping[str, RouteHints] | None = None,
    router: Router | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "router",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledStateGraph[RouterState, RouterContext, AgentInput, RouterOutput]:
    """Build the router graph.

    Args:
        agents: the specialists (`AgentSpec`); none may be named ``"triage"``. Their
            descriptions are the model strategy's prompt and the triage answer.
        model: chat model for the model routing strategy and for specialists without their
            own; None resolves ``context.model`` per run (the offline model by default).
        hints: per specialist, the rules and labelled examples the rules and embeddings
            strategies use (`RouteHints`); a strategy without any falls back to the model.
        router: a fixed routing strategy; None builds one per run from the context
            (``routing_strategy``, ``confidence_threshold``, ``embeddings``) and the hints.
        runtime: checkpointer, store, ledger and tool timeout (`PatternRuntime`); the
            specialists checkpoint into the router's thread and share its ledger.
        checkpointer: shorthand for the runtime's saver.
        store: shorthand for the runtime's store.
        name: graph name, also the ``graph_id`` its checkpoints are tagged with.
        recursion_limit: hard cap on super-steps per run (the specialists' steps included).

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `RouterContext`; the state
        adds ``route`` and ``route_history``.

    Raises:
        ValueError: no specialists, a repeated name, one named ``"triage"``, or hints for an
            unknown specialist.
    """
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    team = list(agents)
    names = check_agent_names(team, reserved={TRIAGE, "route_request"})
    route_hints = dict(hints or {})
    if unknown := sorted(set(route_hints) - set(names)):
        raise ValueError(f"hints name unknown specialists {unknown}")
    strategies = _strategies(team, route_hints, model)

    builder = StateGraph(
        RouterState,
        context_schema=RouterContext,
        input_schema=AgentInput,
        output_schema=RouterOutput,
    )
    builder.add_node(
        "route_request",
        make_route_request(lambda context: router or strategies(context)),
        retry_policy=MODEL_RETRY,
    )
    for agent in team:
        subgraph = agent_graph(agent, model=model, runtime=shared, recursion_limit=recursion_limit)
        # The "agent" metadata reaches every streamed chunk of the subgraph (messages mode
        # included), next to the namespace ("billing:<task id>") that `subgraphs=True` adds.
        builder.add_node(agent.name, subgraph.with_config(metadata={"agent": agent.name}))
        builder.add_edge(agent.name, END)
    builder.add_node(TRIAGE, _triage_answer(team))
    builder.add_edge(TRIAGE, END)
    builder.add_edge(START, "route_request")
    builder.add_conditional_edges("route_request", _route_to_specialist, [*names, TRIAGE])
    return compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=agent_tools(team),
    )


def _route_to_specialist(state: RouterState) -> str:
    """Where ``route_request`` sent the request."""
    route = state.get("route") or {}
    return str(route.get("routed_to") or TRIAGE)


from demo.teams import register_stand_ins, support_desks, support_routes  # noqa: E402  (wiring)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "agents": support_desks(),
    "hints": support_routes(),
}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_router_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; no checkpointer of its own (the server brings one)."""
