"""Hierarchical research: a root agent decomposes, specialist workers research, the root sums up.

    START ─► open ─► plan ─(no plan)─► END
                      └─► assign ─► research ─(new sub-workstreams)─► assign …
                                        ├─(workstreams left)──────────► research …
                                        └─(all answered)──────────────► synthesise ─► END

The root (role `state.research.PLANNER_ROLE`) breaks the goal into three to five workstreams
(`state.research.ResearchPlan`: name, deliverable, questions), asked through
`nodes.ask.ask_structured`: an invalid plan is asked for again once; a root still invalid
ends the run cleanly saying why (status ``invalid_output``).

``assign`` gives each new workstream to a worker in code (`nodes.research_assign`): the
worker whose declared capabilities match the most words of the workstream, else the
generalist, else nobody (status ``unassigned``, reported in the brief).

``research`` runs one level of the tree: every pending workstream's worker at once, each as a
durable LangGraph task (`nodes.plan_steps`, task `WORKSTREAM_TASK`), so a run resumed after
a crash does not ask again a worker whose answer was saved. A worker answers with findings
(and the assumptions and gaps behind them) or, when the workstream is too broad, a split into
two to four sub-workstreams (`state.research.WorkerReport`); the next level researches those.
At the depth limit (``max_depth``) a worker may only answer with findings
(`state.research.FinalReport`: a split is invalid output, asked for again, then reported as
failed); a split that would take the tree past ``max_workstreams`` is refused (flagged) and
the worker is asked again for findings. A worker that raises or stays invalid is recorded
(status ``failed``) and the research goes on.

``synthesise``: the root (role `state.research.SYNTHESIS_ROLE`) writes the
`state.research.ExecutiveBrief` from every workstream's findings: conflicts between
workstreams, unsupported assumptions, missing evidence. References to unknown workstreams
are dropped and flagged in code; failed and unassigned workstreams are added to the missing
evidence by the graph, whatever the root wrote.

A run may tighten the limits through its context (`state.research.ResearchContext`:
``max_depth``, ``max_workstreams``), never loosen the factory's. Offline, each worker plays
the stand-in registered for ``research.worker.<name>`` and the root its two roles'
(`demo.market_research` registers the served scenario's).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import get_runtime
from langgraph.store.base import BaseStore

from graphs._agents import agent_tools
from graphs._compile import compile_pattern
from nodes.ask import InvalidOutput
from nodes.ask_failure import ask_or_failure
from nodes.context import context_as
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.plan_steps import StepRun, arun_plan_steps, run_plan_steps
from nodes.research_assign import match_worker
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.agent_spec import AgentSpec, check_agent_names
from state.plan import PlanStep
from state.research import (
    PLANNER_ROLE,
    SYNTHESIS_ROLE,
    ExecutiveBrief,
    FinalReport,
    PlannerInputs,
    ResearchContext,
    ResearchPlan,
    ResearchState,
    SynthesisInputs,
    WorkerInputs,
    WorkerReport,
    Workstream,
    WorkstreamRecord,
    child_id,
    worker_role,
)

__all__ = [
    "PLANNER_PROMPT",
    "SYNTHESIS_PROMPT",
    "WORKER_RULES",
    "WORKSTREAM_TASK",
    "ResearchGraph",
    "build_research_graph",
    "check_brief",
    "effective_limits",
    "graph",
]

WORKSTREAM_TASK = "research_workstream"
"""Name of every workstream's task (in streamed ``tasks`` and ``updates`` events)."""

_NODES = ("open", "plan", "assign", "research", "synthesise")

PLANNER_PROMPT = (
    "Break the research goal into 3 to 5 independent workstreams. Each workstream must have "
    "a clear deliverable and 1 to 4 focused questions."
)

WORKER_RULES = (
    "You are a specialist research agent. Answer only the assigned workstream, with specific "
    "findings and the evidence behind each; list the assumptions they rest on and the "
    "evidence still missing separately."
)
_MAY_SPLIT = (
    " If the workstream is too broad for one pass, answer kind 'split' with two to four "
    "narrower sub-workstreams instead of findings."
)
_NO_SPLIT = " Answer with findings: this workstream may not be split further."

SYNTHESIS_PROMPT = (
    "Synthesise the specialist workstreams' findings into an executive brief. Highlight "
    "conflicts between workstreams, unsupported assumptions and missing evidence; refer to "
    "workstreams by their ids."
)

ResearchGraph = CompiledStateGraph[ResearchState, ResearchContext, AgentInput, ResearchState]


def effective_limits(
    context: ResearchContext, max_depth: int, max_workstreams: int
) -> dict[str, int]:
    """The run's limits: the context's where it is stricter than the operator's, never looser."""
    depth = min(max_depth, context.max_depth or max_depth)
    cap = min(max_workstreams, context.max_workstreams or max_workstreams)
    return {"max_depth": depth, "max_workstreams": cap}


def _record(
    workstream: Workstream, ident: str, parent: str | None, depth: int, must_answer: bool
) -> WorkstreamRecord:
    return WorkstreamRecord(
        id=ident,
        parent=parent,
        depth=depth,
        name=workstream.name,
        deliverable=workstream.deliverable,
        questions=list(workstream.questions),
        worker=None,
        assignment=None,
        status="pending",
        must_answer=must_answer,
        findings=[],
        assumptions=[],
        gaps=[],
        children=[],
        error=None,
    )


def _say(text: str, name: str) -> AIMessage:
    return AIMessage(text, name=name)


def open_research(state: ResearchState) -> dict[str, Any]:
    """Start the research of the latest goal with an empty tree."""
    return {
        "goal": latest_human_text(state["messages"]),
        "workstreams": [],
        "level": 0,
        "brief": None,
        "flags": [],
        "status": "researching",
        "invalid_output": None,
    }


def _make_plan(
    root: BaseChatModel | None, name: str, max_depth: int, max_workstreams: int
) -> RunnableLambda[ResearchState, dict[str, Any]]:
    """Build the node where the root breaks the goal into workstreams."""

    def plan(state: ResearchState) -> dict[str, Any]:
        """Ask the root for 3 to 5 workstreams; end cleanly without a valid plan."""
        context = context_as(get_runtime(ResearchContext), ResearchContext)
        limits = effective_limits(context, max_depth, max_workstreams)
        goal = state.get("goal", "")
        inputs = PlannerInputs(goal=goal)
        chosen = resolve_model(root, context.model, role=PLANNER_ROLE, inputs=inputs)
        prompt = [SystemMessage(PLANNER_PROMPT), HumanMessage(f"Research goal: {goal}")]
        answer = ask_or_failure(
            chosen, prompt, ResearchPlan, role=PLANNER_ROLE, label="plan",
            hint="3 to 5 workstreams, each with a name, a deliverable and 1 to 4 questions",
        )  # fmt: skip
        if isinstance(answer, str):
            text = f"The research could not start: {answer}."
            return {"status": "failed", "limits": limits, "messages": [_say(text, name)]}
        if isinstance(answer, InvalidOutput):
            text = f"The research could not start: {answer.reason}."
            return {
                "status": "invalid_output",
                "invalid_output": answer.record(),
                "limits": limits,
                "messages": [_say(text, name)],
            }
        planned = answer.workstreams[: limits["max_workstreams"]]
        must = limits["max_depth"] <= 1
        records = [_record(w, child_id(None, i), None, 1, must) for i, w in enumerate(planned, 1)]
        return {"limits": limits, "workstreams": records}

    return RunnableLambda(plan, name="plan")


def route_after_plan(state: ResearchState) -> str:
    """To ``assign`` when the root planned workstreams, else the run is over."""
    return "assign" if state.get("workstreams") else END


def _make_assign(
    capabilities: Mapping[str, Sequence[str]], generalist: str | None
) -> RunnableLambda[ResearchState, dict[str, Any]]:
    """Build the node that assigns every new workstream to a worker, in code."""

    def assign(state: ResearchState) -> dict[str, Any]:
        """Match each unassigned pending workstream to the best worker (or report it)."""
        updated: list[WorkstreamRecord] = []
        for record in state.get("workstreams", []):
            if record["status"] == "pending" and record["assignment"] is None:
                text = f"{record['name']} {record['deliverable']}"
                match = match_worker(text, record["questions"], capabilities, generalist=generalist)
                worker = match.pop("worker")
                record = {**record, "worker": worker, "assignment": match}
                if worker is None:
                    why = "no worker's capabilities match it and there is no generalist"
                    record = {**record, "status": "unassigned", "error": why}
            updated.append(record)
        return {"workstreams": updated}

    return RunnableLambda(assign, name="assign")


def _pending(state: ResearchState) -> list[WorkstreamRecord]:
    return [r for r in state.get("workstreams", []) if r["status"] == "pending" and r["worker"]]


def route_after_assign(state: ResearchState) -> str:
    """To ``research`` while a workstream has a worker and no answer, else synthesise."""
    return "research" if _pending(state) else "synthesise"


def route_after_research(state: ResearchState) -> str:
    """New sub-workstreams to ``assign``; workstreams left to ``research``; else synthesise."""
    records = state.get("workstreams", [])
    if any(r["status"] == "pending" and r["assignment"] is None for r in records):
        return "assign"
    return "research" if _pending(state) else "synthesise"


class _Workers:
    """Asks each pending workstream's worker for its report, each as a durable task."""

    def __init__(self, specs: Sequence[AgentSpec], model: BaseChatModel | None) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.model = model

    @staticmethod
    def prompt(
        spec: AgentSpec, record: WorkstreamRecord, goal: str, may_split: bool
    ) -> list[BaseMessage]:
        """The worker's prompt: its instructions, the rules, the goal and its workstream."""
        rules = WORKER_RULES + (_MAY_SPLIT if may_split else _NO_SPLIT)
        brief = {
            "id": record["id"],
            "name": record["name"],
            "deliverable": record["deliverable"],
            "questions": record["questions"],
        }
        return [
            SystemMessage(f"{spec.instructions or spec.description}\n\n{rules}"),
            HumanMessage(f"Research goal: {goal}\n\nYour workstream:\n{json.dumps(brief)}"),
        ]

    def research(
        self, record: WorkstreamRecord, goal: str, limits: Mapping[str, int], model_spec: str
    ) -> StepRun:
        """Ask the workstream's worker; a failure or invalid answer is the result, not raised."""
        spec = self.specs[str(record["worker"])]
        may_split = not record["must_answer"] and record["depth"] < limits["max_depth"]
        role = worker_role(spec.name)
        inputs = WorkerInputs(worker=spec.name, goal=goal, workstream=record, may_split=may_split)
        chosen = resolve_model(spec.model or self.model, model_spec, role=role, inputs=inputs)
        schema: type[WorkerReport] | type[FinalReport] = WorkerReport if may_split else FinalReport
        hint = (
            "findings with evidence, or a split into two to four sub-workstreams"
            if may_split
            else "kind 'findings' with at least one finding: you may not split this workstream"
        )
        prompt = self.prompt(spec, record, goal, may_split)
        answer = ask_or_failure(chosen, prompt, schema, role=role, label="report", hint=hint)
        base: dict[str, Any] = {"id": record["id"], "findings": [], "assumptions": []}
        base |= {"gaps": [], "split": [], "error": None}
        if isinstance(answer, str):
            return {"result": {**base, "status": "failed", "error": answer}}
        if isinstance(answer, InvalidOutput):
            return {"result": {**base, "status": "failed", "error": answer.reason}}
        if isinstance(answer, WorkerReport) and answer.kind == "split":
            split = [w.model_dump(mode="json") for w in answer.split]
            return {"result": {**base, "status": "split", "split": split}}
        findings = [f.model_dump(mode="json") for f in answer.findings]
        done = {"findings": findings, "assumptions": answer.assumptions, "gaps": answer.gaps}
        return {"result": {**base, "status": "done", **done}}


def _apply(
    state: ResearchState, runs: Mapping[str, StepRun], limits: Mapping[str, int]
) -> dict[str, Any]:
    """The state update of a finished level: answers recorded, splits grown into children."""
    records = list(state.get("workstreams", []))
    flags = list(state.get("flags", []))
    children: list[WorkstreamRecord] = []
    for index, record in enumerate(records):
        if record["id"] not in runs:
            continue
        result = runs[record["id"]]["result"]
        if result["status"] == "split":
            split = [Workstream.model_validate(w) for w in result["split"]]
            if len(records) + len(children) + len(split) > limits["max_workstreams"]:
                problem = (
                    f"{record['id']}: a split into {len(split)} was refused (max_workstreams="
                    f"{limits['max_workstreams']}); its worker is asked for findings"
                )
                flags.append({"source": record["worker"], "problem": problem})
                records[index] = {**record, "must_answer": True}
                continue
            depth = record["depth"] + 1
            must = depth >= limits["max_depth"]
            made = [
                _record(w, child_id(record["id"], i), record["id"], depth, must)
                for i, w in enumerate(split, 1)
            ]
            children += made
            ids = [c["id"] for c in made]
            records[index] = {**record, "status": "split", "children": ids}
            continue
        records[index] = {
            **record,
            "status": result["status"],
            "findings": result["findings"],
            "assumptions": result["assumptions"],
            "gaps": result["gaps"],
            "error": result["error"],
        }
    return {
        "workstreams": [*records, *children],
        "flags": flags,
        "level": state.get("level", 0) + 1,
    }


def _make_research(workers: _Workers) -> RunnableLambda[ResearchState, dict[str, Any]]:
    """Build the node that researches one level: every pending workstream as a task."""

    def steps(state: ResearchState) -> list[PlanStep]:
        return [PlanStep(id=r["id"], description=r["name"]) for r in _pending(state)]

    def research(state: ResearchState) -> dict[str, Any]:
        """Run every pending workstream's worker at once, then record the answers."""
        context = context_as(get_runtime(ResearchContext), ResearchContext)
        by_id = {r["id"]: r for r in _pending(state)}
        limits, goal = state.get("limits", {}), state.get("goal", "")

        def run_step(step: PlanStep, _: dict[str, Mapping[str, Any]]) -> StepRun:
            return workers.research(by_id[step.id], goal, limits, context.model)

        runs = run_plan_steps(steps(state), {}, run_step, task_name=WORKSTREAM_TASK)
        return _apply(state, runs, limits)

    async def aresearch(state: ResearchState) -> dict[str, Any]:
        """Async twin of `research`: each worker's model call runs in a worker thread."""
        context = context_as(get_runtime(ResearchContext), ResearchContext)
        by_id = {r["id"]: r for r in _pending(state)}
        limits, goal = state.get("limits", {}), state.get("goal", "")

        async def run_step(step: PlanStep, _: dict[str, Mapping[str, Any]]) -> StepRun:
            return await asyncio.to_thread(
                workers.research, by_id[step.id], goal, limits, context.model
            )

        runs = await arun_plan_steps(steps(state), {}, run_step, task_name=WORKSTREAM_TASK)
        return _apply(state, runs, limits)

    return RunnableLambda(research, afunc=aresearch, name="research")


def render_workstreams(records: Sequence[WorkstreamRecord]) -> str:
    """The workstreams' findings as prompt text, one block per workstream with its id."""
    blocks = []
    for r in records:
        head = f"[{r['id']}] {r['name']} ({r['worker'] or 'unassigned'}): {r['status']}"
        lines = [head]
        lines += [f"  - {f['claim']} (evidence: {f['evidence'] or 'none'})" for f in r["findings"]]
        lines += [f"  assumption: {a}" for a in r["assumptions"]]
        lines += [f"  gap: {g}" for g in r["gaps"]]
        if r["error"] and r["status"] in ("failed", "unassigned"):
            lines.append(f"  error: {r['error']}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks) or "(no workstreams)"


def _unanswered(records: Sequence[WorkstreamRecord]) -> list[WorkstreamRecord]:
    return [r for r in records if r["status"] in ("failed", "unassigned")]


def check_brief(
    brief: ExecutiveBrief, records: Sequence[WorkstreamRecord]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Keep only references to workstreams of the tree; add the failed ones as missing evidence.

    A conflict left naming fewer than two known workstreams is dropped (and flagged), as is
    an assumption or a gap naming an unknown workstream. Every failed or unassigned
    workstream is listed under ``failed_workstreams`` and as missing evidence.

    Returns:
        The checked brief as JSON and one flag (``{"source", "problem"}``) per problem.
    """
    known = {r["id"] for r in records}
    flags: list[dict[str, Any]] = []
    checked = brief.model_dump(mode="json")
    conflicts = []
    for conflict in checked["conflicts"]:
        named = [w for w in dict.fromkeys(conflict["workstreams"]) if w in known]
        if len(named) >= 2:
            conflicts.append({**conflict, "workstreams": named})
        else:
            problem = f"a conflict naming {conflict['workstreams']} is not between workstreams"
            flags.append({"source": "synthesis", "problem": problem + " of the tree; dropped"})
    checked["conflicts"] = conflicts
    for key in ("unsupported_assumptions", "missing_evidence"):
        for note in checked[key]:
            if note["workstream"] not in known:
                problem = f"{key} names unknown workstream {note['workstream']!r}; dropped"
                flags.append({"source": "synthesis", "problem": problem})
        checked[key] = [n for n in checked[key] if n["workstream"] in known]
    failed = _unanswered(records)
    reported = {n["workstream"] for n in checked["missing_evidence"]}
    checked["missing_evidence"] += [
        {"workstream": r["id"], "text": f"{r['name']}: no findings ({r['error']})"}
        for r in failed
        if r["id"] not in reported
    ]
    checked["failed_workstreams"] = [
        {"id": r["id"], "name": r["name"], "status": r["status"], "error": r["error"]}
        for r in failed
    ]
    return checked, flags


def render_brief(brief: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The executive brief as the run's answer."""

    def label(ident: str) -> str:
        return f"{ident} ({names.get(ident, '?')})"

    lines = [
        "Executive brief",
        "",
        brief["summary"],
        "",
        f"Recommendation: {brief['recommendation']}",
    ]
    lines += ["", "Conflicts between workstreams:"]
    lines += [
        f"- {' vs '.join(label(w) for w in c['workstreams'])}: {c['description']}"
        for c in brief["conflicts"]
    ] or ["- (none)"]
    for key, title in (
        ("unsupported_assumptions", "Unsupported assumptions"),
        ("missing_evidence", "Missing evidence"),
    ):
        lines += ["", f"{title}:"]
        lines += [f"- [{n['workstream']}] {n['text']}" for n in brief[key]] or ["- (none)"]
    if brief["failed_workstreams"]:
        lines += ["", "Workstreams without findings:"]
        lines += [f"- {f['id']} {f['name']}: {f['error']}" for f in brief["failed_workstreams"]]
    return "\n".join(lines)


def _make_synthesise(
    root: BaseChatModel | None, name: str
) -> RunnableLambda[ResearchState, dict[str, Any]]:
    """Build the node where the root writes the executive brief."""

    def synthesise(state: ResearchState) -> dict[str, Any]:
        """Write the brief; end cleanly without findings or without a valid brief."""
        context = context_as(get_runtime(ResearchContext), ResearchContext)
        records = state.get("workstreams", [])
        if not any(r["status"] == "done" for r in records):
            why = "; ".join(f"{r['id']}: {r['error']}" for r in _unanswered(records))
            text = f"The research produced no findings, so there is no brief ({why})."
            return {"status": "no_findings", "messages": [_say(text, name)]}
        goal = state.get("goal", "")
        inputs = SynthesisInputs(goal=goal, workstreams=list(records))
        chosen = resolve_model(root, context.model, role=SYNTHESIS_ROLE, inputs=inputs)
        prompt = [
            SystemMessage(SYNTHESIS_PROMPT),
            HumanMessage(f"Goal: {goal}\n\nWorkstreams:\n{render_workstreams(records)}"),
        ]
        answer = ask_or_failure(
            chosen, prompt, ExecutiveBrief, role=SYNTHESIS_ROLE, label="brief",
            hint="a summary, a recommendation, and conflicts naming two or more workstream ids",
        )  # fmt: skip
        if isinstance(answer, str):
            text = f"The research ended without a brief: {answer}."
            return {"status": "failed", "messages": [_say(text, name)]}
        if isinstance(answer, InvalidOutput):
            text = f"The research ended without a brief: {answer.reason}."
            return {
                "status": "invalid_output",
                "invalid_output": answer.record(),
                "messages": [_say(text, name)],
            }
        brief, flags = check_brief(answer, records)
        names = {r["id"]: r["name"] for r in records}
        return {
            "status": "answered",
            "brief": brief,
            "flags": [*state.get("flags", []), *flags],
            "messages": [_say(render_brief(brief, names), name)],
        }

    return RunnableLambda(synthesise, name="synthesise")


def _check(
    specs: Sequence[AgentSpec],
    capabilities: Mapping[str, Sequence[str]],
    generalist: str | None,
    max_depth: int,
    max_workstreams: int,
) -> None:
    names = check_agent_names(specs, reserved=_NODES)
    if unknown := sorted(set(capabilities) - set(names)):
        raise ValueError(f"capabilities name unknown workers {unknown}")
    if generalist is not None and generalist not in names:
        raise ValueError(f"the generalist {generalist!r} is not one of the workers {names}")
    if max_depth < 1:
        raise ValueError(f"max_depth must be at least 1, got {max_depth}")
    if max_workstreams < 3:
        raise ValueError(f"max_workstreams must be at least 3, got {max_workstreams}")
    for spec in specs:
        if spec.tools or spec.graph is not None:
            raise ValueError(
                f"Worker {spec.name!r} has tools or a graph; a research worker answers from "
                "its instructions with a structured report."
            )


def build_research_graph(
    workers: Sequence[AgentSpec],
    *,
    capabilities: Mapping[str, Sequence[str]] | None = None,
    generalist: str | None = None,
    root: BaseChatModel | None = None,
    max_depth: int = 2,
    max_workstreams: int = 12,
    model: BaseChatModel | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "research",
    recursion_limit: int | None = None,
) -> ResearchGraph:
    """Build the hierarchical research graph.

    Args:
        workers: the specialist workers (instructions or a description, no tools), in
            declared order (the tie-break of the assignment).
        capabilities: each worker's declared capabilities (keywords or short phrases, see
            `nodes.research_assign`), by worker name; a worker without any gets only what
            falls to it as the generalist.
        generalist: the worker that takes a workstream no capability matches; None leaves
            such a workstream unassigned (reported in the brief).
        root: the root agent's model (plan and brief); defaults to `model`.
        max_depth: depth of the workstream tree (1: the root's workstreams are never split;
            2: they may split once). A run's context may lower it, never raise it.
        max_workstreams: cap on workstreams in the whole tree (at least 3); a split past it
            is refused and its worker asked for findings. A run's context may lower it.
        model: the workers' model (unless a spec has its own) and the root's; None resolves
            ``context.model`` per run.
        runtime: checkpointer, store and controls (`PatternRuntime`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``.
        store: shorthand for the runtime's long-term memory store.
        name: graph name (the final message carries it too).
        recursion_limit: hard cap on super-steps per run; None: the levels plus room.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `ResearchContext`; the
        brief is the last message, details in ``workstreams``, ``brief`` and ``flags``.

    Raises:
        ValueError: no workers, repeated or reserved names, capabilities or a generalist
            naming no worker, a worker with tools or a graph, or limits out of range.
    """
    specs = list(workers)
    declared = {k: tuple(v) for k, v in (capabilities or {}).items()}
    _check(specs, declared, generalist, max_depth, max_workstreams)
    ordered = {spec.name: declared.get(spec.name, ()) for spec in specs}
    builder = StateGraph(
        ResearchState,
        context_schema=ResearchContext,
        input_schema=AgentInput,
        output_schema=ResearchState,
    )
    chief = root or model
    builder.add_node("open", open_research)
    builder.add_node(
        "plan", _make_plan(chief, name, max_depth, max_workstreams), retry_policy=MODEL_RETRY
    )
    builder.add_node("assign", _make_assign(ordered, generalist))
    builder.add_node("research", _make_research(_Workers(specs, model)), retry_policy=MODEL_RETRY)
    builder.add_node("synthesise", _make_synthesise(chief, name), retry_policy=MODEL_RETRY)
    builder.add_edge(START, "open")
    builder.add_edge("open", "plan")
    builder.add_conditional_edges("plan", route_after_plan, ["assign", END])
    builder.add_conditional_edges("assign", route_after_assign, ["research", "synthesise"])
    builder.add_conditional_edges(
        "research", route_after_research, ["assign", "research", "synthesise"]
    )
    builder.add_edge("synthesise", END)
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    # per level: assign and research, plus one level for refused splits; then open, plan, brief
    limit = recursion_limit if recursion_limit is not None else 2 * (max_depth + 1) + 8
    compiled = compile_pattern(
        builder, runtime=shared, name=name, recursion_limit=limit, tools=agent_tools(specs)
    )
    # one worker thread per workstream of a level under invoke, plus the node's own
    return compiled.with_config(max_concurrency=max_workstreams + 2)


from demo.market_research import (  # noqa: E402  (the served graph's wiring only)
    market_capabilities,
    market_workers,
    register_stand_ins,
)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "workers": market_workers(),
    "capabilities": market_capabilities(),
    "generalist": "generalist",
    "max_depth": 2,
}
"""A market-expansion decision: four specialists and a generalist, one level of recursion."""

graph = build_research_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
