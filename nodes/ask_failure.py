"""A structured ask whose failure is data: the patterns that report a failing model, not raise.

Debate perspectives, research workers and the like keep going when one model fails: the
failure is recorded and reported. `ask_or_failure` is `nodes.ask.ask_structured` with that
policy in one place: interrupts and the controls' stops (`nodes.run_stop.RunStopped`)
propagate, any other exception becomes the one-line ``"the <role> failed: <error>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langgraph.errors import GraphBubbleUp
from pydantic import BaseModel

from nodes.ask import InvalidOutput, ask_structured, describe_error
from nodes.run_stop import RunStopped

__all__ = ["ask_or_failure"]

M = TypeVar("M", bound=BaseModel)


def ask_or_failure(
    model: BaseChatModel,
    prompt: Sequence[BaseMessage],
    schema: type[M],
    *,
    role: str,
    label: str,
    hint: str = "",
) -> M | InvalidOutput[M] | str:
    """`ask_structured`, with a model that raises turned into a one-line failure text.

    Args:
        model: the chat model.
        prompt: the messages.
        schema: the structured output's model.
        role: the model's role (usage, budgets, fallbacks; and the failure text).
        label: what the answer is, for the re-ask.
        hint: extra guidance for the re-ask.

    Returns:
        The answer, the `InvalidOutput` of an answer still invalid after the re-ask, or
        ``"the <role> failed: <error>"``.
    """
    try:
        return ask_structured(model, prompt, schema, role=role, label=label, hint=hint)
    except (RunStopped, GraphBubbleUp):
        raise
    except Exception as exc:  # noqa: BLE001 - a failing model is the caller's data
        return f"the {role} failed: {describe_error(exc)}"
