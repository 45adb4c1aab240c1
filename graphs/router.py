"""Router (coordinator): route each request to one specialist agent, or ask what it is about.

``route_request`` runs the context's routing strategy (rules, embeddings, a model, or the
hybrid of the three; see `nodes.routers`) on the latest human message and stores the decision
and its confidence in ``state["route"]`` (and ``route_history``). A confident decision goes to
that specialist, a ReAct agent with its own tools and prompt, added as a *subgraph node*: its
approval gate interrupts the whole run, the interrupt shows on this graph's thread, and a
resume continues inside the specialist. Below the threshold the request goes to ``triage``, a
fixed clarifying answer listing the departments.

    START → route_request ──► shipping ──► END
                 ├──────────► billing ───► END   (issue_refund waits at billing's gate)
                 ├──────────► technical ─► END
                 └──────────► triage ────► END
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from checkpointers.ledger import EffectLedger, default_ledger
from demo.orders import create_support_ticket, issue_refund, lookup_order, search_help_docs
from demo.routing_examples import SUPPORT_DESCRIPTIONS, SUPPORT_EXAMPLES, SUPPORT_RULES
from graphs._compile import compile_pattern
from graphs.react import build_react_graph
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
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S
from state.agent import AgentInput, AgentOutput, AgentState
from state.context import AgentContext
from state.routing import RouterContext, RouterOutput, RouterState

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "Specialist",
    "build_router_graph",
    "build_specialist_graph",
    "graph",
    "support_specialists",
]

DEFAULT_RECURSION_LIMIT = 60
"""Super-steps per run: one to route, then the specialist's tool rounds (three each)."""


@dataclass(frozen=True)
class Specialist:
    """One department the router can send a request to.

    Attributes:
        description: what it handles (the model router's prompt and the triage answer).
        tools: the tools of its ReAct agent.
        system_prompt: its agent's system prompt (replaces ``context.system_prompt``).
        rules: regexes for `RuleRouter`.
        examples: labelled example requests for `EmbeddingRouter`.
        model: its agent's model; None uses the router's `model` (or ``context.model``).
        graph: a compiled graph to use as the specialist instead of building a ReAct agent.
    """

    description: str
    tools: Sequence[BaseTool] = ()
    system_prompt: str = ""
    rules: Sequence[str] = ()
    examples: Sequence[str] = ()
    model: BaseChatModel | None = None
    graph: CompiledStateGraph[Any, Any, Any, Any] | None = field(default=None, compare=False)


_PROMPTS = {
    "shipping": "You are the shipping desk of an online shop: deliveries, tracking, late or "
    "lost parcels. Look the order up before answering and never invent dates or carriers.",
    "billing": "You are the billing desk of an online shop: refunds, charges, invoices. Look "
    "the order up before acting; refunds are real money, request them with the tool and a "
    "person will review them. Cite what the tools returned.",
    "technical": "You are the technical support desk of an online shop: products that do not "
    "work, the website and the app. Search the help centre first; file a ticket when it does "
    "not solve the problem.",
}


def support_specialists() -> dict[str, Specialist]:
    """The demo's departments: shipping, billing (refunds need approval) and technical."""
    tools: dict[str, list[BaseTool]] = {
        "shipping": [lookup_order, search_help_docs],
        "billing": [lookup_order, issue_refund],
        "technical": [search_help_docs, create_support_ticket],
    }
    return {
        name: Specialist(
            description=SUPPORT_DESCRIPTIONS[name],
            tools=tools[name],
            system_prompt=_PROMPTS[name],
            rules=SUPPORT_RULES[name],
            examples=SUPPORT_EXAMPLES[name],
        )
        for name in ("shipping", "billing", "technical")
    }


def build_specialist_graph(
    name: str,
    specialist: Specialist,
    model: BaseChatModel | None = None,
    *,
    ledger: EffectLedger,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput]:
    """A specialist's ReAct agent with its own tools and prompt.

    Compiled without a checkpointer: as a subgraph node it checkpoints into its parent's thread.
    """
    return build_react_graph(
        specialist.model or model,
        specialist.tools,
        name=name,
        recursion_limit=recursion_limit,
        ledger=ledger,
        tool_timeout_s=tool_timeout_s,
        system_prompt=specialist.system_prompt or None,
    )


def _triage_answer(specialists: Mapping[str, Specialist]) -> AgentNode:
    """The triage node: a fixed clarifying question that lists the departments."""
    departments = "\n".join(f"- {name}: {s.description}" for name, s in specialists.items())

    def triage(state: RouterState) -> dict[str, Any]:
        """Ask the customer what the request is about (no model call)."""
        route = state.get("route") or {}
        guess = ""
        if route.get("specialist") not in (None, TRIAGE):
            guess = (
                f" My best guess was {route['specialist']} (confidence "
                f"{route.get('confidence', 0):.2f}), not sure enough to send you there."
            )
        text = (
            "I want to send you to the right team, but I could not tell what your request is "
            f"about.{guess} Which of these is it?\n{departments}\n"
            "Tell me a little more (an order number helps) and I will pass you on."
        )
        return {"messages": [AIMessage(content=text, name=TRIAGE)]}

    return triage


def build_router_graph(
    model: BaseChatModel | None = None,
    specialists: Mapping[str, Specialist] | None = None,
    *,
    router: Router | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "router",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    ledger: EffectLedger | None = None,
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
) -> CompiledStateGraph[RouterState, RouterContext, AgentInput, RouterOutput]:
    """Build the router graph.

    Args:
        model: chat model for the model routing strategy and for specialists without their
            own; None resolves ``context.model`` per run (the offline demo model by default).
        specialists: departments by name (`Specialist`); defaults to `support_specialists`.
            A name may not be ``"triage"``.
        router: a fixed routing strategy; None builds one per run from the context
            (``routing_strategy``, ``confidence_threshold``, ``embeddings``) and the
            specialists' rules, examples and descriptions.
        checkpointer: saver for durable threads; the specialists checkpoint into it too.
        store: long-term memory store, exposed to nodes as ``runtime.store``.
        name: graph name, also the ``graph_id`` its checkpoints are tagged with.
        recursion_limit: hard cap on super-steps per run (the specialists' steps included).
        ledger: exactly-once record of side-effecting calls, shared by every specialist;
            defaults to the one that goes with the checkpointer.
        tool_timeout_s: default per-call tool timeout in seconds.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `RouterContext`; the state
        adds ``route`` and ``route_history``.
    """
    departments = dict(support_specialists() if specialists is None else specialists)
    if TRIAGE in departments or not departments:
        raise ValueError(f"specialists must be non-empty and may not be named {TRIAGE!r}")
    shared_ledger = ledger if ledger is not None else default_ledger(checkpointer)
    rules = {n: list(s.rules) for n, s in departments.items() if s.rules}
    examples = {n: list(s.examples) for n, s in departments.items() if s.examples}
    descriptions = {n: s.description for n, s in departments.items()}

    @functools.lru_cache(maxsize=32)
    def routers(strategy: str, threshold: float, embeddings: str, model_spec: str) -> Router:
        chosen: list[Router] = []
        if strategy in ("rules", "hybrid") and rules:
            chosen.append(RuleRouter(rules))
        if strategy in ("embeddings", "hybrid") and examples:
            chosen.append(EmbeddingRouter(examples, create_embeddings(embeddings)))
        if strategy in ("model", "hybrid"):
            chat_model = resolve_model(model, model_spec)
            chosen.append(ModelRouter(chat_model, descriptions))
        return chosen[0] if strategy != "hybrid" else HybridRouter(chosen, threshold)

    def router_for(context: RouterContext) -> Router:
        if router is not None:
            return router
        return routers(
            context.routing_strategy,
            context.confidence_threshold,
            context.embeddings,
            "" if model is not None else context.model,
        )

    builder = StateGraph(
        RouterState,
        context_schema=RouterContext,
        input_schema=AgentInput,
        output_schema=RouterOutput,
    )
    builder.add_node("route_request", make_route_request(router_for), retry_policy=MODEL_RETRY)
    for department, specialist in departments.items():
        subgraph = specialist.graph or build_specialist_graph(
            department,
            specialist,
            model,
            ledger=shared_ledger,
            recursion_limit=recursion_limit,
            tool_timeout_s=tool_timeout_s,
        )
        # The "agent" metadata reaches every streamed chunk of the subgraph (messages mode
        # included), next to the namespace ("billing:<task id>") that `subgraphs=True` adds.
        builder.add_node(department, subgraph.with_config(metadata={"agent": department}))
        builder.add_edge(department, END)
    builder.add_node(TRIAGE, _triage_answer(departments))
    builder.add_edge(TRIAGE, END)
    builder.add_edge(START, "route_request")
    builder.add_conditional_edges("route_request", _route_to_specialist, [*departments, TRIAGE])
    return compile_pattern(
        builder,
        checkpointer=checkpointer,
        store=store,
        name=name,
        recursion_limit=recursion_limit,
    )


def _route_to_specialist(state: RouterState) -> str:
    """Where ``route_request`` sent the request."""
    route = state.get("route") or {}
    return str(route.get("routed_to") or TRIAGE)


graph = build_router_graph()
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
