"""One path for model calls: `invoke_model`, `ask_text` and `ask_structured`.

Every model call a pattern makes goes through `invoke_model`: the tool-calling model node
(`nodes.model_call.make_call_model`), text answers (`ask_text`) and structured answers
(`ask_structured`). Token accounting, budgets, timeouts, retries, fallbacks and circuit
breakers happen there (`nodes.model_chain`), for every pattern.

**The policy for invalid structured output.** A structured answer that does not fit its
schema (a field missing or off its range, no call of the schema at all, arguments that do not
parse) is asked for again with the validation error appended to the prompt, at most
``max_reasks`` times (default 1). If it is still invalid, `ask_structured` returns an
`InvalidOutput` (role, schema, attempts, every error, a one-line ``reason``) instead of raising;
the caller turns it into its clean ending and records the reason in state. A caller where a
fallback is legitimate says so with ``on_invalid="fallback"`` and a ``fallback`` value: the
`InvalidOutput` then carries that value too, and its record says the run fell back to it. Errors
of the call itself (network, throttling) are not invalid output: they are retried, fall back
or stop the run (`nodes.model_chain`).

Example:
    >>> from pydantic import BaseModel, Field
    >>> from models.scripted import ScriptedChatModel
    >>> class Mood(BaseModel):
    ...     score: float = Field(ge=0, le=1)
    >>> model = ScriptedChatModel(replies=[{"score": 7}, {"score": 0.7}])
    >>> ask_structured(model, [("user", "How are you?")], Mood, role="mood")
    Mood(score=0.7)
    >>> "score: Input should be less than or equal to 1" in model.calls[1].last_text
    True
    >>> answer = ask_structured(ScriptedChatModel(replies=[{}], cycle=True), ["Hi"], Mood)
    >>> answer.reason
    'the model gave no valid Mood in 2 attempts (ValidationError: score: Field required)'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.utils import MessageLikeRepresentation, convert_to_messages
from langchain_core.runnables import Runnable
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel, ValidationError

from nodes.model_chain import Rebind, call_model_chain, model_label
from nodes.run_budget import record_model_call
from nodes.run_stop import RunStopped
from nodes.usage import find_chat_model, record_usage
from observability.events import emit
from observability.timing import clock, elapsed, error_name

__all__ = [
    "DEFAULT_MAX_REASKS",
    "InvalidOutput",
    "OnInvalid",
    "ask_structured",
    "ask_text",
    "describe_error",
    "invoke_model",
]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

OnInvalid = Literal["end", "fallback"]
"""What an answer still invalid after the re-asks becomes: the caller's clean ending, or a
fallback value the caller uses (both recorded)."""

DEFAULT_MAX_REASKS = 1
"""Re-asks after an invalid structured answer before giving up (so two attempts in all)."""

_MAX_REASKS = 5


@dataclass(frozen=True)
class InvalidOutput(Generic[M]):
    """A structured answer that stayed invalid after the re-asks: why, and what happens now.

    Attributes:
        role: who was asked (``"judge"``, ``"planner"``), for the reason and the record.
        schema: the schema's name (``"Verdict"``).
        attempts: how many times the model was asked.
        errors: what was wrong with each answer, oldest first.
        on_invalid: ``"end"`` (the caller ends cleanly) or ``"fallback"`` (it uses `fallback`).
        fallback: the value the caller falls back to (``on_invalid="fallback"`` only).
    """

    role: str
    schema: str
    attempts: int
    errors: tuple[str, ...]
    on_invalid: OnInvalid = "end"
    fallback: M | None = None

    @property
    def reason(self) -> str:
        """One line for state, logs and messages: who gave what, how often, the last error."""
        tries = "attempt" if self.attempts == 1 else "attempts"
        last = self.errors[-1] if self.errors else "no answer"
        return f"the {self.role} gave no valid {self.schema} in {self.attempts} {tries} ({last})"

    def use_fallback(self) -> M:
        """The fallback value; only for ``on_invalid="fallback"``."""
        if self.fallback is None:
            raise ValueError(f"no fallback for the {self.role}'s {self.schema} (on_invalid=end)")
        return self.fallback

    def record(self) -> dict[str, Any]:
        """JSON-safe record for state: role, schema, attempts, errors, outcome and reason."""
        fallback = self.fallback.model_dump(mode="json") if self.fallback is not None else None
        return {
            "role": self.role,
            "schema": self.schema,
            "attempts": self.attempts,
            "errors": list(self.errors),
            "outcome": "fallback" if self.on_invalid == "fallback" else "ended",
            "fallback": fallback,
            "reason": self.reason,
        }


def invoke_model(
    runnable: Runnable[LanguageModelInput, Any],
    messages: Sequence[BaseMessage],
    *,
    role: str,
    rebind: Rebind | None = None,
) -> Any:
    """Call a model once: the single place every model call of every pattern goes through.

    The call runs under every cost and failure control (`nodes.model_chain`: run limits and
    caps, timeout, retries, circuit breakers, the fallback chain) and its tokens and cost
    are recorded (`nodes.usage`) and added to the run's tally (`nodes.run_budget`).

    Args:
        runnable: the chat model, or the model with tools bound or a structured-output
            chain on it.
        messages: the prompt.
        role: who is asked (``"agent"``, ``"judge"``, ``"planner"``), for those features.
        rebind: how to build the same call on a fallback model (None: no fallback chain).

    Returns:
        Whatever the runnable returns (an `AIMessage`, or the structured-output dict).

    Raises:
        nodes.run_stop.RunStopped: a budget is reached or a terminal error occurred (the
            graph ends the run cleanly).
    """
    prompt = list(messages)
    model = find_chat_model(runnable)
    started = clock()
    try:
        reply, used = call_model_chain(runnable, prompt, role=role, model=model, rebind=rebind)
    except (GraphBubbleUp, RunStopped):
        raise  # an interrupt, or a stop before or instead of a call (its own event)
    except Exception as exc:
        label = model_label(model).split("#")[0]
        emit(
            "model_call",
            role=role,
            model=label,
            latency_s=elapsed(started),
            success=False,
            error=error_name(exc),
        )
        raise
    row = record_usage(used, prompt, reply, role=role)  # tokens and cost: see nodes.usage
    if row is not None:
        record_model_call(row.total_tokens, row.cost_usd)
        emit(
            "model_call",
            role=role,
            model=row.model,
            latency_s=elapsed(started),
            success=True,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost_usd=row.cost_usd,
        )
    return reply


def _same(model: BaseChatModel) -> Runnable[Any, Any]:
    return model


def ask_text(
    model: BaseChatModel, messages: Sequence[MessageLikeRepresentation], *, role: str
) -> str:
    """Ask `model` for a text answer (no tools).

    Args:
        model: the chat model (already resolved, see `nodes.model_call.resolve_model`).
        messages: the prompt.
        role: who is asked, e.g. ``"writer"``.

    Returns:
        The answer's text (empty when the model said nothing).
    """
    reply = invoke_model(model, convert_to_messages(messages), role=role, rebind=_same)
    return reply.text if isinstance(reply, BaseMessage) else str(reply)


def ask_structured(
    model: BaseChatModel,
    messages: Sequence[MessageLikeRepresentation],
    schema: type[M],
    *,
    role: str = "model",
    on_invalid: OnInvalid = "end",
    fallback: M | None = None,
    max_reasks: int = DEFAULT_MAX_REASKS,
    label: str = "answer",
    hint: str = "",
) -> M | InvalidOutput[M]:
    """Ask `model` for an answer fitting `schema`, under the invalid-output policy.

    An invalid answer is asked for again with its validation error, at most `max_reasks`
    times; an answer still invalid is returned as an `InvalidOutput`, never raised.

    Args:
        model: the chat model (already resolved, see `nodes.model_call.resolve_model`).
        messages: the prompt.
        schema: the pydantic model the answer must fit (bound as a forced tool).
        role: who is asked, e.g. ``"judge"`` (in the reason and the record).
        on_invalid: ``"end"``: the caller ends cleanly with the reason; ``"fallback"``: the
            caller uses `fallback` (required then), and records that it did.
        fallback: the value to fall back to with ``on_invalid="fallback"``.
        max_reasks: how many times an invalid answer is asked for again (0 to 5).
        label: what the re-ask calls the answer ("Your verdict was invalid ...").
        hint: a short description of a valid answer, appended to the re-ask.

    Returns:
        The validated answer, or an `InvalidOutput` saying why there is none.

    Raises:
        ValueError: `max_reasks` out of range, or ``"fallback"`` without a `fallback`.
    """
    if not 0 <= max_reasks <= _MAX_REASKS:
        raise ValueError(f"max_reasks must be between 0 and {_MAX_REASKS}")
    if on_invalid == "fallback" and fallback is None:
        raise ValueError('on_invalid="fallback" needs a fallback value')

    def rebind(chosen: BaseChatModel) -> Runnable[Any, Any]:
        return chosen.with_structured_output(schema, include_raw=True)

    structured = rebind(model)
    prompt = convert_to_messages(messages)
    errors: list[str] = []
    for _ in range(max_reasks + 1):
        result = invoke_model(structured, prompt, role=role, rebind=rebind)
        answer, error = _parse(result, schema)
        if answer is not None:
            return answer
        errors.append(error)
        prompt = [*prompt, HumanMessage(_reask(label, error, hint))]
    invalid = InvalidOutput(
        role=role,
        schema=schema.__name__,
        attempts=len(errors),
        errors=tuple(errors),
        on_invalid=on_invalid,
        fallback=fallback if on_invalid == "fallback" else None,
    )
    logger.warning(
        "invalid structured output: %s (%s)", invalid.reason, invalid.record()["outcome"]
    )
    return invalid


def describe_error(exc: BaseException) -> str:
    """A short, one-line description of what was wrong with an answer (for the re-ask)."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()[:5]
        ]
        return f"ValidationError: {'; '.join(parts)}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {' '.join(lines[:3])}"[:500]


def _parse(result: Any, schema: type[M]) -> tuple[M | None, str]:
    """The answer in a structured-output result (``include_raw=True``), or what is wrong."""
    if not isinstance(result, dict):  # a model whose structured output ignores include_raw
        result = {"parsed": result, "parsing_error": None, "raw": None}
    error = result.get("parsing_error")
    if error is not None:
        return None, describe_error(error)
    parsed = result.get("parsed")
    if parsed is None:
        raw = result.get("raw")
        said = f": it said {raw.text[:200]!r}" if isinstance(raw, AIMessage) and raw.text else ""
        return None, f"NoStructuredAnswer: the reply did not call {schema.__name__}{said}"
    if isinstance(parsed, schema):
        return parsed, ""
    try:
        return schema.model_validate(parsed), ""
    except ValidationError as exc:
        return None, describe_error(exc)


def _reask(label: str, error: str, hint: str) -> str:
    text = f"Your {label} was invalid ({error}). Answer again with a valid {label}"
    return f"{text}: {hint}" if hint else f"{text}."
