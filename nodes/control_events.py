"""What the controls report while a node runs: the stream, and records kept in state.

`emit_event` sends a control's event (a retry, a fallback switch, a trimmed context window)
to the run's ``custom`` stream as ``{"control": kind, ...}``, where Studio, the SDK
(``stream_mode="custom"``) and ``graph.stream(..., stream_mode="custom")`` show it. Events
marked ``keep`` (fallback switches) are also collected for the node that is running and
written to the ``fallbacks`` state field when the node succeeds (`collect_events`, used by
the node guard every pattern is compiled with), so they are saved with the node's result and
dropped with a failed attempt, like its usage.

Example:
    >>> with collect_events() as kept:
    ...     sent = emit_event("fallback", {"from_model": "a", "to_model": "b"}, keep=True)
    >>> kept[0]["control"], kept[0]["to_model"]
    ('fallback', 'b')
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from langgraph.config import get_stream_writer

__all__ = ["FALLBACKS_CHANNEL", "collect_events", "emit_event", "keep_records"]

FALLBACKS_CHANNEL = "fallbacks"
"""The state field fallback switches are recorded in (`state.agent.AgentState`)."""

_kept: ContextVar[list[dict[str, Any]] | None] = ContextVar("agent_patterns_kept", default=None)


def emit_event(kind: str, record: dict[str, Any], *, keep: bool = False) -> dict[str, Any]:
    """Report a control's event to the stream (and keep it for state when `keep`).

    Args:
        kind: ``"fallback"``, ``"retry"``, ``"context_window"``, ...
        record: JSON-safe facts.
        keep: also record it in the running node's state update.

    Returns:
        The event as sent (``control`` and ``at`` added).
    """
    event = {"control": kind, **record, "at": datetime.now(UTC).isoformat()}
    try:
        get_stream_writer()(event)
    except Exception:  # noqa: BLE001 - outside a run, or a stream that is gone: still counted
        pass
    kept = _kept.get()
    if keep and kept is not None:
        kept.append(event)
    return event


def keep_records(records: Any) -> None:
    """Keep records made elsewhere (a sub-agent's fallbacks) for the running node's update."""
    kept = _kept.get()
    if kept is not None and isinstance(records, list):
        kept.extend(record for record in records if isinstance(record, dict))


@contextmanager
def collect_events() -> Iterator[list[dict[str, Any]]]:
    """Collect the kept events of the code run inside (a node's execution)."""
    kept: list[dict[str, Any]] = []
    token = _kept.set(kept)
    try:
        yield kept
    finally:
        _kept.reset(token)
