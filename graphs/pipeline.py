"""Sequential pipeline: stages run in a fixed order, each on the previous stage's output.

    START ─► stage 1 ─► stage 2 ─┬─(approve_after)─► approve_stage ─► review_stage ─┬─► stage 3
                                 │                                   (rejected) END ◄┘
                                 └─(a stage failed)─► finish ◄─ ... ◄─ last stage
    finish ─► END

Stages are `state.agent_spec.AgentSpec` values: a ReAct tool agent the pipeline builds from
the spec, or any compiled graph (``AgentSpec(name, description, graph=...)``: another
pattern, a nested pipeline). Each stage is its own node and runs its agent inside it through
`nodes.subagent.SubAgent`; the contract between stages (the exact text each receives) is in
`nodes.pipeline_stage`: the first stage gets the request, each later one the request plus the
previous stage's output. ``stages`` in the state keeps every stage's input, output, status
and error; the final AI message is the last stage's output.

Durability: a stage's record is written when its node finishes, so a run resumed after a
crash (or an approval) never runs a finished stage again; the stage that was running
continues from its sub-agent's own checkpoint in the run's thread.

Approval between stages: ``approve_after=("assess_risks",)`` sends that stage's output to
the shared approval gate (`nodes.approval_gate`) as the read-only pseudo-tool call
``review_stage_output(stage, output)`` (``stage`` locked), like plan-and-execute's plan
approval. ``accept`` continues, ``edit`` replaces the output the next stage receives (the
record's status becomes ``edited``), ``ignore`` or ``response`` end the run with a message.
``context.approve_stages=False`` skips these gates. Approvals inside a stage (its
side-effecting tools, under ``context.approval_policy``) surface on the top-level thread and
resume inside the stage.

Failures: a stage that raises (or ends without an answer) is ``failed``; the run ends at once
with a message naming it, the stages that finished and the last output produced. Budgets,
timeouts and fallbacks apply inside every stage through `graphs._compile.compile_pattern`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolCall
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send

from checkpointers.ledger import EffectLedger
from graphs._agents import agent_graph, agent_tools
from graphs._compile import compile_pattern
from nodes.approval_gate import gate_sends, make_approval_gate
from nodes.context import AgentNode, context_as
from nodes.identity import current_thread_id
from nodes.messages import latest_human_text
from nodes.pipeline_stage import StageRun, StageRunner
from nodes.runtime import PatternRuntime
from nodes.subagent import SubAgent
from nodes.tool_execution import bound_decision
from state.agent import AgentInput, AgentOutput
from state.agent_spec import AgentSpec, check_agent_names
from state.pipeline import PipelineContext, PipelineState, StageOutputReview
from tools.registry import agent_tool

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "REVIEW_STAGE_OUTPUT",
    "build_pipeline_graph",
    "graph",
    "stage_call",
]

REVIEW_STAGE_OUTPUT = "review_stage_output"
DEFAULT_RECURSION_LIMIT = 50
"""Super-steps per run: one per stage, two per review, one to finish."""
_RESERVED = {"approve_stage", "review_stage", "finish"}

PipelineGraph = CompiledStateGraph[PipelineState, PipelineContext, AgentInput, AgentOutput]


@agent_tool(args_schema=StageOutputReview, side_effects=False, name=REVIEW_STAGE_OUTPUT)
def review_stage_output(stage: str, output: str) -> str:
    """Pass this stage's output on to the next stage (edit it to change what the next gets)."""
    return output  # pseudo-tool: only presented at the approval gate, never called


def stage_call(record: Mapping[str, Any]) -> ToolCall:
    """The pseudo tool call the gate reviews for a stage's record; its id derives from it."""
    args = {"stage": record["name"], "output": record["output"]}
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()
    return ToolCall(name=REVIEW_STAGE_OUTPUT, args=args, id=f"stage_{digest[:12]}")


# -- messages --------------------------------------------------------------------------------


def _trace(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[str]:
    """One line per stage: its status (and error), ``not run`` for stages never reached."""
    by_name = {record["name"]: record for record in records}
    lines = []
    for stage in names:
        record = by_name.get(stage)
        status = record["status"] if record else "not run"
        error = f" - {record['error']}" if record and record.get("error") else ""
        lines.append(f"- {stage}: {status}{error}")
    return lines


def _failure_text(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """The final message of a run a stage failed: which one, what was done, the last output."""
    failed = records[-1]
    lines = [f"The pipeline stopped at stage {failed['name']}: {failed['error']}.", "Stages:"]
    lines += _trace(records, names)
    produced = [r for r in records if r["status"] != "failed" and r["output"]]
    if produced:
        lines += ["", f"Last output ({produced[-1]['name']}):", produced[-1]["output"]]
    return "\n".join(lines)


# -- nodes -----------------------------------------------------------------------------------


def _before(state: Mapping[str, Any], names: Sequence[str], index: int) -> list[dict[str, Any]]:
    """The records of the stages before stage `index` (the first stage starts a new trace)."""
    earlier = set(names[:index])
    return [dict(r) for r in state.get("stages") or [] if r["name"] in earlier]


def make_stage_node(
    runner: StageRunner, names: Sequence[str], index: int
) -> RunnableLambda[PipelineState, dict[str, Any]]:
    """Build the node that runs stage `index` on the request and the previous stage's output.

    The node has a sync and an async body, so the stage runs on the same (sync or async)
    checkpointer API as the run: ``langgraph dev`` runs graphs async.
    """

    def update(prior: list[dict[str, Any]], run: StageRun) -> dict[str, Any]:
        status = "failed" if run.record["status"] == "failed" else "running"
        return {"stages": [*prior, dict(run.record)], "status": status, "approvals": run.approvals}

    def run_stage(state: PipelineState) -> dict[str, Any]:
        """Run the stage (sync)."""
        context = context_as(get_runtime(PipelineContext), PipelineContext)
        prior = _before(state, names, index)
        previous = prior[-1] if prior else None
        request = latest_human_text(state["messages"])
        return update(prior, runner.run(request, previous, context))

    async def arun_stage(state: PipelineState) -> dict[str, Any]:
        """Async twin of `run_stage`."""
        context = context_as(get_runtime(PipelineContext), PipelineContext)
        prior = _before(state, names, index)
        previous = prior[-1] if prior else None
        request = latest_human_text(state["messages"])
        return update(prior, await runner.arun(request, previous, context))

    return RunnableLambda(run_stage, afunc=arun_stage, name=runner.name)


def make_review_stage(ledger: EffectLedger, names: Sequence[str], *, name: str) -> AgentNode:
    """Build the node that applies the reviewer's decision on the latest stage's output."""

    def review_stage(state: PipelineState) -> dict[str, Any]:
        """Keep the output, use the edit, or stop.

        The decision is the one the gate bound in the ledger to this exact output; an approval
        written into state (or an output changed after it was approved) counts for nothing.
        """
        records = [dict(r) for r in state["stages"]]
        last = records[-1]
        record = bound_decision(stage_call(last), ledger, current_thread_id())
        not_run = ", ".join(names[names.index(last["name"]) + 1 :]) or "none"
        if record is None:
            text = f"The output of {last['name']} has no recorded approval; not run: {not_run}."
            return {"status": "rejected", "messages": [AIMessage(text, name=name)]}
        if record["decision"] == "accept":
            return {}
        if record["decision"] == "edit":
            edited = StageOutputReview.model_validate(record["edited_args"])
            records[-1] = {**last, "output": edited.output, "status": "edited"}
            return {"stages": records}
        reason = record.get("response") or record.get("reason") or "no reason given"
        text = (
            f"The output of {last['name']} was rejected by {record['reviewer']}: {reason}. "
            f"Stages not run: {not_run}."
        )
        return {"status": "rejected", "messages": [AIMessage(text, name=name)]}

    return review_stage


def make_finish(names: Sequence[str], *, name: str) -> AgentNode:
    """Build the node that answers: the last stage's output, or why the pipeline stopped."""

    def finish(state: PipelineState) -> dict[str, Any]:
        """Write the final AI message and the run's status."""
        records = list(state.get("stages") or [])
        if state.get("status") == "failed":
            return {"messages": [AIMessage(_failure_text(records, names), name=name)]}
        return {"status": "finished", "messages": [AIMessage(records[-1]["output"], name=name)]}

    return finish


# -- routing ---------------------------------------------------------------------------------


class _Routes:
    """Where the run goes after a stage and after a review."""

    def __init__(self, names: Sequence[str], reviewed: Sequence[str]) -> None:
        self.names = list(names)
        self.reviewed = set(reviewed)

    def next_after(self, stage: str) -> str:
        """The stage after `stage`, or ``finish`` after the last."""
        index = self.names.index(stage)
        return self.names[index + 1] if index + 1 < len(self.names) else "finish"

    def after_stage(self, stage: str) -> Any:
        """The router after `stage`: failed → finish; reviewed → the gate; else onward."""

        def route(state: PipelineState, *, runtime: Runtime[PipelineContext]) -> str | list[Send]:
            if state.get("status") == "failed":
                return "finish"
            context = context_as(runtime, PipelineContext)
            if stage in self.reviewed and context.approve_stages:
                call = stage_call(state["stages"][-1])
                return gate_sends(
                    [call],
                    context,
                    node="approve_stage",
                    policy="approve_stage",
                    locked_args=["stage"],
                )
            return self.next_after(stage)

        route.__name__ = f"route_after_{stage}"
        return route

    def after_review(self, state: PipelineState) -> str:
        """A rejected output ends the run; otherwise the stage after the reviewed one runs."""
        if state.get("status") == "rejected":
            return END
        return self.next_after(state["stages"][-1]["name"])

    def targets_after(self, stage: str) -> list[str]:
        """The nodes the router after `stage` may go to (for the drawing)."""
        gate = ["approve_stage"] if stage in self.reviewed else []
        return list(dict.fromkeys([self.next_after(stage), *gate, "finish"]))


# -- the graph -------------------------------------------------------------------------------


def _runner(spec: AgentSpec, model: BaseChatModel | None, runtime: PatternRuntime) -> StageRunner:
    """The stage's runner: its graph as given, or a ReAct agent that a stand-in can replace."""
    agent = SubAgent(agent_graph(spec, model=model, runtime=runtime), name=spec.name)
    if spec.graph is not None:
        return StageRunner(agent)

    def rebuild(chat_model: BaseChatModel) -> Any:
        return agent_graph(dataclasses.replace(spec, model=chat_model), model=None, runtime=runtime)

    return StageRunner(agent, model=spec.model or model, rebuild=rebuild)


def _check_reviewed(names: Sequence[str], approve_after: Sequence[str]) -> None:
    unknown = sorted(set(approve_after) - set(names))
    if unknown:
        raise ValueError(f"approve_after names unknown stages {unknown}")
    if names[-1] in approve_after:
        raise ValueError(
            f"approve_after names the last stage {names[-1]!r}: its output is the answer, no "
            "stage follows it to review it for"
        )


def build_pipeline_graph(
    stages: Sequence[AgentSpec],
    *,
    model: BaseChatModel | None = None,
    approve_after: Sequence[str] = (),
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "pipeline",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> PipelineGraph:
    """Build a sequential pipeline over `stages`.

    Args:
        stages: the stages in order (`AgentSpec`): built into ReAct agents from their
            instructions and tools, or given as compiled graphs (compile them without a
            checkpointer: they checkpoint into the run's thread).
        model: chat model of the stages without their own; None resolves ``context.model``
            per run (on the offline demo model a stage plays the stand-in registered for
            ``state.pipeline.stage_role(<name>)``, if any).
        approve_after: names of stages whose output a person reviews before the next stage
            runs (accept, edit the output, reject); not the last stage.
        runtime: checkpointer, store, effect ledger, tool timeout and controls
            (`PatternRuntime`); stages share its ledger and the run's checkpointer.
        checkpointer: shorthand for the runtime's saver.
        store: shorthand for the runtime's store.
        name: graph name (the final message carries it too).
        recursion_limit: hard cap on the pipeline's super-steps per run.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `PipelineContext`.

    Raises:
        ValueError: no stages, a repeated or reserved stage name, or `approve_after` naming
            an unknown stage or the last one.
    """
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    specs = list(stages)
    names = check_agent_names(specs, reserved=_RESERVED)
    _check_reviewed(names, approve_after)
    routes = _Routes(names, approve_after)
    builder = StateGraph(
        PipelineState,
        context_schema=PipelineContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    for index, spec in enumerate(specs):
        builder.add_node(spec.name, make_stage_node(_runner(spec, model, shared), names, index))
        builder.add_conditional_edges(
            spec.name, routes.after_stage(spec.name), routes.targets_after(spec.name)
        )
    if approve_after:
        gate = make_approval_gate({REVIEW_STAGE_OUTPUT: review_stage_output}, ledger=shared.ledger)
        builder.add_node("approve_stage", gate)
        builder.add_node("review_stage", make_review_stage(shared.ledger, names, name=name))
        builder.add_edge("approve_stage", "review_stage")
        after_review = [routes.next_after(stage) for stage in names if stage in routes.reviewed]
        builder.add_conditional_edges("review_stage", routes.after_review, [*after_review, END])
    builder.add_node("finish", make_finish(names, name=name))
    builder.add_edge(START, names[0])
    builder.add_edge("finish", END)
    return compile_pattern(
        builder,
        runtime=shared,
        name=name,
        recursion_limit=recursion_limit,
        tools=agent_tools(specs),
    )


from demo.contract_review import contract_stages, register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "stages": contract_stages(),
    "approve_after": ("assess_risks",),
}
"""The contract-review wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_pipeline_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
