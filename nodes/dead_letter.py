"""Write a dead letter for a failure: the thread's facts, the error and its class.

The one writer every source uses: a run driven in process (`ops.dead_letters`), a failed
worker run (`workers.dead_letter`), a poison event of the fraud consumer (`workers.events`)
and the sweep of failed runs nobody recorded (`ops.dead_letter_sweep`). The table is
`checkpointers.dead_letters`; the class is `nodes.error_classes.classify`'s.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.dead_letters import DeadLetter, DeadLetterStore
from nodes.error_classes import classify

__all__ = ["record_failure", "thread_facts"]


def thread_facts(
    checkpointer: BaseCheckpointSaver | None, thread_id: str | None
) -> dict[str, str | None]:
    """The thread's last checkpoint id, graph id and owner (None where unknown)."""
    facts: dict[str, str | None] = {"checkpoint_id": None, "graph_id": None, "owner": None}
    if checkpointer is None or not thread_id:
        return facts
    latest = checkpointer.get_tuple({"configurable": {"thread_id": thread_id}})
    if latest is None:
        return facts
    metadata = latest.metadata or {}
    facts["checkpoint_id"] = str(latest.config["configurable"].get("checkpoint_id") or "") or None
    facts["graph_id"] = _text(metadata.get("graph_id"))
    facts["owner"] = _text(metadata.get("owner") or metadata.get("user_id"))
    return facts


def _text(value: Any) -> str | None:
    return str(value) if value else None


def record_failure(
    store: DeadLetterStore,
    exc: BaseException | None,
    *,
    source: str,
    thread_id: str | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    graph_id: str | None = None,
    owner: str | None = None,
    attempts: int = 1,
    error: str | None = None,
    error_class: str | None = None,
    payload: str | None = None,
) -> DeadLetter:
    """Write a letter for a failure (see `ops.dead_letters` for when one is written).

    Args:
        store: the dead-letter table.
        exc: the failure (its class and message are kept), or None with `error`.
        source: ``in_process``, ``worker`` or ``event``.
        thread_id: the failed thread (None: a message that never became one).
        checkpointer: where to read the thread's last checkpoint, graph and owner.
        graph_id: the graph, when the checkpoint does not say.
        owner: the thread's owner, when the checkpoint does not say.
        attempts: the attempts made before giving up.
        error: the message when there is no exception (or to replace its text).
        error_class: the class when there is no exception.
        payload: the raw message of a poison event.
    """
    facts = thread_facts(checkpointer, thread_id)
    text = error or (f"{type(exc).__name__}: {exc}" if exc is not None else "unknown failure")
    kind = error_class or (_error_class(exc) if exc is not None else "unknown")
    letter = DeadLetter(
        source=source,
        thread_id=thread_id,
        graph_id=facts["graph_id"] or graph_id,
        owner=facts["owner"] or owner,
        error_class=kind,
        error=text,
        checkpoint_id=facts["checkpoint_id"],
        attempts=max(int(attempts), 1),
        payload=payload,
    )
    return store.add(letter)


def _error_class(exc: BaseException) -> str:
    """The failure's class as `classify` sees it before the model chain marked it handled."""
    marked = vars(exc).pop("error_class", None) if hasattr(exc, "__dict__") else None
    try:
        return classify(exc)
    finally:
        if marked is not None:
            exc.error_class = marked  # type: ignore[attr-defined]
