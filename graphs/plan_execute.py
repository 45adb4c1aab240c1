"""Plan-and-execute: a planner writes a typed plan (a DAG), an executor runs its steps.

    plan ─┬─(approve_plan)─► approve_plan (the shared gate) ─► review_plan ─┬─(rejected)─► END
          │                                                                └───────┐
          ├──────────────────────────────────────────────────────────────► execute ◄┘
          └─(no valid plan)─► END
    execute (one task per step, each starts when its own dependencies are done) ─► replan
    replan ──(revised steps)──► execute
        └──(finished / replans used up)──► END

The planner returns a `Plan` (structured output, `nodes.ask.ask_structured`); an invalid plan
is asked for again once with the validation error, and a planner that still produces no valid
plan ends the run with a message saying so (``status`` ``no_plan``, the reason in
``invalid_output``). The replanner's `Replan` follows the same policy: still invalid after
the re-ask, the run finishes with the steps' results and the reason.

With the offline demo model (keyword heuristics, not an LLM) the planner, executor and
replanner are offline stand-ins registered by role (`models.offline`), given the inputs each
role declares (`state.plan`): the executor's, `nodes.plan_executor.step_follower_model`,
follows the step it is given; the served graph's planner and replanner
(`demo.fleet_stand_ins`) know the seeds' fleet scenario, so ``langgraph dev`` runs it without
an API key.

With ``context.approve_plan`` the whole plan goes to the one approval gate
(`nodes.approval_gate`) as a read-only pseudo-tool call ``execute_plan(goal, steps)`` whose
schema is `Plan`: an edit is validated like any tool edit (unique ids, known dependencies, no
cycles); ``ignore`` or ``response`` reject the plan.

``execute`` runs every step without a result through `nodes.plan_steps`: one LangGraph task
(``execute_step``) per step, each waiting only for its own dependencies, so independent
branches never wait for each other (one ``Send`` per step would: LangGraph's super-steps are
lock-step). Each finished step is saved as its task's result at once; a run resumed after a
crash or an approval does not run it again. A step whose dependency failed or was skipped is
``skipped``, with the reason. A step runs the executor (a ReAct graph, `build_react_graph`) on
its description, inputs and its dependencies' results, as a sub-agent
(`nodes.plan_executor`, through `nodes.subagent.SubAgent`).

Approval of steps (a choice, documented): approving the plan approves its shape, not each
action. Side-effecting tool calls inside steps still pass the executor's own approval gate
under ``context.approval_policy`` (default ``side-effects``); pass ``approval_policy="never"``
for trusted automation once the plan was approved. Because the executor runs inside the node
(compiled without a saver, `PatternRuntime.for_subagent`), it checkpoints into the run's
thread: its interrupt pauses the whole run, and on resume the step continues from its own
checkpoint.

A step is ``failed`` when the executor raised, or when its planned tool never returned a
successful result (an error, a timeout, a rejected approval). Failures are never hidden: they
are in ``step_results``, the replanner reads them, and the final message lists them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolCall
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send
from pydantic import ValidationError

from checkpointers.ledger import EffectLedger
from graphs._compile import compile_pattern
from graphs._saga import COMPENSATE, add_saga, saga_started
from graphs.react import build_react_graph
from models.offline import register_offline
from nodes.approval_gate import gate_sends, make_approval_gate
from nodes.ask import InvalidOutput, ask_structured
from nodes.context import AgentNode, context_as
from nodes.identity import current_thread_id
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.plan_executor import EXECUTOR_PROMPT, StepExecutor, step_follower_model
from nodes.plan_steps import arun_plan_steps, run_plan_steps
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.saga import start_saga
from nodes.subagent import SubAgent
from nodes.tool_execution import bound_decision
from state.agent import AgentInput, AgentOutput
from state.plan import (
    EXECUTOR_ROLE,
    PLANNER_ROLE,
    REPLANNER_ROLE,
    Plan,
    PlanExecuteContext,
    PlanExecuteState,
    PlannerInputs,
    PlanStep,
    Replan,
    ReplannerInputs,
)
from tools.registry import agent_tool

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "EXECUTE_PLAN",
    "EXECUTOR_ROLE",
    "PLANNER_ROLE",
    "REPLANNER_ROLE",
    "build_plan_execute_graph",
    "graph",
    "make_execute",
    "make_plan",
    "make_replan",
    "make_review_plan",
    "plan_call",
    "route_after_plan",
    "route_after_replan",
    "route_after_review",
    "step_follower_model",
]

EXECUTE_PLAN = "execute_plan"
DEFAULT_RECURSION_LIMIT = 80
"""Super-steps per run: plan, the gate, then two per execute/replan round; replans fit."""

PLANNER_PROMPT = (
    "You are a planner. Break the user's request into a plan: steps with an id, a "
    "description, the tool to call, its inputs, the expected outcome and the ids of the steps "
    "it depends on. Steps that do not depend on each other can run in parallel.\n\nTools:\n"
)
REPLANNER_PROMPT = (
    "You review the results of a plan. If the goal is reached, or cannot be reached, set "
    "finished and write the answer (mention failures). Otherwise revise the remaining steps."
)

PlanExecuteGraph = CompiledStateGraph[PlanExecuteState, PlanExecuteContext, AgentInput, AgentOutput]


@agent_tool(args_schema=Plan, side_effects=False, name=EXECUTE_PLAN)
def execute_plan(goal: str, steps: list[Any]) -> str:
    """Run this plan: its steps are executed in dependency order, independent ones in parallel."""
    return goal  # pseudo-tool: only presented at the approval gate, never called


# -- helpers ---------------------------------------------------------------------------------


def _describe_tools(tools: Sequence[BaseTool]) -> str:
    return "\n".join(f"- {t.name}: {t.description}" for t in tools)


def _plan_of(state: Mapping[str, Any]) -> Plan:
    return Plan.model_validate(state["plan"])


def plan_call(plan: Mapping[str, Any] | None) -> ToolCall:
    """The pseudo tool call the plan approval gate reviews; its id derives from the plan."""
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()
    return ToolCall(name=EXECUTE_PLAN, args=dict(plan or {}), id=f"plan_{digest[:12]}")


def _summary(plan: Plan, results: Mapping[str, Mapping[str, Any]], answer: str) -> str:
    """The final message: the answer, then every step's status (and error)."""
    lines = [answer.strip()] if answer.strip() else []
    lines.append("Steps:")
    for step in plan.steps:
        result = results.get(step.id, {"status": "not run"})
        line = f"- {step.id} ({step.description}): {result['status']}"
        if result.get("error"):
            line += f" - {result['error']}"
        lines.append(line)
    planned = {step.id for step in plan.steps}
    for step_id, result in results.items():  # dropped by a replan: still reported
        if step_id not in planned:
            lines.append(
                f"- {step_id} (dropped by replanning): {result['status']}"
                + (f" - {result['error']}" if result.get("error") else "")
            )
    return "\n".join(lines)


def _finish(
    current: Plan, results: Mapping[str, Mapping[str, Any]], answer: str, name: str
) -> dict[str, Any]:
    text = _summary(current, results, answer)
    return {"status": "finished", "messages": [AIMessage(text, name=name)]}


def _stopped(text: str, name: str, **update: Any) -> dict[str, Any]:
    """End the run before any step ran (no plan, or a rejected one), saying why."""
    return {**update, "messages": [AIMessage(text, name=name)]}


# -- nodes -----------------------------------------------------------------------------------


def make_plan(model: BaseChatModel | None, tools: Sequence[BaseTool], *, name: str) -> AgentNode:
    """Build the node that asks the planner (role `PLANNER_ROLE`) for a typed `Plan`."""

    def plan(state: PlanExecuteState, *, runtime: Runtime[PlanExecuteContext]) -> dict[str, Any]:
        """Ask the planner for a plan of the user's request; no valid plan ends the run."""
        context = context_as(runtime, PlanExecuteContext)
        request = latest_human_text(state["messages"])
        chat_model = resolve_model(
            model,
            context.model,
            role=PLANNER_ROLE,
            inputs=PlannerInputs(request=request, tools=tools),
        )
        prompt = [SystemMessage(PLANNER_PROMPT + _describe_tools(tools)), HumanMessage(request)]
        made = ask_structured(chat_model, prompt, Plan, role="planner", label="plan")
        if isinstance(made, InvalidOutput):
            text = f"The planner did not produce a valid plan, nothing was executed: {made.reason}"
            return _stopped(text, name, status="no_plan", invalid_output=made.record())
        return {
            "plan": made.model_dump(mode="json"),
            "status": "executing",
            "replans": 0,
            "step_results": {},
            "invalid_output": None,
            "saga": None,
        }

    return plan


def make_review_plan(ledger: EffectLedger, *, name: str) -> AgentNode:
    """Build the node that applies the reviewer's decision on the plan (after the gate)."""

    def review_plan(state: PlanExecuteState) -> dict[str, Any]:
        """Keep the plan, use the edit, or stop.

        The decision is the one the gate bound in the ledger to this exact plan; an approval
        written into state (or a plan changed after it was approved) counts for nothing.
        """
        record = bound_decision(plan_call(state["plan"]), ledger, current_thread_id())
        if record is None:
            text = "The plan has no recorded approval, so nothing was executed."
            return _stopped(text, name, status="rejected")
        if record["decision"] == "accept":
            return {}
        if record["decision"] == "edit":
            return {"plan": Plan.model_validate(record["edited_args"]).model_dump(mode="json")}
        reason = record.get("response") or record.get("reason") or "no reason given"
        text = f"The plan was rejected by {record['reviewer']}: {reason}. Nothing was executed."
        return _stopped(text, name, status="rejected")

    return review_plan


def _update(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The state update of the finished steps' runs: their results and approvals."""
    approvals = [record for run in runs.values() for record in run.get("approvals", [])]
    results = {step_id: run["result"] for step_id, run in runs.items()}
    return {"step_results": results, "approvals": approvals}


def make_execute(executor: StepExecutor) -> RunnableLambda[PlanExecuteState, dict[str, Any]]:
    """Build the node that runs every step without a result (`nodes.plan_steps`).

    Each step is a task that starts as soon as its own dependencies are done and runs on
    `executor`. The node has a sync and an async body, so the executor runs on the same
    (sync or async) checkpointer API as the run: `langgraph dev` runs graphs async.
    """

    def execute(state: PlanExecuteState) -> dict[str, Any]:
        """Run the plan's unfinished steps (sync)."""
        context = context_as(get_runtime(PlanExecuteContext), PlanExecuteContext)
        steps, finished = _plan_of(state).steps, state.get("step_results") or {}
        runs = run_plan_steps(steps, finished, lambda s, r: executor.run(s, r, context))
        return _update(runs)

    async def aexecute(state: PlanExecuteState) -> dict[str, Any]:
        """Async twin of `execute`."""
        context = context_as(get_runtime(PlanExecuteContext), PlanExecuteContext)
        steps, finished = _plan_of(state).steps, state.get("step_results") or {}
        runs = await arun_plan_steps(steps, finished, lambda s, r: executor.arun(s, r, context))
        return _update(runs)

    return RunnableLambda(execute, afunc=aexecute, name="execute")


def _with_saga(
    update: dict[str, Any],
    state: PlanExecuteState,
    ledger: EffectLedger | None,
    tools: Sequence[BaseTool],
) -> dict[str, Any]:
    """`update` (the run finishing), plus a saga when a step of the plan is not done.

    The effects to undo are the successful calls of every step of this run (the ledger
    confirms which happened); nothing is undone when every step is done or no effect
    declares a compensation.
    """
    if ledger is None or update.get("status") != "finished":
        return update
    current, results = (
        Plan.model_validate(update.get("plan") or state["plan"]),
        {
            **(state.get("step_results") or {}),
            **{k: v for k, v in (update.get("step_results") or {}).items() if v is not None},
        },
    )
    unfinished = [s.id for s in current.steps if results.get(s.id, {}).get("status") != "done"]
    if not unfinished:
        return update
    effects = [call for s in results.values() for call in s.get("calls") or []]
    reason = "step " + ", ".join(
        f"{i} {results.get(i, {}).get('status', 'not run')}" for i in unfinished
    )
    saga = start_saga(ledger, current_thread_id(), reason, effects, {t.name: t for t in tools})
    return {**update, **saga}


def make_replan(
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    *,
    name: str,
    ledger: EffectLedger | None = None,
) -> AgentNode:
    """Build the node where the replanner (role `REPLANNER_ROLE`) reads the results.

    With a `ledger`, a run that finishes with a step of its plan not done starts a saga
    (`nodes.saga`): the effects of its steps whose tools declare a compensation are undone.
    """

    def replan(state: PlanExecuteState, *, runtime: Runtime[PlanExecuteContext]) -> dict[str, Any]:
        """Finish with an answer (undoing effects if a step failed) or revise the steps."""
        return _with_saga(_decide_replan(state, runtime), state, ledger, tools)

    def _decide_replan(
        state: PlanExecuteState, runtime: Runtime[PlanExecuteContext]
    ) -> dict[str, Any]:
        """Finish with an answer, or revise the steps not done yet (within ``max_replans``)."""
        context = context_as(runtime, PlanExecuteContext)
        current, results = _plan_of(state), state.get("step_results") or {}
        replans = state.get("replans", 0)
        if replans >= context.max_replans and any(r["status"] != "done" for r in results.values()):
            answer = f"Stopped after {replans} replans; some steps did not succeed."
            return _finish(current, results, answer, name)
        request = latest_human_text(state["messages"])
        inputs = ReplannerInputs(request=request, plan=current, results=dict(results))
        chat_model = resolve_model(model, context.model, role=REPLANNER_ROLE, inputs=inputs)
        report = json.dumps(
            {"plan": current.model_dump(mode="json"), "results": results}, sort_keys=True
        )
        prompt = [
            SystemMessage(REPLANNER_PROMPT + "\n\nTools:\n" + _describe_tools(tools)),
            HumanMessage(f"Request: {request}\n\nPlan and results: {report}"),
        ]
        decision = ask_structured(chat_model, prompt, Replan, role="replanner", label="decision")
        if isinstance(decision, InvalidOutput):
            finished = _finish(current, results, f"Stopped: {decision.reason}.", name)
            return {**finished, "invalid_output": decision.record()}
        if decision.finished or not decision.steps:
            return _finish(current, results, decision.answer, name)
        done = [s for s in current.steps if results.get(s.id, {}).get("status") == "done"]
        try:
            revised = Plan(goal=current.goal, steps=[*done, *decision.steps])
        except ValidationError as exc:
            return _finish(current, results, f"The revised plan was invalid: {exc}", name)
        cleared: dict[str, dict[str, Any] | None] = {s.id: None for s in decision.steps}
        return {
            "plan": revised.model_dump(mode="json"),
            "step_results": cleared,
            "replans": replans + 1,
        }

    return replan


# -- routing ---------------------------------------------------------------------------------


def route_after_plan(
    state: PlanExecuteState, *, runtime: Runtime[PlanExecuteContext]
) -> str | list[Send]:
    """No plan: end. ``approve_plan``: the plan goes to the gate. Otherwise: execute it."""
    context = context_as(runtime, PlanExecuteContext)
    if state.get("status") != "executing":
        return END
    if not context.approve_plan:
        return "execute"
    return gate_sends(
        [plan_call(state["plan"])], context, node="approve_plan", policy="approve_plan"
    )


def route_after_review(state: PlanExecuteState) -> str:
    """A rejected plan ends the run; an accepted or edited one is executed."""
    return END if state.get("status") == "rejected" else "execute"


def route_after_replan(state: PlanExecuteState) -> str:
    """Finished ends the run (through the saga when one started); revised steps execute."""
    if saga_started(state):
        return COMPENSATE
    return END if state.get("status") == "finished" else "execute"


# -- the graph -------------------------------------------------------------------------------


def _step_executor(
    tools: Sequence[BaseTool],
    executor: Pregel[Any, Any, Any, Any] | None,
    model: BaseChatModel | None,
    runtime: PatternRuntime,
) -> StepExecutor:
    """The executor of the steps: `executor` as given, else a ReAct agent over `tools`.

    The ReAct agent is compiled for a sub-agent (`PatternRuntime.for_subagent`: no saver of
    its own, the run's ledger), and rebuilt per step on the offline stand-in of
    `EXECUTOR_ROLE` when the run's model is the demo model.
    """
    if executor is not None:
        return StepExecutor(SubAgent(executor, name="executor"))

    def react_executor(chat_model: BaseChatModel | None) -> Pregel[Any, Any, Any, Any]:
        return build_react_graph(
            chat_model,
            tools,
            instructions=EXECUTOR_PROMPT,
            runtime=runtime.for_subagent(),
            name="executor",
        )

    return StepExecutor(
        SubAgent(react_executor(model), name="executor"), model=model, rebuild=react_executor
    )


def build_plan_execute_graph(
    tools: Sequence[BaseTool],
    *,
    model: BaseChatModel | None = None,
    executor: Pregel[Any, Any, Any, Any] | None = None,
    planner_model: BaseChatModel | None = None,
    replanner_model: BaseChatModel | None = None,
    executor_model: BaseChatModel | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "plan_execute",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> PlanExecuteGraph:
    """Build the plan-and-execute graph.

    Args:
        tools: tools the steps may call (the planner sees their names and descriptions).
        model: chat model for planner, replanner and executor unless given separately; None
            resolves ``context.model`` per run (on the offline demo model each role plays the
            stand-in registered for it, given the inputs `state.plan` declares).
        executor: a compiled graph taking ``{"messages": [...]}`` that runs one step,
            compiled without a checkpointer (it runs on the run's); defaults to a ReAct graph
            over `tools` with an executor system prompt.
        planner_model: model producing the `Plan` (structured output); defaults to `model`.
        replanner_model: model producing the `Replan` decision; defaults to `model`.
        executor_model: model of the default executor; defaults to `model`.
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`); the
            plan's approval is bound in its ledger, and the executor shares it.
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``; the executor
            checkpoints into the run's thread.
        store: shorthand for the runtime's long-term memory store.
        name: graph name (the final messages carry it too).
        recursion_limit: hard cap on super-steps per run.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `PlanExecuteContext`.
    """
    tool_list = list(tools)
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    steps = _step_executor(tool_list, executor, executor_model or model, shared)
    builder = StateGraph(
        PlanExecuteState,
        context_schema=PlanExecuteContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    gate = make_approval_gate({EXECUTE_PLAN: execute_plan}, ledger=shared.ledger)
    builder.add_node(
        "plan", make_plan(planner_model or model, tool_list, name=name), retry_policy=MODEL_RETRY
    )
    builder.add_node("approve_plan", gate)
    builder.add_node("review_plan", make_review_plan(shared.ledger, name=name))
    builder.add_node("execute", make_execute(steps))
    builder.add_node(
        "replan",
        make_replan(replanner_model or model, tool_list, name=name, ledger=shared.ledger),
        retry_policy=MODEL_RETRY,
    )
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", route_after_plan, ["approve_plan", "execute", END])
    builder.add_edge("approve_plan", "review_plan")
    builder.add_conditional_edges("review_plan", route_after_review, ["execute", END])
    builder.add_edge("execute", "replan")
    builder.add_conditional_edges("replan", route_after_replan, ["execute", COMPENSATE, END])
    add_saga(builder, tool_list, ledger=shared.ledger, timeout_s=shared.tool_timeout_s)
    return compile_pattern(
        builder, runtime=shared, name=name, recursion_limit=recursion_limit, tools=tool_list
    )


def _follow_step(
    *, step: PlanStep, results: Mapping[str, Mapping[str, Any]], **_: Any
) -> BaseChatModel:
    """The executor's offline stand-in, built from its declared inputs (`ExecutorInputs`)."""
    return step_follower_model(step, results)


register_offline(EXECUTOR_ROLE, _follow_step)

from demo.fleet import fleet_tools, register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served(), "tools": fleet_tools()}
"""The demo fleet's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_plan_execute_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
