"""The loop's stop check: a Python predicate, or a judge returning a `LoopVerdict`.

A predicate is any callable ``until(output, state)``; it returns a bool (pass or not) or a
`state.loop.LoopVerdict` (to give the next round feedback). A judge is a chat model asked for
a `LoopVerdict` through `nodes.ask.ask_structured` (role `state.loop.JUDGE_ROLE`); an invalid
verdict is asked for again once, and still invalid it is an `InvalidOutput` the graph turns into
a clean ending.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage

from nodes.ask import InvalidOutput, ask_structured
from nodes.model_call import resolve_model
from state.loop import JUDGE_ROLE, JudgeInputs, LoopContext, LoopVerdict

__all__ = ["VERDICT_HINT", "StopPredicate", "ask_judge", "predicate_verdict"]

StopPredicate = Callable[[str, Mapping[str, Any]], "bool | LoopVerdict"]
"""``until(output, state) -> bool | LoopVerdict``: whether a round's output passes."""

VERDICT_HINT = "passes true or false, reason a sentence, remaining_issues a list of strings."
"""What a valid verdict looks like, for the re-ask after an invalid one."""


def predicate_verdict(until: StopPredicate, output: str, state: Mapping[str, Any]) -> LoopVerdict:
    """Apply a stop predicate to a round's output; a bool becomes a verdict without issues.

    Raises:
        TypeError: the predicate returned neither a bool nor a `LoopVerdict`.
    """
    answer = until(output, state)
    if isinstance(answer, LoopVerdict):
        return answer
    if isinstance(answer, bool):
        reason = "the stop condition holds" if answer else "the stop condition does not hold yet"
        return LoopVerdict(passes=answer, reason=reason, remaining_issues=[])
    raise TypeError(
        f"the loop's stop predicate must return a bool or a LoopVerdict, got {answer!r}"
    )


def _judge_model(
    judge: BaseChatModel | None,
    model: BaseChatModel | None,
    context: LoopContext,
    inputs: JudgeInputs,
    role: str,
) -> BaseChatModel:
    """The judge: as given, else ``context.judge_model``, else the loop's model."""
    if judge is not None or context.judge_model:
        return resolve_model(judge, context.judge_model, role=role, inputs=inputs)
    return resolve_model(model, context.model, role=role, inputs=inputs)


def ask_judge(
    judge: BaseChatModel | None,
    model: BaseChatModel | None,
    context: LoopContext,
    inputs: JudgeInputs,
    *,
    role: str = JUDGE_ROLE,
) -> LoopVerdict | InvalidOutput[LoopVerdict]:
    """Ask the judge for a `LoopVerdict` on a round's output (one re-ask if invalid).

    Args:
        judge: the judge given to the graph; None uses ``context.judge_model``, else `model`.
        model: the loop's model; None resolves ``context.model``.
        context: the run's settings (the judge's prompt and model spec).
        inputs: the request, the output and the round (also the stand-in's inputs).
        role: the judge's role (`state.loop.judge_role` of the loop's body), which picks its
            offline stand-in on the demo model.
    """
    prompt: list[AnyMessage] = [
        SystemMessage(context.judge_prompt),
        HumanMessage(
            f"Request:\n{inputs['request']}\n\n"
            f"Answer (round {inputs['round']}):\n{inputs['output']}"
        ),
    ]
    return ask_structured(
        _judge_model(judge, model, context, inputs, role),
        prompt,
        LoopVerdict,
        role="judge",
        label="verdict",
        hint=VERDICT_HINT,
    )
