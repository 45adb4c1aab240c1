"""Reading the runtime context the same way in every node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from langgraph.runtime import Runtime

from state.context import AgentContext

__all__ = ["AgentNode", "agent_context", "context_as"]

AgentNode = Callable[..., dict[str, Any]]
"""A node function: ``(state, *, runtime) -> partial state update``."""

C = TypeVar("C", bound=AgentContext)


def agent_context(runtime: Runtime[Any] | None) -> AgentContext:
    """The run's `AgentContext`, or the defaults when the caller passed none."""
    return context_as(runtime, AgentContext)


def context_as(runtime: Runtime[Any] | None, cls: type[C]) -> C:
    """The run's context as `cls` (a dict or a base context is converted), or its defaults."""
    context = runtime.context if runtime is not None else None
    if context is None:
        return cls()
    if isinstance(context, cls):
        return context
    if isinstance(context, dict):
        return cls(**context)
    if isinstance(context, AgentContext):  # a base context given to a richer graph
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in vars(context).items() if k in fields})
    raise TypeError(f"Expected {cls.__name__} (or a dict), got {type(context).__name__}")
