"""Reading the runtime context the same way in every node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from state.context import AgentContext

__all__ = ["AgentNode", "agent_context"]

AgentNode = Callable[..., dict[str, Any]]
"""A node function: ``(state, *, runtime) -> partial state update``."""


def agent_context(runtime: Runtime[Any] | None) -> AgentContext:
    """The run's `AgentContext`, or the defaults when the caller passed none."""
    context = runtime.context if runtime is not None else None
    if context is None:
        return AgentContext()
    if isinstance(context, AgentContext):
        return context
    if isinstance(context, dict):
        return AgentContext(**context)
    return context  # a subclass-compatible object supplied by a composed pattern
