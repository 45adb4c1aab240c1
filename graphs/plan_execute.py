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
replanner are offline stand-ins registered by role (`models.offline`) that know the seeds'
fleet scenario (`demo.fleet.FLEET_PLAN`), so ``langgraph dev`` runs it without an API key.

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
its description, inputs and its dependencies' results.

Approval of steps (a choice, documented): approving the plan approves its shape, not each
action. Side-effecting tool calls inside steps still pass the executor's own approval gate
under ``context.approval_policy`` (default ``side-effects``); pass ``approval_policy="never"``
for trusted automation once the plan was approved. Because the executor runs inside the node
on the run's checkpointer, its interrupt pauses the whole run, and on resume the step
continues from its own checkpoint.

A step is ``failed`` when the executor raised, or when its planned tool never returned a
successful result (an error, a timeout, a rejected approval). Failures are never hidden: they
are in ``step_results``, the replanner reads them, and the final message lists them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send
from pydantic import ValidationError

from demo.fleet import FLEET_PLAN, fleet_tools
from graphs._compile import compile_pattern
from graphs.react import build_react_graph
from models.offline import build_stand_in, plays_offline, register_offline
from models.scripted import ScriptedChatModel
from nodes.approval_gate import gate_sends, make_approval_gate
from nodes.ask import InvalidOutput, ask_structured
from nodes.context import context_as
from nodes.identity import current_thread_id
from nodes.messages import latest_human_text
from nodes.model_call import model_for_spec, resolve_model
from nodes.plan_steps import arun_plan_steps, run_plan_steps
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.tool_execution import bound_decision
from state.agent import AgentInput, AgentOutput
from state.context import AgentContext
from state.plan import Plan, PlanExecuteContext, PlanExecuteState, PlanStep, Replan
from tools.registry import agent_tool

__all__ = [
    "EXECUTE_PLAN",
    "build_plan_execute_graph",
    "graph",
    "step_follower_model",
]

EXECUTE_PLAN = "execute_plan"
DEFAULT_RECURSION_LIMIT = 80

PLANNER_ROLE = "plan_execute.planner"
"""The planner's role; its offline stand-in gets the inputs ``request`` and ``tools``."""
REPLANNER_ROLE = "plan_execute.replanner"
"""The replanner's role (offline: the plan ran as written)."""
EXECUTOR_ROLE = "plan_execute.executor"
"""The default executor's model role (offline: `step_follower_model`)."""

PLANNER_PROMPT = (
    "You are a planner. Break the user's request into a plan: steps with an id, a "
    "description, the tool to call, its inputs, the expected outcome and the ids of the steps "
    "it depends on. Steps that do not depend on each other can run in parallel.\n\nTools:\n"
)
EXECUTOR_PROMPT = (
    "You execute one step of a plan. Call the step's tool with its inputs, read the result "
    "and report it briefly. Do not do anything the step does not ask for."
)
REPLANNER_PROMPT = (
    "You review the results of a plan. If the goal is reached, or cannot be reached, set "
    "finished and write the answer (mention failures). Otherwise revise the remaining steps."
)
CALL_MARKER = "CALL "


@agent_tool(args_schema=Plan, side_effects=False, name=EXECUTE_PLAN)
def execute_plan(goal: str, steps: list[Any]) -> str:
    """Run this plan: its steps are executed in dependency order, independent ones in parallel."""
    return goal  # pseudo-tool: only presented at the approval gate, never called


def _describe_tools(tools: Sequence[BaseTool]) -> str:
    return "\n".join(f"- {t.name}: {t.description}" for t in tools)


def _step_prompt(step: PlanStep, results: Mapping[str, Mapping[str, Any]]) -> str:
    """The executor's task for one step; the last line is machine-readable."""
    lines = [f"Step {step.id}: {step.description}"]
    if step.expected_outcome:
        lines.append(f"Expected outcome: {step.expected_outcome}")
    for dep in step.depends_on:
        lines.append(f"Result of {dep}: {results.get(dep, {}).get('output', '')}")
    call = {"step": step.id, "tool": step.tool, "inputs": step.inputs}
    lines.append(CALL_MARKER + json.dumps(call, sort_keys=True))
    return "\n".join(lines)


def step_follower_model(delay_s: float = 0.0) -> ScriptedChatModel:
    """An offline executor model that calls the step's planned tool, then reports the result.

    Deterministic and stateless (tool-call ids derive from the step id), so a resumed run
    repeats exactly what an uninterrupted one does. ``delay_s`` sleeps on every call, to
    simulate model latency (the benchmark).
    """

    def follow(messages: list[BaseMessage]) -> AIMessage | str:
        if delay_s:
            time.sleep(delay_s)
        last = messages[-1]
        if isinstance(last, ToolMessage):
            verdict = "Failed" if last.status == "error" else "Done"
            return f"{verdict}: {last.text}"
        task = latest_human_text(messages)
        spec = json.loads(task.rsplit(CALL_MARKER, 1)[1])
        if not spec.get("tool"):
            return f"Done: {task.splitlines()[0]}"
        call_id = "call_" + hashlib.sha256(task.encode()).hexdigest()[:12]
        return AIMessage(
            content="",
            tool_calls=[ToolCall(name=spec["tool"], args=spec["inputs"], id=call_id)],
        )

    return ScriptedChatModel(replies=[follow], cycle=True)


DEMO_REPLAN = Replan(
    finished=True,
    answer="Offline demo (not an LLM): the plan ran as written; see each step's result.",
)


def _demo_replanner(**_: Any) -> BaseChatModel:
    """Offline stand-in for the replanner on the demo model: the plan ran as written."""
    return ScriptedChatModel(replies=[DEMO_REPLAN], cycle=True)


def _demo_planner(request: str, tools: Sequence[BaseTool], **_: Any) -> BaseChatModel:
    """Offline stand-in for the planner when the run uses the demo model (not an LLM).

    It knows one plan: the seeds' fleet scenario (`demo.fleet.FLEET_PLAN`), used when the
    request is about the fleet and its tools are available. Anything else gets an empty plan
    (every time it is asked), which fails validation and ends the run with a message saying so.
    """
    names = {tool.name for tool in tools}
    needed = {step["tool"] for step in FLEET_PLAN["steps"]}
    known = "fleet" in request.lower() and needed <= names
    reply = FLEET_PLAN if known else {"goal": request, "steps": []}
    return ScriptedChatModel(replies=[reply], cycle=True)


def _plan_of(state: Mapping[str, Any]) -> Plan:
    return Plan.model_validate(state["plan"])


def _step_outcome(step: PlanStep, produced: Sequence[AnyMessage]) -> dict[str, Any]:
    """Turn the executor's messages into the step's result (done or failed)."""
    answer = next((m.text for m in reversed(produced) if isinstance(m, AIMessage)), "")
    if step.tool:
        results = [m for m in produced if isinstance(m, ToolMessage) and m.name == step.tool]
        ok = [m for m in results if m.status != "error"]
        if not ok:
            error = results[-1].text if results else f"the executor did not call {step.tool}"
            return {"status": "failed", "output": answer, "error": error}
        return {"status": "done", "output": ok[-1].text, "error": None, "answer": answer}
    return {"status": "done", "output": answer, "error": None}


def _summary(plan: Plan, results: Mapping[str, Mapping[str, Any]], answer: str) -> str:
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


def _plan_call(plan: Mapping[str, Any] | None) -> ToolCall:
    """The pseudo tool call the plan approval gate reviews; its id derives from the plan."""
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()
    return ToolCall(name=EXECUTE_PLAN, args=dict(plan or {}), id=f"plan_{digest[:12]}")


def build_plan_execute_graph(
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] | None = None,
    *,
    executor: Pregel[Any, Any] | None = None,
    planner_model: BaseChatModel | None = None,
    replanner_model: BaseChatModel | None = None,
    executor_model: BaseChatModel | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "plan_execute",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledStateGraph[PlanExecuteState, PlanExecuteContext, AgentInput, AgentOutput]:
    """Build the plan-and-execute graph.

    Args:
        model: chat model for planner, replanner and executor unless given separately; None
            resolves ``context.model`` per run.
        tools: tools the steps may use; defaults to the fleet demo tools (`demo.fleet`).
        executor: a compiled graph taking ``{"messages": [...]}`` that runs one step; defaults
            to a ReAct graph over `tools` with an executor system prompt.
        planner_model: model producing the `Plan` (structured output); defaults to `model`.
        replanner_model: model producing the `Replan` decision; defaults to `model`.
        executor_model: model of the default executor; defaults to `model`.
        checkpointer: saver for durable threads; the executor runs on it too.
        store: long-term memory store.
        name: graph name.
        recursion_limit: hard cap on super-steps per run.
        ledger: exactly-once record of side-effecting calls for the default executor.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `PlanExecuteContext`.
    """
    tool_list = list(fleet_tools() if tools is None else tools)
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    ledger = shared.ledger

    def react_executor(chat_model: BaseChatModel | None) -> Pregel[Any, Any]:
        return build_react_graph(
            chat_model,
            tool_list,
            runtime=shared.for_subagent(),
            name="executor",
            instructions=EXECUTOR_PROMPT,
        )

    worker = executor or react_executor(executor_model or model)
    bound: Any = worker.with_config(metadata={"lc_agent_name": "executor"})
    demo_bound: Any = None
    if executor is None and (executor_model or model) is None:  # resolved per run
        demo_bound = react_executor(build_stand_in(EXECUTOR_ROLE)).with_config(
            metadata={"lc_agent_name": "executor"}
        )

    def _executor() -> Any:
        """The executor; the offline stand-in when the run resolves to the demo model."""
        if demo_bound is not None:
            spec = context_as(get_runtime(PlanExecuteContext), PlanExecuteContext).model
            if plays_offline(model_for_spec(spec), EXECUTOR_ROLE):
                return demo_bound
        return bound

    def plan(state: PlanExecuteState, *, runtime: Runtime[PlanExecuteContext]) -> dict[str, Any]:
        """Ask the planner for a typed plan of the user's request."""
        context = context_as(runtime, PlanExecuteContext)
        request = latest_human_text(state["messages"])
        chat_model = resolve_model(
            planner_model or model,
            context.model,
            role=PLANNER_ROLE,
            inputs={"request": request, "tools": tool_list},
        )
        prompt = [
            SystemMessage(PLANNER_PROMPT + _describe_tools(tool_list)),
            HumanMessage(request),
        ]
        made = ask_structured(chat_model, prompt, Plan, role="planner", label="plan")
        if isinstance(made, InvalidOutput):
            text = f"The planner did not produce a valid plan, nothing was executed: {made.reason}"
            return {
                "status": "no_plan",
                "invalid_output": made.record(),
                "messages": [AIMessage(text, name=name)],
            }
        return {
            "plan": made.model_dump(mode="json"),
            "status": "executing",
            "replans": 0,
            "step_results": {},
            "invalid_output": None,
        }

    def route_after_plan(
        state: PlanExecuteState, *, runtime: Runtime[PlanExecuteContext]
    ) -> str | list[Send]:
        context = context_as(runtime, PlanExecuteContext)
        if state.get("status") != "executing":
            return END
        if not context.approve_plan:
            return "execute"
        return gate_sends(
            [_plan_call(state["plan"])], context, node="approve_plan", policy="approve_plan"
        )

    def review_plan(state: PlanExecuteState) -> dict[str, Any]:
        """Apply the reviewer's decision on the plan: keep it, use the edit, or stop.

        The decision is the one the gate bound in the ledger to this exact plan; an approval
        written into state (or a plan changed after it was approved) counts for nothing.
        """
        call = _plan_call(state["plan"])
        record = bound_decision(call, ledger, current_thread_id())
        if record is None:
            text = "The plan has no recorded approval, so nothing was executed."
            return {"status": "rejected", "messages": [AIMessage(text, name=name)]}
        if record["decision"] == "accept":
            return {}
        if record["decision"] == "edit":
            edited = Plan.model_validate(record["edited_args"])
            return {"plan": edited.model_dump(mode="json")}
        reason = record.get("response") or record.get("reason") or "no reason given"
        text = f"The plan was rejected by {record['reviewer']}: {reason}. Nothing was executed."
        return {"status": "rejected", "messages": [AIMessage(text, name=name)]}

    def _executor_context() -> dict[str, Any]:
        context = context_as(get_runtime(PlanExecuteContext), PlanExecuteContext)
        fields = AgentContext.__dataclass_fields__
        return {k: v for k, v in vars(context).items() if k in fields}

    def _prepare(
        step: PlanStep, deps: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict[str, Any] | None, str]:
        """The step's result if a dependency did not succeed (skipped), else its prompt."""
        blocked = [d for d in step.depends_on if deps[d]["status"] != "done"]
        if blocked:
            error = f"not run: depends on {', '.join(blocked)} which did not succeed"
            return {"result": {"status": "skipped", "output": "", "error": error}}, ""
        return None, _step_prompt(step, deps)

    def _finished(step: PlanStep, result: Mapping[str, Any]) -> dict[str, Any]:
        produced = [m for m in result.get("messages", []) if not isinstance(m, HumanMessage)]
        approvals = [{**r, "step": step.id} for r in result.get("approvals", [])]
        return {"result": _step_outcome(step, produced), "approvals": approvals}

    def _failed(exc: Exception) -> dict[str, Any]:
        error = f"executor failed: {type(exc).__name__}: {exc}"
        return {"result": {"status": "failed", "output": "", "error": error}}

    def _update(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        approvals = [record for run in runs.values() for record in run.get("approvals", [])]
        results = {step_id: run["result"] for step_id, run in runs.items()}
        return {"step_results": results, "approvals": approvals}

    def execute(state: PlanExecuteState) -> dict[str, Any]:
        """Run every step without a result, each as soon as its own dependencies are done."""
        worker, context = _executor(), _executor_context()

        def run_step(step: PlanStep, deps: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
            skipped, prompt = _prepare(step, deps)
            if skipped is not None:
                return skipped
            try:
                result = worker.invoke({"messages": [HumanMessage(prompt)]}, context=context)
            except GraphBubbleUp:
                raise  # an approval inside the executor pauses the whole run
            except Exception as exc:  # noqa: BLE001 - a failed step is data for the replanner
                return _failed(exc)
            return _finished(step, result)

        steps = _plan_of(state).steps
        return _update(run_plan_steps(steps, state.get("step_results") or {}, run_step))

    async def aexecute(state: PlanExecuteState) -> dict[str, Any]:
        """Async twin of `execute`."""
        worker, context = _executor(), _executor_context()

        async def run_step(step: PlanStep, deps: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
            skipped, prompt = _prepare(step, deps)
            if skipped is not None:
                return skipped
            try:
                result = await worker.ainvoke({"messages": [HumanMessage(prompt)]}, context=context)
            except GraphBubbleUp:
                raise
            except Exception as exc:  # noqa: BLE001
                return _failed(exc)
            return _finished(step, result)

        steps = _plan_of(state).steps
        return _update(await arun_plan_steps(steps, state.get("step_results") or {}, run_step))

    def replan(state: PlanExecuteState, *, runtime: Runtime[PlanExecuteContext]) -> dict[str, Any]:
        """Read the results; finish with an answer or revise the steps not done yet."""
        context = context_as(runtime, PlanExecuteContext)
        current = _plan_of(state)
        results = state.get("step_results") or {}
        if state.get("replans", 0) >= context.max_replans and any(
            r["status"] != "done" for r in results.values()
        ):
            answer = f"Stopped after {state.get('replans', 0)} replans; some steps did not succeed."
            return _finish(current, results, answer)
        report = json.dumps(
            {"plan": current.model_dump(mode="json"), "results": results}, sort_keys=True
        )
        chat_model = resolve_model(replanner_model or model, context.model, role=REPLANNER_ROLE)
        request = latest_human_text(state["messages"])
        prompt = [
            SystemMessage(REPLANNER_PROMPT + "\n\nTools:\n" + _describe_tools(tool_list)),
            HumanMessage(f"Request: {request}\n\nPlan and results: {report}"),
        ]
        decision = ask_structured(chat_model, prompt, Replan, role="replanner", label="decision")
        if isinstance(decision, InvalidOutput):
            answer = f"Stopped: {decision.reason}."
            return {**_finish(current, results, answer), "invalid_output": decision.record()}
        if decision.finished or not decision.steps:
            return _finish(current, results, decision.answer)
        done = [s for s in current.steps if results.get(s.id, {}).get("status") == "done"]
        try:
            revised = Plan(goal=current.goal, steps=[*done, *decision.steps])
        except ValidationError as exc:
            return _finish(current, results, f"The revised plan was invalid: {exc}")
        cleared: dict[str, dict[str, Any] | None] = {s.id: None for s in decision.steps}
        return {
            "plan": revised.model_dump(mode="json"),
            "step_results": cleared,
            "replans": state.get("replans", 0) + 1,
        }

    def _finish(
        current: Plan, results: Mapping[str, Mapping[str, Any]], answer: str
    ) -> dict[str, Any]:
        text = _summary(current, results, answer)
        return {"status": "finished", "messages": [AIMessage(text, name=name)]}

    def route_after_replan(state: PlanExecuteState) -> str:
        return END if state.get("status") == "finished" else "execute"

    def route_after_review(state: PlanExecuteState) -> str:
        return END if state.get("status") == "rejected" else "execute"

    builder = StateGraph(
        PlanExecuteState,
        context_schema=PlanExecuteContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    builder.add_node("plan", plan, retry_policy=MODEL_RETRY)
    builder.add_node(
        "approve_plan", make_approval_gate({EXECUTE_PLAN: execute_plan}, ledger=ledger)
    )
    builder.add_node("review_plan", review_plan)
    builder.add_node("execute", RunnableLambda(execute, afunc=aexecute, name="execute"))
    builder.add_node("replan", replan, retry_policy=MODEL_RETRY)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", route_after_plan, ["approve_plan", "execute", END])
    builder.add_edge("approve_plan", "review_plan")
    builder.add_conditional_edges("review_plan", route_after_review, ["execute", END])
    builder.add_edge("execute", "replan")
    builder.add_conditional_edges("replan", route_after_replan, ["execute", END])
    return compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
    )


register_offline(PLANNER_ROLE, _demo_planner)
register_offline(REPLANNER_ROLE, _demo_replanner)
register_offline(EXECUTOR_ROLE, lambda **_: step_follower_model())

graph = build_plan_execute_graph()
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
