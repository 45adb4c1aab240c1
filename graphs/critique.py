"""Critique: a generator drafts, a judge returns a structured verdict, the generator revises.

The judge answers with a `Verdict` (score 0..1, passed, issues) through structured output. A
draft is *accepted* when the judge says ``passed`` and its score reaches
``context.threshold``. Two modes (``context.mode``):

- ``single`` (review and revise): one draft, one review; if it is not accepted, the generator
  revises it once from the judge's issues and the revision is returned without a second
  review.
- ``iterate`` (iterative refinement): revise and judge again until a draft is accepted or
  ``context.max_rounds`` drafts were judged; then the **best** draft so far (not the last) is
  returned.

    generate ─► judge ──(accepted / out of rounds)──► finish ─► END
                  │ ▲
                  │ └──(iterate)── revise ◄──(not accepted)──┘
                  └─────────────────────────(single)── revise ─► finish

Generator and judge may be different models: pass ``judge=`` or set ``context.judge_model``.

Each model call names its role (`WRITER_ROLE`, `JUDGE_ROLE`) and passes the inputs declared
for it (`state.critique.WriterInputs`, `state.critique.JudgeInputs`). On the offline demo model
(keyword heuristics, not an LLM) a stand-in registered for the role plays it from those inputs;
the served graph registers the demo shop's (`demo.critique_stand_ins`: a rubric checked in code,
and a writer fixing two of its issues per revision).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from graphs._compile import compile_pattern
from nodes.ask import InvalidOutput, ask_structured, ask_text
from nodes.context import AgentNode, context_as
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from state.agent import AgentInput
from state.critique import (
    JUDGE_ROLE,
    WRITER_ROLE,
    CritiqueContext,
    CritiqueState,
    JudgeInputs,
    Verdict,
    WriterInputs,
)

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "JUDGE_ROLE",
    "SERVED_OPTIONS",
    "WRITER_ROLE",
    "build_critique_graph",
    "graph",
    "is_accepted",
    "route_after_judge",
    "route_after_revise",
]

DEFAULT_RECURSION_LIMIT = 40
"""Super-steps per run: two per round (judge, revise) plus generate and finish; 10 rounds fit."""

_FINISH_HEADROOM = 3
"""Steps kept for revise/judge/finish: below this many remaining steps the run finishes."""

REPLY_NAME = "critique"

VERDICT_HINT = "score between 0 and 1, passed true or false, issues a list of strings."
"""What a valid verdict looks like, for the re-ask after an invalid one."""


# -- helpers ---------------------------------------------------------------------------------


def is_accepted(verdict: dict[str, Any], threshold: float) -> bool:
    """Whether a verdict accepts its draft: the judge passed it and the score is high enough."""
    return bool(verdict.get("passed")) and float(verdict.get("score", 0.0)) >= threshold


def _rank(entry: dict[str, Any]) -> tuple[bool, float]:
    verdict = entry["verdict"]
    return bool(verdict.get("passed")), float(verdict.get("score", 0.0))


def _generator(
    model: BaseChatModel | None, context: CritiqueContext, inputs: WriterInputs
) -> BaseChatModel:
    """The writer (on the demo model, the stand-in registered for `WRITER_ROLE`, given `inputs`)."""
    return resolve_model(model, context.model, role=WRITER_ROLE, inputs=inputs)


def _judge(
    judge: BaseChatModel | None,
    model: BaseChatModel | None,
    context: CritiqueContext,
    inputs: JudgeInputs,
) -> BaseChatModel:
    """The judge: as given, else ``context.judge_model``, else the writer's model."""
    if judge is not None or context.judge_model:
        return resolve_model(judge, context.judge_model, role=JUDGE_ROLE, inputs=inputs)
    return resolve_model(model, context.model, role=JUDGE_ROLE, inputs=inputs)


# -- nodes -----------------------------------------------------------------------------------


def make_generate(model: BaseChatModel | None) -> AgentNode:
    """Build the node that writes the first draft of the latest request."""

    def generate(state: CritiqueState, *, runtime: Runtime[CritiqueContext]) -> dict[str, Any]:
        """Write draft 1; start this request's history afresh."""
        context = context_as(runtime, CritiqueContext)
        request = latest_human_text(state["messages"])
        inputs = WriterInputs(request=request, draft=None, issues=[])
        text = ask_text(
            _generator(model, context, inputs),
            [SystemMessage(context.system_prompt), HumanMessage(request)],
            role="writer",
        )
        return {
            "request": request,
            "drafts": [{"round": 1, "text": text}],
            "verdicts": [],
            "round": 1,
            "best": None,
            "outcome": {},
            "judge_error": None,
        }

    return generate


def make_judge_draft(judge: BaseChatModel | None, model: BaseChatModel | None) -> AgentNode:
    """Build the node that asks the judge for a `Verdict` on the latest draft."""

    def judge_draft(state: CritiqueState, *, runtime: Runtime[CritiqueContext]) -> dict[str, Any]:
        """Judge the latest draft; keep the best judged draft so far.

        An invalid verdict is asked for again once with the error (`nodes.ask`); a verdict
        still invalid ends the run cleanly: ``judge_error`` says why, `finish` answers.
        """
        context = context_as(runtime, CritiqueContext)
        draft = state["drafts"][-1]
        inputs = JudgeInputs(request=state.get("request", ""), draft=draft["text"])
        prompt: list[AnyMessage] = [
            SystemMessage(context.judge_prompt),
            HumanMessage(f"Request:\n{inputs['request']}\n\nDraft:\n{inputs['draft']}"),
        ]
        parsed = ask_structured(
            _judge(judge, model, context, inputs),
            prompt,
            Verdict,
            role="judge",
            label="verdict",
            hint=VERDICT_HINT,
        )
        if isinstance(parsed, InvalidOutput):
            return {"judge_error": parsed.errors[-1]}
        verdict = parsed.model_dump(mode="json")
        entry = {"round": draft["round"], "draft": draft["text"], "verdict": verdict}
        best = state.get("best")
        if best is None or _rank(entry) > _rank(best):
            best = entry
        return {
            "verdicts": [*state.get("verdicts", []), {"round": draft["round"], **verdict}],
            "best": best,
        }

    return judge_draft


def make_revise(model: BaseChatModel | None) -> AgentNode:
    """Build the node where the generator revises the latest draft from the judge's issues."""

    def revise(state: CritiqueState, *, runtime: Runtime[CritiqueContext]) -> dict[str, Any]:
        """Write the next draft from the request, the previous draft and its issues."""
        context = context_as(runtime, CritiqueContext)
        draft, verdict = state["drafts"][-1], state["verdicts"][-1]
        issues = "\n".join(f"* {issue}" for issue in verdict["issues"]) or "* (none listed)"
        quoted = "\n".join(f"> {line}" for line in draft["text"].splitlines())
        inputs = WriterInputs(
            request=state.get("request", ""), draft=draft["text"], issues=list(verdict["issues"])
        )
        text = ask_text(
            _generator(model, context, inputs),
            [
                SystemMessage(context.system_prompt),
                HumanMessage(
                    f"{state.get('request', '')}\n\n"
                    f"Previous draft (round {draft['round']}, score {verdict['score']:.2f}):\n"
                    f"{quoted}\n\n"
                    f"Reviewer's issues to fix:\n{issues}\n\n"
                    "Write the complete revised text."
                ),
            ],
            role="writer",
        )
        number = state["round"] + 1
        return {
            "drafts": [*state["drafts"], {"round": number, "text": text}],
            "round": number,
        }

    return revise


def finish(state: CritiqueState, *, runtime: Runtime[CritiqueContext]) -> dict[str, Any]:
    """Choose the draft to return and answer with it, saying how it was judged.

    Accepted: the accepted draft. Single mode after a revision: the revision (not judged).
    Otherwise (out of rounds, or out of steps): the best judged draft, not the last one. After
    an invalid verdict: the best judged draft, else the latest one, unreviewed.
    """
    context = context_as(runtime, CritiqueContext)
    status, chosen, verdict, note = _choose(state, context)
    outcome = {
        "status": status,
        "round": chosen["round"],
        "rounds": state["round"],
        "score": verdict["score"] if verdict else None,
        "passed": is_accepted(verdict, context.threshold) if verdict else None,
        "draft": chosen["draft"],
    }
    message = AIMessage(content=f"{chosen['draft']}\n\n({note})", name=REPLY_NAME)
    return {"outcome": outcome, "messages": [message]}


_Choice = tuple[
    Literal["passed", "revised", "limit", "judge_error"], dict[str, Any], dict[str, Any] | None, str
]
"""How a run ends: its status, the chosen ``{"round", "draft"}``, its verdict, and a note."""


def _choose(state: CritiqueState, context: CritiqueContext) -> _Choice:
    """The draft a finished run returns, the verdict it got and why it was chosen."""
    last_draft = state["drafts"][-1]
    latest = {"round": last_draft["round"], "draft": last_draft["text"]}
    verdicts = state.get("verdicts", [])
    best = state.get("best")
    best_choice = {"round": best["round"], "draft": best["draft"]} if best else latest
    if state.get("judge_error"):
        error = f"the judge's verdict on round {latest['round']} was invalid "
        error += f"({state['judge_error']})"
        if best is None:
            note = f"Stopped: {error}; returning round {latest['round']}, which nobody reviewed."
            return "judge_error", latest, None, note
        note = f"Stopped: {error}; returning the best judged draft, round {best['round']} "
        note += f"(score {best['verdict']['score']:.2f})."
        return "judge_error", best_choice, best["verdict"], note
    last_verdict = verdicts[-1] if verdicts else None
    if last_verdict is None or last_verdict["round"] != latest["round"]:
        first = verdicts[-1]  # single mode: the revision was not judged again
        note = (
            f"Revised once after review (round {first['round']} scored {first['score']:.2f}, "
            f"not passed); the revision (round {latest['round']}) was not reviewed again."
        )
        return "revised", latest, None, note
    if is_accepted(last_verdict, context.threshold):
        note = f"Passed review in round {latest['round']} (score {last_verdict['score']:.2f})."
        return "passed", latest, last_verdict, note
    assert best is not None  # the latest draft was judged, so a best one exists
    note = (
        f"No draft passed review in {state['round']} round(s) (threshold "
        f"{context.threshold:.2f}); returning the best, round {best['round']} "
        f"(score {best['verdict']['score']:.2f})."
    )
    return "limit", best_choice, best["verdict"], note


# -- routing ---------------------------------------------------------------------------------


def route_after_judge(
    state: CritiqueState, *, runtime: Runtime[CritiqueContext]
) -> Literal["revise", "finish"]:
    """Finish when accepted, out of rounds or steps, or after the single review; else revise.

    An invalid verdict (``judge_error``) finishes too.
    """
    context = context_as(runtime, CritiqueContext)
    if state.get("judge_error"):
        return "finish"
    if is_accepted(state["verdicts"][-1], context.threshold):
        return "finish"
    if context.mode == "single":
        return "revise" if state["round"] == 1 else "finish"
    if state["round"] >= context.max_rounds:
        return "finish"
    if state.get("remaining_steps", _FINISH_HEADROOM + 1) <= _FINISH_HEADROOM:
        return "finish"
    return "revise"


def route_after_revise(
    state: CritiqueState, *, runtime: Runtime[CritiqueContext]
) -> Literal["judge", "finish"]:
    """Single mode returns the revision; iterate mode has it judged."""
    return "finish" if context_as(runtime, CritiqueContext).mode == "single" else "judge"


# -- the graph -------------------------------------------------------------------------------


def build_critique_graph(
    model: BaseChatModel | None = None,
    judge: BaseChatModel | None = None,
    *,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "critique",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledStateGraph[CritiqueState, CritiqueContext, AgentInput, CritiqueState]:
    """Build the critique graph (generator and judge; review-and-revise or iterate).

    Args:
        model: the generator (role `WRITER_ROLE`); None resolves ``context.model`` per run
            (the offline demo model when no API key is configured; a run on it plays the
            stand-ins registered for the roles, given the declared inputs).
        judge: the judge (role `JUDGE_ROLE`), asked for a `Verdict`
            (`nodes.ask.ask_structured`); None uses ``context.judge_model``, or the
            generator when that is empty.
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``; None for
            stateless runs, or when a server provides its own.
        store: shorthand for the runtime's long-term memory store (``runtime.store`` in nodes).
        name: graph name (traces, composition, the ``graph_id`` checkpoint tag).
        recursion_limit: hard cap on super-steps per run; with a lower cap than the rounds
            need, the run finishes early with the best draft instead of failing.

    Returns:
        The compiled graph. Input ``{"messages": [...]}`` (the request is the latest human
        message); context `CritiqueContext`; the answer is the last message, details in
        ``outcome``, ``best``, ``drafts`` and ``verdicts``.
    """
    builder = StateGraph(CritiqueState, context_schema=CritiqueContext, input_schema=AgentInput)
    builder.add_node("generate", make_generate(model), retry_policy=MODEL_RETRY)
    builder.add_node("judge", make_judge_draft(judge, model), retry_policy=MODEL_RETRY)
    builder.add_node("revise", make_revise(model), retry_policy=MODEL_RETRY)
    builder.add_node("finish", finish)
    builder.add_edge(START, "generate")
    builder.add_edge("generate", "judge")
    builder.add_conditional_edges("judge", route_after_judge)
    builder.add_conditional_edges("revise", route_after_revise)
    builder.add_edge("finish", END)
    return compile_pattern(
        builder,
        runtime=PatternRuntime.of(runtime, checkpointer=checkpointer, store=store),
        name=name,
        recursion_limit=recursion_limit,
    )


from demo.critique_stand_ins import register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {"runtime": PatternRuntime.served()}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_critique_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
