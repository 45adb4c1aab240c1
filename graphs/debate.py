"""Debate with a facilitator: perspectives argue in rounds, a neutral facilitator sums up.

    START ─► open ─► debate_round ─(rounds left)─► debate_round … ─► facilitate ─► END

Not the handoff swarm (`graphs.swarm`, where one agent at a time holds the conversation and
passes it on): here every perspective speaks in every round, to a shared transcript, and
nobody answers the user but the facilitator.

Each perspective is an `state.agent_spec.AgentSpec` described by its name and instructions
(its system prompt; its model, if it has one). Its contribution to a round is structured
(`state.debate.Contribution`, asked through `nodes.ask.ask_structured`): one to three
points, each new ``evidence`` or a ``challenge`` naming the id of the claim it disputes. The
graph numbers every point (``<perspective>-r<round>-<n>``); a challenge naming a claim the
perspective could not see is kept without its target and flagged (``flags``).

Rounds are bounded (``rounds``). With ``parallel_rounds=True`` the perspectives of a round
run at once and see only the earlier rounds; with ``False`` they speak in declared order and
each also sees the points made before it in the round. Either way every contribution runs
as a durable LangGraph task (`nodes.plan_steps`, task `CONTRIBUTION_TASK`): a run resumed
after a crash does not ask again a perspective whose contribution was saved.

The facilitator (role `state.debate.FACILITATOR_ROLE`) answers with a
`state.debate.FacilitatorSummary` that only cites claim ids. `check_citations` checks every
cited id against the transcript in code: unknown ids are dropped and flagged, an argument
left resting on no claim is dropped. A perspective whose contribution stays invalid is
recorded (``contributions``) and the debate goes on; a facilitator whose summary stays
invalid ends the run cleanly saying why (status ``invalid_output``).

Perspectives with tools or given as compiled graphs are refused: a debater argues from its
instructions and the transcript (give it a researched brief in its instructions instead).

Offline, on the demo model, each perspective plays the stand-in registered for its role
(``debate.perspective.<name>``) and the facilitator its own; `demo.product_debate` registers
the served scenario's.
"""

from __future__ import annotations

import asyncio
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
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.agent_spec import AgentSpec, check_agent_names
from state.context import AgentContext
from state.debate import (
    FACILITATOR_ROLE,
    Claim,
    Contribution,
    DebateState,
    FacilitatorInputs,
    FacilitatorSummary,
    PerspectiveInputs,
    SummaryItem,
    claim_id,
    perspective_role,
)
from state.plan import PlanStep

__all__ = [
    "CONTRIBUTION_TASK",
    "FACILITATOR_PROMPT",
    "PERSPECTIVE_RULES",
    "build_debate_graph",
    "check_citations",
    "graph",
    "render_transcript",
]

CONTRIBUTION_TASK = "contribute"
"""Name of every contribution's task (in streamed ``tasks`` and ``updates`` events)."""

_NODES = ("open", "debate_round", "facilitate")

PERSPECTIVE_RULES = (
    "You take part in a structured debate as one perspective. Add one to three points: new "
    "evidence (a claim backed by facts) or a challenge of a specific weak claim of the "
    "transcript, naming its id in 'target'. Do not repeat points already made."
)

FACILITATOR_PROMPT = (
    "You are a neutral facilitator. Summarise the debate: its strongest arguments, the risks "
    "left unresolved, and a recommendation. Add no claim of your own: every argument, risk "
    "and the recommendation must cite the ids of the transcript's claims it rests on."
)

DebateGraph = CompiledStateGraph[DebateState, AgentContext, AgentInput, DebateState]


def render_transcript(transcript: Sequence[Claim]) -> str:
    """The transcript as prompt text, one claim per line with its id."""
    if not transcript:
        return "(no claims yet)"
    lines = []
    for claim in transcript:
        target = f" (challenges {claim['target']})" if claim["target"] else ""
        evidence = f" Evidence: {claim['evidence']}" if claim["evidence"] else ""
        lines.append(f"[{claim['id']}] {claim['perspective']}{target}: {claim['text']}{evidence}")
    return "\n".join(lines)


def _claims(
    answer: Contribution, name: str, number: int, visible: Sequence[Claim]
) -> tuple[list[Claim], list[dict[str, Any]]]:
    """The contribution's points as numbered claims; challenges of unknown claims flagged."""
    known = {claim["id"] for claim in visible}
    claims: list[Claim] = []
    flags: list[dict[str, Any]] = []
    for index, point in enumerate(answer.points, start=1):
        ident = claim_id(name, number, index)
        target = point.target if point.kind == "challenge" else None
        if point.kind == "challenge" and target not in known:
            problem = f"challenges {target!r}, not a claim of the transcript it saw"
            flags.append({"source": name, "claim": ident, "problem": problem})
            target = None
        claims.append(
            Claim(
                id=ident,
                perspective=name,
                round=number,
                kind=point.kind,
                text=point.text,
                evidence=point.evidence,
                target=target,
            )
        )
    return claims, flags


class _Perspectives:
    """Asks every perspective of a round for its contribution, each as a durable task."""

    def __init__(
        self, specs: Sequence[AgentSpec], model: BaseChatModel | None, parallel: bool
    ) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.model = model
        self.parallel = parallel

    def steps(self) -> list[PlanStep]:
        """One step per perspective; sequential rounds chain each after all earlier ones."""
        names = list(self.specs)
        return [
            PlanStep(id=name, description=name, depends_on=[] if self.parallel else names[:i])
            for i, name in enumerate(names)
        ]

    def contribute(
        self,
        name: str,
        state: DebateState,
        earlier: Mapping[str, Mapping[str, Any]],
        context: AgentContext,
    ) -> StepRun:
        """Ask perspective `name` for its contribution to the next round.

        Invalid output is not raised: the failure is the step's result.
        """
        spec, number = self.specs[name], state.get("round", 0) + 1
        mine = [c for n in self.specs if n in earlier for c in earlier[n]["claims"]]
        visible = [*state.get("transcript", []), *mine]
        request = state.get("request", "")
        inputs = PerspectiveInputs(
            perspective=name, request=request, round=number, transcript=visible
        )
        role = perspective_role(name)
        chosen = resolve_model(spec.model or self.model, context.model, role=role, inputs=inputs)
        prompt: list[BaseMessage] = [
            SystemMessage(f"{spec.instructions or spec.description}\n\n{PERSPECTIVE_RULES}"),
            HumanMessage(
                f"Question: {request}\n\nRound {number}. Transcript so far:\n"
                f"{render_transcript(visible)}\n\nYour contribution as {name}:"
            ),
        ]
        answer = ask_or_failure(
            chosen, prompt, Contribution, role=role, label="contribution",
            hint="one to three points; a challenge names an existing claim id in 'target'",
        )  # fmt: skip
        record = {"round": number, "perspective": name}
        if not isinstance(answer, Contribution):
            status = "failed" if isinstance(answer, str) else "invalid_output"
            error = answer if isinstance(answer, str) else answer.reason
            failed = {**record, "status": status, "error": error}
            return {"result": {**failed, "claims": [], "flags": []}}
        claims, flags = _claims(answer, name, number, visible)
        return {
            "result": {**record, "status": "done", "error": None, "claims": claims, "flags": flags}
        }

    def update(self, state: DebateState, runs: Mapping[str, StepRun]) -> dict[str, Any]:
        """The state update of a finished round, contributions in declared order."""
        results = [runs[name]["result"] for name in self.specs]
        claims = [claim for result in results for claim in result["claims"]]
        flags = [flag for result in results for flag in result["flags"]]
        records = [
            {k: result[k] for k in ("round", "perspective", "status", "error")}
            | {"claims": [c["id"] for c in result["claims"]]}
            for result in results
        ]
        return {
            "round": state.get("round", 0) + 1,
            "transcript": [*state.get("transcript", []), *claims],
            "contributions": [*state.get("contributions", []), *records],
            "flags": [*state.get("flags", []), *flags],
        }


def _make_round(perspectives: _Perspectives) -> RunnableLambda[DebateState, dict[str, Any]]:
    """Build the node that runs one round (sync and async bodies)."""

    def debate_round(state: DebateState) -> dict[str, Any]:
        """Run one round: every perspective's contribution as a task."""
        context = context_as(get_runtime(AgentContext), AgentContext)

        def run_step(step: PlanStep, earlier: dict[str, Mapping[str, Any]]) -> StepRun:
            return perspectives.contribute(step.id, state, earlier, context)

        runs = run_plan_steps(perspectives.steps(), {}, run_step, task_name=CONTRIBUTION_TASK)
        return perspectives.update(state, runs)

    async def adebate_round(state: DebateState) -> dict[str, Any]:
        """Async twin of `debate_round`: each model call runs in a worker thread."""
        context = context_as(get_runtime(AgentContext), AgentContext)

        async def run_step(step: PlanStep, earlier: dict[str, Mapping[str, Any]]) -> StepRun:
            return await asyncio.to_thread(
                perspectives.contribute, step.id, state, earlier, context
            )

        runs = await arun_plan_steps(
            perspectives.steps(), {}, run_step, task_name=CONTRIBUTION_TASK
        )
        return perspectives.update(state, runs)

    return RunnableLambda(debate_round, afunc=adebate_round, name="debate_round")


def check_citations(
    summary: FacilitatorSummary, transcript: Sequence[Claim]
) -> tuple[FacilitatorSummary, list[dict[str, Any]]]:
    """Keep only citations of claims in `transcript`; flag the rest.

    An argument or risk left citing no claim of the transcript is dropped (it would be a
    claim of the facilitator's own). A recommendation left citing none is kept and flagged
    as unsupported.

    Returns:
        The checked summary and one flag (``{"source", "claim", "problem"}``) per problem.
    """
    known = {claim["id"] for claim in transcript}
    flags: list[dict[str, Any]] = []

    def kept(cited: Sequence[str], where: str) -> list[str]:
        for ident in cited:
            if ident not in known:
                problem = f"{where} cites {ident!r}, not a claim of the transcript; dropped"
                flags.append({"source": "facilitator", "claim": ident, "problem": problem})
        return [ident for ident in dict.fromkeys(cited) if ident in known]

    def items(entries: Sequence[SummaryItem], where: str) -> list[SummaryItem]:
        checked = []
        for entry in entries:
            claims = kept(entry.claims, where)
            if claims:
                checked.append(SummaryItem(text=entry.text, claims=claims))
            else:
                problem = f"{where} {entry.text!r} rests on no claim of the transcript; dropped"
                flags.append({"source": "facilitator", "claim": None, "problem": problem})
        return checked

    recommended = kept(summary.recommendation_claims, "the recommendation")
    if not recommended:
        problem = "the recommendation rests on no claim of the transcript"
        flags.append({"source": "facilitator", "claim": None, "problem": problem})
    # constructed, not validated: a recommendation left citing nothing is kept (and flagged)
    checked = FacilitatorSummary.model_construct(
        strongest_arguments=items(summary.strongest_arguments, "an argument"),
        unresolved_risks=items(summary.unresolved_risks, "a risk"),
        recommendation=summary.recommendation,
        recommendation_claims=recommended,
    )
    return checked, flags


def _failures(state: DebateState) -> list[str]:
    """One line per contribution that did not arrive: round, perspective and why."""
    return [
        f"round {record['round']}, {record['perspective']}: {record['error']}"
        for record in state.get("contributions", [])
        if record["status"] != "done"
    ]


def _render_summary(
    summary: FacilitatorSummary, flags: Sequence[dict[str, Any]], failures: Sequence[str]
) -> str:
    def cite(claims: Sequence[str]) -> str:
        return f" [{', '.join(claims)}]" if claims else ""

    lines = [f"Recommendation: {summary.recommendation}{cite(summary.recommendation_claims)}"]
    lines += ["", "Strongest arguments:"]
    lines += [f"- {a.text}{cite(a.claims)}" for a in summary.strongest_arguments] or ["- (none)"]
    lines += ["", "Unresolved risks:"]
    lines += [f"- {r.text}{cite(r.claims)}" for r in summary.unresolved_risks] or ["- (none)"]
    if flags:
        lines += ["", "Flagged:"] + [f"- {flag['problem']}" for flag in flags]
    if failures:
        lines += ["", "Missing contributions:"] + [f"- {line}" for line in failures]
    return "\n".join(lines)


def _make_facilitate(
    facilitator: BaseChatModel | None, name: str
) -> RunnableLambda[DebateState, dict[str, Any]]:
    """Build the node where the facilitator sums up the transcript, citations checked."""

    def facilitate(state: DebateState) -> dict[str, Any]:
        """Summarise the debate; end cleanly without claims or without a valid summary."""
        context = context_as(get_runtime(AgentContext), AgentContext)
        transcript = state.get("transcript", [])
        if not transcript:
            why = "; ".join(_failures(state)) or "no perspective made a point"
            text = f"The debate produced no claims, so there is nothing to summarise ({why})."
            return {
                "status": "no_claims",
                "summary": None,
                "messages": [AIMessage(text, name=name)],
            }
        inputs = FacilitatorInputs(request=state.get("request", ""), transcript=transcript)
        chosen = resolve_model(facilitator, context.model, role=FACILITATOR_ROLE, inputs=inputs)
        prompt: list[BaseMessage] = [
            SystemMessage(FACILITATOR_PROMPT),
            HumanMessage(
                f"Question: {inputs['request']}\n\nTranscript:\n{render_transcript(transcript)}"
            ),
        ]
        answer = ask_or_failure(
            chosen, prompt, FacilitatorSummary, role=FACILITATOR_ROLE, label="summary",
            hint="cite only claim ids of the transcript",
        )  # fmt: skip
        if isinstance(answer, str):
            text = f"The debate ended without a summary: {answer}."
            return {"status": "failed", "summary": None, "messages": [AIMessage(text, name=name)]}
        if isinstance(answer, InvalidOutput):
            text = f"The debate ended without a summary: {answer.reason}."
            return {
                "status": "invalid_output",
                "invalid_output": answer.record(),
                "summary": None,
                "messages": [AIMessage(text, name=name)],
            }
        summary, flags = check_citations(answer, transcript)
        all_flags = [*state.get("flags", []), *flags]
        text = _render_summary(summary, all_flags, _failures(state))
        return {
            "status": "answered",
            "summary": summary.model_dump(mode="json"),
            "flags": all_flags,
            "messages": [AIMessage(text, name=name)],
        }

    return RunnableLambda(facilitate, name="facilitate")


def open_debate(state: DebateState) -> dict[str, Any]:
    """Start the debate of the latest request with an empty transcript."""
    return {
        "request": latest_human_text(state["messages"]),
        "round": 0,
        "transcript": [],
        "contributions": [],
        "flags": [],
        "summary": None,
        "status": "debating",
        "invalid_output": None,
    }


def _check(specs: Sequence[AgentSpec], rounds: int) -> None:
    check_agent_names(specs, reserved=_NODES)
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    for spec in specs:
        if spec.tools or spec.graph is not None:
            raise ValueError(
                f"Perspective {spec.name!r} has tools or a graph; a debater argues from its "
                "instructions and the transcript."
            )


def build_debate_graph(
    perspectives: Sequence[AgentSpec],
    *,
    facilitator: BaseChatModel | None = None,
    rounds: int = 2,
    parallel_rounds: bool = True,
    model: BaseChatModel | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "debate",
    recursion_limit: int | None = None,
) -> DebateGraph:
    """Build the debate-with-a-facilitator graph.

    Args:
        perspectives: the debaters, in declared order (the order they speak in sequential
            rounds and are recorded in); each needs instructions (or a description), no tools.
        facilitator: the facilitator's model; defaults to `model`.
        rounds: how many rounds every perspective speaks in (at least 1).
        parallel_rounds: True: a round's perspectives run at once, seeing only earlier
            rounds; False: in declared order, each seeing the points before it.
        model: the perspectives' model (unless a spec has its own) and the facilitator's;
            None resolves ``context.model`` per run.
        runtime: checkpointer, store and controls (`PatternRuntime`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``.
        store: shorthand for the runtime's long-term memory store.
        name: graph name (the final message carries it too).
        recursion_limit: hard cap on super-steps per run; None: the rounds plus room.

    Returns:
        The compiled graph. Input ``{"messages": [...]}``; context `AgentContext`; the
        answer is the last message, details in ``transcript``, ``summary`` and ``flags``.

    Raises:
        ValueError: no perspectives, repeated or reserved names, a perspective with tools
            or a graph, or fewer than one round.
    """
    specs = list(perspectives)
    _check(specs, rounds)
    speakers = _Perspectives(specs, model, parallel_rounds)
    builder = StateGraph(
        DebateState, context_schema=AgentContext, input_schema=AgentInput, output_schema=DebateState
    )
    builder.add_node("open", open_debate)
    builder.add_node("debate_round", _make_round(speakers), retry_policy=MODEL_RETRY)
    builder.add_node(
        "facilitate", _make_facilitate(facilitator or model, name), retry_policy=MODEL_RETRY
    )
    builder.add_edge(START, "open")
    builder.add_edge("open", "debate_round")

    def next_round(state: DebateState) -> str:
        return "debate_round" if state.get("round", 0) < rounds else "facilitate"

    builder.add_conditional_edges("debate_round", next_round, ["debate_round", "facilitate"])
    builder.add_edge("facilitate", END)
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    limit = recursion_limit if recursion_limit is not None else rounds + 6
    compiled = compile_pattern(
        builder, runtime=shared, name=name, recursion_limit=limit, tools=agent_tools(specs)
    )
    # one worker thread per perspective under invoke, plus the node's own
    return compiled.with_config(max_concurrency=len(specs) + 2)


from demo.product_debate import debate_perspectives, register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "perspectives": debate_perspectives(),
    "rounds": 2,
}
"""A product decision: research, engineering, finance and support debate a launch."""

graph = build_debate_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
