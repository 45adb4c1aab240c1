"""What a failed tool call becomes: the classed error message, retry settings, the fixable bound.

The tool node (`nodes.tool_execution`) classifies every failure with
`nodes.error_classes.classify` and answers the call with one error `ToolMessage` marked with
its class in ``additional_kwargs["error_class"]`` (a field that survives checkpoints):

- ``fixable`` (invalid arguments, an unknown tool, a ``ToolException``): the error, for the
  model to correct; `enforce_fixable_bound` stops the run once a tool has had
  ``Controls.max_fixable_errors`` of them in the current turn;
- ``retriable`` (once its retries are spent) and ``fallback``: the tool is unavailable (its
  declared fallback tool answers instead, when there is one);
- ``terminal`` (permission, authentication, not found): the action cannot be done; it is
  not retried.

`retry_settings_for` says how a tool's retriable failures are retried: per tool in
``Controls.tool_retry``, else the tool's ``metadata["retry"]``, else ``Controls.model_retry``;
a tool that is neither read-only nor idempotent gets one attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.prebuilt.tool_node import ToolInvocationError
from pydantic import ValidationError

from nodes.controls import Controls, RetrySettings
from nodes.error_classes import CircuitOpenError, ErrorClass, describe_failure
from nodes.run_stop import RunStopped
from tools.registry import is_idempotent

__all__ = [
    "ERROR_CLASS_KEY",
    "FALLBACK_FROM_KEY",
    "TOOL_RETRY_KEY",
    "TOOL_FALLBACK_KEY",
    "ToolFailure",
    "ToolGaveUp",
    "enforce_fixable_bound",
    "error_message",
    "failure_message",
    "fixable_errors",
    "retry_settings_for",
]

ERROR_CLASS_KEY = "error_class"
"""``additional_kwargs`` key of an error `ToolMessage`: the failure's class."""

FALLBACK_FROM_KEY = "fallback_from"
"""``additional_kwargs`` key of a message a fallback tool wrote: the tool that failed."""

TOOL_RETRY_KEY = "retry"
"""Tool metadata key: the tool's `RetrySettings` (or a dict of its fields)."""

TOOL_FALLBACK_KEY = "fallback_tool"
"""Tool metadata key: the name of the tool that answers when this one is unavailable."""


class ToolGaveUp(TimeoutError):
    """The tool outlived its timeout; its thread is abandoned (retriable: may be retried)."""


@dataclass(frozen=True)
class ToolFailure:
    """A tool call that failed after its retries.

    Attributes:
        exc: the last failure.
        error_class: its class (``classify``; ``terminal`` for a refused result).
        ran: whether the tool itself returned (its result was refused afterwards).
        limit: the call's timeout in seconds, if any.
    """

    exc: Exception
    error_class: ErrorClass
    ran: bool = False
    limit: float | None = None

    @property
    def unavailable(self) -> bool:
        """Whether a fallback tool may answer instead (retriable or fallback, never ran)."""
        return not self.ran and self.error_class in ("retriable", "fallback")


def error_message(call: ToolCall, text: str, error_class: ErrorClass | None = None) -> ToolMessage:
    """An error `ToolMessage` answering `call`, marked with its class when given."""
    extra = {ERROR_CLASS_KEY: error_class} if error_class else {}
    return ToolMessage(
        content=text,
        tool_call_id=call["id"] or "",
        name=call["name"],
        status="error",
        additional_kwargs=extra,
    )


def _invalid_arguments(exc: ToolInvocationError | ValidationError) -> str:
    errors = exc.filtered_errors if isinstance(exc, ToolInvocationError) else exc.errors()
    source = exc.source if isinstance(exc, ToolInvocationError) else exc
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
        for e in (errors if errors is not None else source.errors())
    )


def failure_message(call: ToolCall, failure: ToolFailure) -> ToolMessage:
    """The error message the model reads for a failed call (see the module docs)."""
    name, exc, kind = call["name"], failure.exc, failure.error_class
    if failure.ran:  # the tool returned; what it returned was refused
        text = (
            f"Error: {name} ran, but its result was refused, so its update was not applied: {exc}"
        )
        return error_message(call, text)
    if isinstance(exc, ToolInvocationError | ValidationError):
        problems = _invalid_arguments(exc)
        text = f"Error: invalid arguments for {name}: {problems}. Fix them and retry."
    elif isinstance(exc, CircuitOpenError):
        text = (
            f"Error: {name} is temporarily unavailable (it failed repeatedly; it will be "
            f"tried again in about {max(exc.retry_in_s, 0):.0f}s). Do not call it again now."
        )
    elif isinstance(exc, ToolGaveUp):
        text = (
            f"Error: {name} did not finish within {failure.limit or 0:g}s; gave up waiting. "
            "Its outcome is unknown."
        )
    elif kind == "terminal":
        text = (
            f"Error: {name} cannot do this: {describe_failure(exc)}. Retrying will not help; "
            "tell the user it cannot be done."
        )
    else:
        text = f"Error: {name} failed: {type(exc).__name__}: {exc}"
    return error_message(call, text, kind)


def _settings_from_metadata(tool: BaseTool) -> RetrySettings | None:
    raw = (tool.metadata or {}).get(TOOL_RETRY_KEY)
    if raw is None or isinstance(raw, RetrySettings):
        return raw
    if isinstance(raw, Mapping):
        known = {f.name for f in fields(RetrySettings)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"tool {tool.name!r}: unknown retry settings {unknown}")
        return RetrySettings(**raw)
    raise ValueError(f"tool {tool.name!r}: metadata['retry'] must be RetrySettings or a dict")


def retry_settings_for(
    tool: BaseTool, controls: Controls, *, attempts: int | None = None
) -> RetrySettings:
    """How the tool's retriable failures are retried (see the module docs).

    Args:
        tool: the tool.
        controls: the run's controls.
        attempts: overrides the attempts (a caller's explicit choice).
    """
    settings = (
        controls.tool_retry.get(tool.name) or _settings_from_metadata(tool) or controls.model_retry
    )
    if not is_idempotent(tool):
        return replace(settings, max_attempts=1)
    if attempts is not None:
        return replace(settings, max_attempts=max(attempts, 1))
    return settings


def fixable_errors(messages: Iterable[BaseMessage], tool_name: str) -> int:
    """The fixable errors of `tool_name` among the messages of the current turn.

    The turn starts after the latest `HumanMessage`; pass the whole conversation.
    """
    turn: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turn.clear()
        else:
            turn.append(message)
    return sum(
        1
        for m in turn
        if isinstance(m, ToolMessage)
        and m.name == tool_name
        and m.additional_kwargs.get(ERROR_CLASS_KEY) == "fixable"
    )


def enforce_fixable_bound(
    tool_name: str,
    produced: Sequence[BaseMessage],
    seen: Sequence[BaseMessage],
    limit: int,
    *,
    partial: Sequence[BaseMessage] = (),
) -> None:
    """Stop the run when a tool's new fixable error goes over the turn's bound.

    Args:
        tool_name: the tool whose call just produced `produced`.
        produced: the messages of that call.
        seen: the conversation before that call (state, and this node's earlier results).
        limit: ``Controls.max_fixable_errors``.
        partial: the results this node produced before that call (kept in the wrap-up).

    Raises:
        RunStopped: ``kind="fixable_limit"`` when the tool had `limit` fixable errors in
            this turn already and the call produced another.
    """
    fresh = fixable_errors(produced, tool_name)
    if not fresh:
        return
    before = fixable_errors(seen, tool_name)
    if before < limit:
        return
    reason = (
        f"the model called {tool_name} with invalid arguments {before + fresh} times in this "
        f"turn (max_fixable_errors={limit})"
    )
    detail: dict[str, Any] = {"tool": tool_name, "errors": before + fresh, "limit": limit}
    detail["error_class"] = "fixable"
    raise RunStopped(reason, kind="fixable_limit", detail=detail, partial=list(partial))
