"""Parallel fan-out / fan-in: every branch works on the request at once, then one answer.

    START ─► branches (every branch at the same time, one task each) ─► aggregate ─► END

Each branch is an `state.agent_spec.AgentSpec`: a tool agent the pattern builds (a ReAct
loop, `graphs._agents.agent_graph`) or any compiled graph (another pattern, a nested
pipeline or parallel). It receives ``{"messages": [HumanMessage(<the request>)]}`` and its
output is the text of its last AI message. The branches run inside the ``branches`` node as
durable LangGraph tasks (`nodes.parallel_branches`): all of them start at once, in ``invoke``
(one thread each: the graph sets the run's ``max_concurrency`` to fit them) and ``ainvoke``;
each result is saved when its branch finishes, so a run resumed after a crash or an approval
does not run a finished branch again. An approval inside a branch surfaces on the top-level
thread and resumes inside the branch, the other branches finishing meanwhile.

A branch that raises is ``failed``; one that runs past ``branch_timeout_s`` is ``timed_out``.
Both are reported in ``branch_results`` and the final message, and the others are aggregated
when at least ``quorum`` branches succeeded (default: a strict majority, ``K // 2 + 1``);
below it the run ends saying so (status ``below_quorum``).

Aggregation (`nodes.parallel_aggregate`, which documents the normalisation and tie rules):

- ``synthesis``: a synthesizer (role ``parallel.synthesizer``) writes the answer from every
  output, with ``synthesis_instructions`` as its system prompt;
- ``vote``: the most common normalised answer wins, ties to the earliest declared branch;
  ``confidence`` is its share of the votes, the distribution is in ``votes``;
- ``best_of``: a judge (role ``parallel.judge``) scores each output (`state.parallel.Score`);
  the highest wins, ties to the earliest declared branch.

A synthesizer or judge that gives no valid answer ends the run cleanly with the reason
(status ``invalid_output``). Budgets, fallbacks and the other controls apply to every model
call of every branch through the shared model-call path, as in every pattern.

Offline, on the demo model, a branch built from a spec plays the stand-in registered for its
role (``parallel.branch.<name>``, if any; else the demo model itself), and the synthesizer and
judge theirs (`state.parallel` declares their inputs); the served graph (incident triage,
`demo.incident`) registers its three specialists and the commander.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel
from langgraph.runtime import get_runtime
from langgraph.store.base import BaseStore

from graphs._agents import agent_graph, agent_tools
from graphs._compile import compile_pattern
from nodes.context import context_as
from nodes.messages import latest_human_text
from nodes.parallel_aggregate import SYNTHESIS_PROMPT, Aggregator, normalize_answer
from nodes.parallel_branches import BRANCH_TASK, Branch, BranchRunner
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.subagent import SubAgent
from state.agent import AgentInput, AgentOutput
from state.agent_spec import AgentSpec, check_agent_names
from state.context import AgentContext
from state.parallel import AGGREGATIONS, Aggregation, ParallelState

__all__ = [
    "BRANCH_TASK",
    "DEFAULT_RECURSION_LIMIT",
    "build_parallel_graph",
    "default_quorum",
    "graph",
    "make_run_branches",
]

DEFAULT_RECURSION_LIMIT = 10
"""Super-steps per run: the two nodes, with room to spare."""

_NODES = ("branches", "aggregate")

ParallelGraph = CompiledStateGraph[ParallelState, AgentContext, AgentInput, AgentOutput]


def default_quorum(branches: int) -> int:
    """The default quorum: a strict majority of the branches (1 of 1, 2 of 3, 3 of 4)."""
    return branches // 2 + 1


def _update(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The state update of the branches' runs: their results and the approvals inside them."""
    approvals = [record for run in runs.values() for record in run.get("approvals", [])]
    results = {name: run["result"] for name, run in runs.items()}
    return {"branch_results": results, "approvals": approvals}


def make_run_branches(runner: BranchRunner) -> RunnableLambda[ParallelState, dict[str, Any]]:
    """Build the node that runs every branch on the request (sync and async bodies)."""

    def branches(state: ParallelState) -> dict[str, Any]:
        """Run every branch at once (sync: one thread each)."""
        context = context_as(get_runtime(AgentContext), AgentContext)
        return _update(runner.run(latest_human_text(state["messages"]), context))

    async def abranches(state: ParallelState) -> dict[str, Any]:
        """Async twin of `branches`: the branches are coroutines."""
        context = context_as(get_runtime(AgentContext), AgentContext)
        return _update(await runner.arun(latest_human_text(state["messages"]), context))

    return RunnableLambda(branches, afunc=abranches, name="branches")


def _branch(spec: AgentSpec, model: BaseChatModel | None, runtime: PatternRuntime) -> Branch:
    """The spec as a branch; one built from a spec may be rebuilt on an offline stand-in."""
    agent = SubAgent(agent_graph(spec, model=model, runtime=runtime), name=spec.name)
    if spec.graph is not None or spec.model is not None:
        return Branch(spec, agent)

    def rebuild(chat_model: BaseChatModel) -> Pregel[Any, Any, Any, Any]:
        return agent_graph(spec, model=chat_model, runtime=runtime)

    return Branch(spec, agent, model=model, rebuild=rebuild)


def _checked_quorum(quorum: int | None, branches: int) -> int:
    chosen = default_quorum(branches) if quorum is None else quorum
    if not 1 <= chosen <= branches:
        raise ValueError(f"quorum must be between 1 and {branches} (the branches), got {chosen}")
    return chosen


def build_parallel_graph(
    branches: Sequence[AgentSpec],
    *,
    aggregate: Aggregation = "synthesis",
    quorum: int | None = None,
    branch_timeout_s: float | None = None,
    model: BaseChatModel | None = None,
    judge: BaseChatModel | None = None,
    synthesizer: BaseChatModel | None = None,
    synthesis_instructions: str = SYNTHESIS_PROMPT,
    normalize: Callable[[str], str] = normalize_answer,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "parallel",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> ParallelGraph:
    """Build the parallel fan-out / fan-in graph.

    Args:
        branches: the branches, in declared order (the order of reports and tie rules).
        aggregate: ``synthesis``, ``vote`` or ``best_of`` (see the module docs).
        quorum: the fewest successful branches that may be aggregated; None: a strict
            majority (`default_quorum`).
        branch_timeout_s: seconds each branch may run (per run of the node); None: no limit.
        model: the model of branches built from specs without one, and of the synthesizer
            and judge unless given; None resolves ``context.model`` per run.
        judge: the judge's model (``best_of``); defaults to `model`.
        synthesizer: the synthesizer's model (``synthesis``); defaults to `model`.
        synthesis_instructions: the synthesizer's system prompt.
        normalize: how a vote's answers are made comparable (`normalize_answer`).
        runtime: checkpointer, store, effect ledger, tool timeout and controls; the branches
            share its ledger and checkpoint into the run's thread.
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``.
        store: shorthand for the runtime's long-term memory store.
        name: graph name (the final message carries it too).
        recursion_limit: hard cap on super-steps per run.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `AgentContext`.

    Raises:
        ValueError: no branches, repeated or reserved names, an unknown aggregation, a
            quorum outside ``1..len(branches)`` or a non-positive timeout.
    """
    specs = list(branches)
    check_agent_names(specs, reserved=_NODES)
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"aggregate must be one of {AGGREGATIONS}, got {aggregate!r}")
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    runner = BranchRunner(
        [_branch(spec, model, shared) for spec in specs], timeout_s=branch_timeout_s
    )
    aggregator = Aggregator(
        aggregate,
        _checked_quorum(quorum, len(specs)),
        synthesizer=synthesizer or model,
        judge=judge or model,
        instructions=synthesis_instructions,
        normalize=normalize,
        name=name,
    )
    builder = StateGraph(
        ParallelState,
        context_schema=AgentContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    builder.add_node("branches", make_run_branches(runner))
    builder.add_node("aggregate", aggregator, retry_policy=MODEL_RETRY)
    builder.add_edge(START, "branches")
    builder.add_edge("branches", "aggregate")
    builder.add_edge("aggregate", END)
    compiled = compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=agent_tools(specs),
    )
    # one worker thread per branch under invoke, plus the node's own (a run's config may lower it)
    return compiled.with_config(max_concurrency=len(specs) + 2)


from demo.incident import (  # noqa: E402  (the served graph's wiring only)
    COMMANDER_PROMPT,
    incident_branches,
    register_stand_ins,
)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "branches": incident_branches(),
    "aggregate": "synthesis",
    "synthesis_instructions": COMMANDER_PROMPT,
}
"""Incident triage: three specialists, the incident commander synthesizes (`demo.incident`)."""

graph = build_parallel_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
