"""Fan-in of the parallel pattern: the quorum, then synthesis, a vote or the best of the outputs.

**Quorum.** Only ``done`` branches count; a ``failed`` or ``timed_out`` one is reported in the
final message and in ``branch_results``. With fewer than ``quorum`` successful branches the
run ends without aggregating (status ``below_quorum``), saying which branches failed and why.

**synthesis.** The synthesizer (role `state.parallel.SYNTHESIZER_ROLE`, `nodes.ask.ask_text`)
reads every branch's output (and which ones failed) and writes the answer. An empty answer
ends the run with status ``invalid_output``.

**vote.** Each successful output is normalised (`normalize_answer`: case-folded, surrounding
quotes and trailing punctuation removed, runs of white space made one space) and the
normalised answers are counted. The answer with most votes wins; **ties go to the answer whose
first voter comes earliest in the declared branch order**. The confidence is the winner's
share of the successful branches' votes; the distribution (which branches gave which answer)
is in ``votes``. The answer given is the winning branch's own (un-normalised) output. Free
text that cannot be compared this way should be reduced to a label by the branches
themselves (an instruction such as "answer with one word") or with a custom `normalize`.

**best_of.** The judge (role `state.parallel.JUDGE_ROLE`, `nodes.ask.ask_structured` with
`state.parallel.Score`) scores each successful output on its own, in declared order. The
highest score wins; **ties go to the branch declared first**. A judge that gives no valid
`Score` (after the re-ask of the invalid-output policy) ends the run with status
``invalid_output`` and the reason; no output is picked blindly.

**A failing synthesizer or judge.** A call that still fails after the controls' retries and
fallbacks (`nodes.model_chain`) ends the run the same way (status ``invalid_output``), with
the error and every branch's findings in the final message, so the branches' work is not
lost. A control's stop (`nodes.run_stop.RunStopped`: a budget, a terminal error) is left to
the graph's guard, which ends the run with its own message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from nodes.ask import InvalidOutput, ask_structured, ask_text, describe_error
from nodes.context import context_as
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.run_stop import RunStopped
from state.context import AgentContext
from state.parallel import (
    JUDGE_ROLE,
    SYNTHESIZER_ROLE,
    Aggregation,
    BranchResult,
    JudgeInputs,
    ParallelState,
    Score,
    SynthesizerInputs,
)

__all__ = [
    "JUDGE_PROMPT",
    "SYNTHESIS_PROMPT",
    "Aggregator",
    "branch_report",
    "normalize_answer",
    "tally_votes",
    "vote_winner",
]

SYNTHESIS_PROMPT = (
    "Several specialists worked on the same request independently. Combine their findings "
    "into one answer: say what they agree on, weigh what they disagree on, and mention any "
    "specialist whose work failed."
)
"""The synthesizer's default instructions."""

JUDGE_PROMPT = (
    "You judge one answer to a request. Score how correct, complete and useful it is, from 0 "
    "(useless) to 1 (fully answers it), with a one-sentence reason."
)
"""The judge's instructions."""

Results = Mapping[str, BranchResult]

_TRAILING = re.compile(r"[\s.!?;:,]+$")
_QUOTES = "\"'`“”‘’"


def normalize_answer(text: str) -> str:
    """The form a vote counts: case-folded, unquoted, no trailing punctuation, single spaces.

    Example:
        >>> normalize_answer('  "Paris."  ') == normalize_answer("paris")
        True
    """
    folded = " ".join(text.casefold().split())
    return _TRAILING.sub("", folded.strip(_QUOTES + " ")).strip(_QUOTES + " ")


def tally_votes(results: Results, normalize: Callable[[str], str]) -> dict[str, list[str]]:
    """The successful branches behind each normalised answer, in declared order."""
    votes: dict[str, list[str]] = {}
    for name, result in results.items():
        if result["status"] == "done":
            votes.setdefault(normalize(result["output"]), []).append(name)
    return votes


def vote_winner(votes: Mapping[str, list[str]]) -> str:
    """The answer with most votes; a tie goes to the answer whose first voter is declared first.

    `votes` lists answers in the order of their first voter (what `tally_votes` returns), so
    the first answer with the highest count wins.
    """
    return max(votes, key=lambda answer: len(votes[answer]))


def branch_report(results: Results) -> str:
    """One line per branch: its name, status and, unless done, why."""
    lines = ["Branches:"]
    for name, result in results.items():
        line = f"- {name}: {result['status']}"
        if result.get("error"):
            line += f" - {result['error']}"
        lines.append(line)
    return "\n".join(lines)


def _findings(request: str, results: Results) -> str:
    parts = [f"Request: {request}", "", "Findings:"]
    for name, result in results.items():
        body = result["output"] if result["status"] == "done" else f"({result['error']})"
        parts.append(f"[{name}] {result['status']}: {body}")
    return "\n".join(parts)


@dataclass(frozen=True)
class Aggregator:
    """The fan-in node: checks the quorum and aggregates the branch results.

    Attributes:
        mode: ``synthesis``, ``vote`` or ``best_of``.
        quorum: the fewest successful branches that may be aggregated.
        synthesizer: the synthesizer's model (None: ``context.model``).
        judge: the judge's model (None: ``context.model``).
        instructions: the synthesizer's system prompt.
        normalize: how a vote's answers are made comparable.
        name: the graph's name, carried by the final message.
    """

    mode: Aggregation
    quorum: int
    synthesizer: BaseChatModel | None = None
    judge: BaseChatModel | None = None
    instructions: str = SYNTHESIS_PROMPT
    normalize: Callable[[str], str] = normalize_answer
    name: str = "parallel"

    def __call__(self, state: ParallelState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Aggregate, or end below the quorum; always ends with an AI message."""
        context = context_as(runtime, AgentContext)
        results = state.get("branch_results") or {}
        done = [name for name, r in results.items() if r["status"] == "done"]
        if len(done) < self.quorum:
            text = (
                f"Only {len(done)} of {len(results)} branches succeeded and at least "
                f"{self.quorum} are needed, so there is no answer.\n{branch_report(results)}"
            )
            return self._end(text, status="below_quorum")
        request = latest_human_text(state["messages"])
        try:
            if self.mode == "vote":
                return self._vote(results, len(done))
            if self.mode == "best_of":
                return self._best_of(request, results, context.model)
            return self._synthesis(request, results, context.model)
        except (GraphBubbleUp, RunStopped):
            raise  # interrupts, and the controls' clean stop (the graph's guard ends the run)
        except Exception as exc:  # noqa: BLE001 - a model failing after retries and fallbacks
            who = "judge" if self.mode == "best_of" else "synthesizer"
            reason = f"the {who} failed: {describe_error(exc)}"
            text = f"No answer: {reason}.\n{_findings(request, results)}"
            record = {"role": who, "reason": reason}
            return self._end(text, status="invalid_output", invalid_output=record)

    def _end(self, text: str, **update: Any) -> dict[str, Any]:
        return {**update, "messages": [AIMessage(text, name=self.name)]}

    def _vote(self, results: Results, voters: int) -> dict[str, Any]:
        votes = tally_votes(results, self.normalize)
        answer = vote_winner(votes)
        winner = votes[answer][0]
        confidence = len(votes[answer]) / voters
        lines = [f"- {a!r}: {len(names)} ({', '.join(names)})" for a, names in votes.items()]
        text = (
            f"{results[winner]['output']}\n\nVote: {len(votes[answer])} of {voters} successful "
            f"branches agree (confidence {confidence:.0%}).\n" + "\n".join(lines)
        )
        return self._end(
            f"{text}\n{branch_report(results)}",
            status="answered",
            winner=winner,
            confidence=confidence,
            votes=votes,
        )

    def _best_of(self, request: str, results: Results, spec: str) -> dict[str, Any]:
        scores: dict[str, Score] = {}
        for name, result in results.items():
            if result["status"] != "done":
                continue
            inputs = JudgeInputs(request=request, branch=name, output=result["output"])
            judge = resolve_model(self.judge, spec, role=JUDGE_ROLE, inputs=inputs)
            prompt = [
                SystemMessage(JUDGE_PROMPT),
                HumanMessage(f"Request: {request}\n\nAnswer ({name}):\n{result['output']}"),
            ]
            scored = ask_structured(judge, prompt, Score, role="judge", label="score")
            if isinstance(scored, InvalidOutput):
                text = f"No answer was picked: {scored.reason}.\n{branch_report(results)}"
                return self._end(text, status="invalid_output", invalid_output=scored.record())
            scores[name] = scored
        winner = max(scores, key=lambda name: scores[name].score)  # first declared wins ties
        best = scores[winner]
        ranking = ", ".join(f"{name} {score.score:.2f}" for name, score in scores.items())
        text = (
            f"{results[winner]['output']}\n\nBest of {len(scores)}: {winner} scored "
            f"{best.score:.2f} ({best.reason or 'no reason given'}). Scores: {ranking}.\n"
            f"{branch_report(results)}"
        )
        return self._end(
            text,
            status="answered",
            winner=winner,
            confidence=best.score,
            scores={name: score.model_dump(mode="json") for name, score in scores.items()},
        )

    def _synthesis(self, request: str, results: Results, spec: str) -> dict[str, Any]:
        inputs = SynthesizerInputs(request=request, results=dict(results))
        model = resolve_model(self.synthesizer, spec, role=SYNTHESIZER_ROLE, inputs=inputs)
        prompt = [SystemMessage(self.instructions), HumanMessage(_findings(request, results))]
        answer = ask_text(model, prompt, role="synthesizer").strip()
        if not answer:
            reason = "the synthesizer gave an empty answer"
            text = f"No answer was written: {reason}.\n{branch_report(results)}"
            record = {"role": "synthesizer", "reason": reason}
            return self._end(text, status="invalid_output", invalid_output=record)
        return self._end(f"{answer}\n\n{branch_report(results)}", status="answered")
