"""Loop: run a body round after round, feeding back what is still wrong, until a check passes.

    begin ─► body ─► check ──(passed / out of rounds / invalid verdict)──► finish ─► END
              ▲        │
              └────────┘ (not passed: the output and its remaining issues go into the next round)

The body is any agent (`state.agent_spec.AgentSpec`): a tool agent the loop builds, or a
compiled graph (another pattern, a pipeline, a nested loop). It runs inside the ``body`` node
as a sub-agent (`nodes.loop_body.LoopBody` over `nodes.subagent.SubAgent`): an approval inside
it surfaces on the loop's thread and resumes inside; a body that raises fails its round (the
error is the feedback of the next one). Its input is ``{"messages": [HumanMessage(task)]}``,
the task being the request in round 1 and, later, the request, the previous output and the
remaining issues (`nodes.loop_body.round_task`); its output is its last AI message's text.

The stop check (`nodes.loop_stop`) is either a Python predicate ``until(output, state)``
returning a bool or a `LoopVerdict`, or (``until=None``) a judge asked for a structured
`LoopVerdict` ``{passes, reason, remaining_issues}``. A judge whose verdict is still invalid
after one re-ask ends the run cleanly: the answer returns the latest output and says it was
not checked (``outcome.status == "judge_error"``).

Rounds: at most ``min(max_rounds, context.max_rounds)`` per request (the factory's value is the
graph's ceiling; the run's, bounded by the operator's ``AGENT_PATTERNS_MAX_ROUNDS``, can only
lower it). Every round is kept in ``rounds`` (its input, output, error and verdict). The answer
is the passing round's output, or, out of rounds, the last round that produced an output, with
a note saying whether it passed, after how many rounds, and what still fails; ``outcome`` has
the same in fields.

Each round is two checkpointed super-steps (``body``, ``check``), so a run killed mid-way and
resumed on the same thread does not run finished rounds again.

Offline, on the demo model, the body (when built from a spec) plays the stand-in registered for
its role, ``loop.body.<its name>`` (`state.loop.body_role`), and the judge the one registered
for ``loop.judge.<the body's name>`` (`state.loop.judge_role`): per loop, so one scenario's
stand-ins never play another loop's roles. The served graph registers the supplier-CSV
scenario's (`demo.supplier_csv`).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore

from graphs._agents import agent_graph, agent_tools
from graphs._compile import compile_pattern
from nodes.ask import InvalidOutput
from nodes.context import AgentNode, context_as
from nodes.loop_body import LoopBody
from nodes.loop_stop import StopPredicate, ask_judge, predicate_verdict
from nodes.messages import latest_human_text
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.subagent import SubAgent
from state.agent import AgentInput, AgentOutput
from state.agent_spec import AgentSpec
from state.loop import JUDGE_ROLE, JudgeInputs, LoopContext, LoopState, LoopVerdict, judge_role

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "SERVED_OPTIONS",
    "build_loop_graph",
    "graph",
    "make_check",
    "make_finish",
    "route_after_check",
]

DEFAULT_RECURSION_LIMIT = 30
"""Super-steps per run: two per round (body, check) plus begin and finish; 10 rounds fit."""

_FINISH_HEADROOM = 3
"""Steps kept for another round and finish: below this many remaining steps the run finishes."""

LoopGraph = CompiledStateGraph[LoopState, LoopContext, AgentInput, AgentOutput]


# -- nodes -----------------------------------------------------------------------------------


def begin(state: LoopState) -> dict[str, Any]:
    """Start this request's rounds afresh."""
    return {
        "request": latest_human_text(state["messages"]),
        "rounds": [],
        "round": 0,
        "outcome": {},
        "judge_error": None,
    }


def make_body(body: LoopBody) -> RunnableLambda[LoopState, dict[str, Any]]:
    """Build the node that runs the next round of the body (sync and async bodies)."""

    def _update(state: LoopState, entry: dict[str, Any]) -> dict[str, Any]:
        approvals = entry.pop("approvals", [])
        entry["verdict"] = None
        return {
            "rounds": [*state.get("rounds", []), entry],
            "round": entry["round"],
            "approvals": approvals,
        }

    def run_body(state: LoopState) -> dict[str, Any]:
        """Run the body on this round's task (sync)."""
        context = context_as(get_runtime(LoopContext), LoopContext)
        previous = state["rounds"][-1] if state.get("rounds") else None
        return _update(state, body.run(state.get("request", ""), previous, context))

    async def arun_body(state: LoopState) -> dict[str, Any]:
        """Async twin of `run_body`."""
        context = context_as(get_runtime(LoopContext), LoopContext)
        previous = state["rounds"][-1] if state.get("rounds") else None
        return _update(state, await body.arun(state.get("request", ""), previous, context))

    return RunnableLambda(run_body, afunc=arun_body, name="body")


def make_check(
    until: StopPredicate | None,
    judge: BaseChatModel | None,
    model: BaseChatModel | None,
    *,
    role: str = JUDGE_ROLE,
) -> AgentNode:
    """Build the node that checks the latest round: the predicate, else the judge."""

    def check(state: LoopState, *, runtime: Runtime[LoopContext]) -> dict[str, Any]:
        """Record the latest round's verdict; an invalid judge verdict sets ``judge_error``."""
        context = context_as(runtime, LoopContext)
        latest = dict(state["rounds"][-1])
        if latest.get("error"):
            verdict = LoopVerdict(passes=False, reason=latest["error"], remaining_issues=[])
        elif until is not None:
            verdict = predicate_verdict(until, latest["output"], state)
        else:
            inputs = JudgeInputs(
                request=state.get("request", ""), output=latest["output"], round=latest["round"]
            )
            answer = ask_judge(judge, model, context, inputs, role=role)
            if isinstance(answer, InvalidOutput):
                return {"judge_error": answer.reason}
            verdict = answer
        latest["verdict"] = verdict.model_dump(mode="json")
        return {"rounds": [*state["rounds"][:-1], latest]}

    return check


def _round_limit(max_rounds: int, context: LoopContext) -> int:
    return min(max_rounds, context.max_rounds)


def make_finish(max_rounds: int, *, name: str) -> AgentNode:
    """Build the node that answers with the chosen round's output and how the loop ended."""

    def finish(state: LoopState, *, runtime: Runtime[LoopContext]) -> dict[str, Any]:
        """Answer: the passing output, else the last output there is, saying why."""
        limit = _round_limit(max_rounds, context_as(runtime, LoopContext))
        outcome = _outcome(state, limit)
        output = outcome["output"] or "(no round produced an output)"
        message = AIMessage(content=f"{output}\n\n({outcome['note']})", name=name)
        return {"outcome": outcome, "messages": [message]}

    return finish


def _outcome(state: LoopState, limit: int) -> dict[str, Any]:
    """How the loop ended: status, the round returned, its output and a note for the answer."""
    rounds = state["rounds"]
    latest = rounds[-1]
    with_output = [r for r in rounds if not r.get("error")]
    chosen = with_output[-1] if with_output else latest
    verdict = latest.get("verdict") or {}
    issues = list(verdict.get("remaining_issues") or [])
    status: str
    if state.get("judge_error"):
        status, chosen = "judge_error", latest
        note = (
            f"Stopped: the judge's verdict on round {latest['round']} was invalid "
            f"({state['judge_error']}); returning round {latest['round']}'s output, which was "
            "not checked."
        )
    elif verdict.get("passes"):
        status = "passed"
        note = f"Passed in round {latest['round']} of at most {limit}: {verdict['reason']}"
    else:
        status = "limit"
        note = f"Did not pass in {len(rounds)} round(s) (limit {limit}); "
        last = str(verdict.get("reason") or "no verdict").rstrip(".")
        note += f"returning round {chosen['round']}'s result. Last check: {last}."
        if issues:
            note += " Still to fix: " + "; ".join(issues)
    return {
        "status": status,
        "passed": status == "passed",
        "rounds": len(rounds),
        "round": chosen["round"],
        "output": chosen.get("output", ""),
        "reason": verdict.get("reason") or state.get("judge_error") or latest.get("error"),
        "remaining_issues": issues,
        "note": note,
    }


# -- routing ---------------------------------------------------------------------------------


def route_after_check(max_rounds: int) -> Any:
    """The router after ``check``: another round, or finish."""

    def route(state: LoopState, *, runtime: Runtime[LoopContext]) -> Literal["body", "finish"]:
        """Finish when passed, the verdict was invalid, or out of rounds or steps."""
        context = context_as(runtime, LoopContext)
        if state.get("judge_error"):
            return "finish"
        if (state["rounds"][-1].get("verdict") or {}).get("passes"):
            return "finish"
        if state["round"] >= _round_limit(max_rounds, context):
            return "finish"
        if state.get("remaining_steps", _FINISH_HEADROOM + 1) <= _FINISH_HEADROOM:
            return "finish"
        return "body"

    return route


# -- the graph -------------------------------------------------------------------------------


def _loop_body(body: AgentSpec, model: BaseChatModel | None, runtime: PatternRuntime) -> LoopBody:
    """The body's runner: its compiled graph as given, or a tool agent rebuilt offline."""
    agent = SubAgent(agent_graph(body, model=model, runtime=runtime), name=body.name)
    if body.graph is not None:
        return LoopBody(agent)

    def rebuild(chat_model: BaseChatModel) -> Any:
        spec = AgentSpec(body.name, body.description, body.instructions, body.tools, chat_model)
        return agent_graph(spec, model=chat_model, runtime=runtime)

    return LoopBody(agent, model=body.model or model, rebuild=rebuild)


def build_loop_graph(
    body: AgentSpec,
    *,
    until: StopPredicate | None = None,
    max_rounds: int = 3,
    model: BaseChatModel | None = None,
    judge: BaseChatModel | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "loop",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> LoopGraph:
    """Build the loop graph: the body runs round after round until the stop check passes.

    Args:
        body: the agent each round runs: a tool-agent spec (built as a ReAct loop; role
            ``loop.body.<name>`` offline) or ``AgentSpec(name, description, graph=...)``.
        until: the stop predicate ``until(output, state) -> bool | LoopVerdict``; None asks
            the judge for a `LoopVerdict` instead.
        max_rounds: the graph's ceiling on rounds per request (1..10); a run's
            ``context.max_rounds`` can only lower it.
        model: the body's model when its spec has none, and the judge's when no judge is
            given; None resolves ``context.model`` per run.
        judge: the judge (role ``loop.judge.<body name>``); None uses ``context.judge_model``,
            else `model`. Unused with `until`.
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`); the
            body shares the ledger and checkpoints into the run's thread.
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``.
        store: shorthand for the runtime's long-term memory store.
        name: graph name (the final message carries it too).
        recursion_limit: hard cap on super-steps per run; with a lower cap than the rounds
            need, the run finishes early with the latest result instead of failing.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `LoopContext`; the answer
        is the last message; details in ``outcome`` and ``rounds``.

    Raises:
        ValueError: `max_rounds` is not between 1 and 10.
    """
    if not 1 <= max_rounds <= 10:
        raise ValueError(f"max_rounds must be between 1 and 10, got {max_rounds}")
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    builder = StateGraph(
        LoopState, context_schema=LoopContext, input_schema=AgentInput, output_schema=AgentOutput
    )
    builder.add_node("begin", begin)
    builder.add_node("body", make_body(_loop_body(body, model, shared)))
    builder.add_node(
        "check",
        make_check(until, judge, model, role=judge_role(body.name)),
        retry_policy=MODEL_RETRY,
    )
    builder.add_node("finish", make_finish(max_rounds, name=name))
    builder.add_edge(START, "begin")
    builder.add_edge("begin", "body")
    builder.add_edge("body", "check")
    builder.add_conditional_edges("check", route_after_check(max_rounds), ["body", "finish"])
    builder.add_edge("finish", "__end__")
    return compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=agent_tools([body]),
    )


from demo.supplier_csv import csv_repair_body, register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "body": csv_repair_body()}
"""The supplier-CSV scenario's wiring of the served graph (`graphs.registry` builds it with a
saver)."""

graph = build_loop_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
