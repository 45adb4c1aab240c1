"""Retry a failed run from its last good checkpoint, without repeating its side effects.

The thread's graph is resumed with ``graph.invoke(None, config)``: LangGraph continues from
a checkpoint, re-running only the step that did not complete. Which checkpoint:

- a node raised (an error write on the newest checkpoint): the newest checkpoint, so the
  failed step runs again;
- a control stopped the run (a ``run_stop`` record: terminal error, fallbacks exhausted,
  budget): the newest checkpoint of the current branch written *before* the stop, that
  still had work to do (the stop's step is run again; the retry is a new run, so the old
  stop does not apply to it);
- a stuck run (work left, nothing advancing it): the newest checkpoint;
- or the checkpoint the operator names.

Tool calls that already ran are not run again: a step re-run from its checkpoint produces
the same tool-call ids, and the effect ledger answers a completed call with its recorded
result (`checkpointers.ledger`). ``model`` runs the retry on another model spec
(``context["model"]``; the operator's other settings still apply). A dead-lettered run is
retried through its letter (``agent-patterns dlq retry``), which also closes the letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.registry import build_graph
from ops.latest_checkpoints import TASKS_CHANNEL, ThreadFilter, latest_checkpoints, next_nodes
from ops.run_list import json_safe, run_summary
from ops.status_rules import RunState
from ops.timeline import checkpoint_chain

__all__ = [
    "KEPT_METADATA",
    "RETRYABLE",
    "RetryError",
    "RetryResult",
    "retry_run",
    "retry_checkpoint",
    "thread_graph",
]

RETRYABLE: frozenset[str] = frozenset({"failed", "stuck"})
KEPT_METADATA = ("owner", "graph_id", "assistant_id")
"""Checkpoint metadata a retry carries over from the thread's latest checkpoint."""


class RetryError(ValueError):
    """The run cannot be retried (its status, or a checkpoint that is not there)."""


@dataclass(frozen=True)
class RetryResult:
    """What a retry did: where it started and the run's status afterwards."""

    thread_id: str
    from_checkpoint_id: str
    status_before: RunState
    status: RunState
    next_nodes: tuple[str, ...]
    model: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values."""
        return json_safe({**self.__dict__, "next_nodes": list(self.next_nodes)})


def retry_checkpoint(saver: BaseCheckpointSaver, thread_id: str, stopped: bool) -> str:
    """The checkpoint a retry starts from (see the module docs).

    Args:
        saver: the thread's checkpointer.
        thread_id: the thread.
        stopped: whether a control stopped the latest run (go back before the stop).

    Raises:
        RetryError: no checkpoint at all, or a stopped run with no earlier checkpoint that
            had work to do.
    """
    chain = checkpoint_chain(saver, thread_id)
    if not chain:  # a worker run that never started: nothing to continue
        raise RetryError(f"thread {thread_id} has no checkpoint yet: submit its run again")
    if not stopped:
        return str(chain[-1].checkpoint["id"])
    stop = (chain[-1].checkpoint.get("channel_values") or {}).get("run_stop")
    for item in reversed(chain[:-1]):
        values = item.checkpoint.get("channel_values") or {}
        due = next_nodes(values, item.checkpoint.get("updated_channels"), values.get(TASKS_CHANNEL))
        if values.get("run_stop") != stop and due:
            return str(item.checkpoint["id"])
    raise RetryError(f"thread {thread_id}: no checkpoint before the stop to retry from")


def thread_graph(checkpointer: BaseCheckpointSaver, graph_id: str, thread_id: str | None) -> Any:
    """The thread's served graph on `checkpointer`, writing the thread's owner and graph.

    A retry run outside LangGraph's runs API (which would otherwise stamp each new checkpoint
    with the thread's metadata) keeps `KEPT_METADATA` this way: without ``owner`` the retried
    thread would vanish from its owner's views (and from the owner filters of every listing).

    Args:
        checkpointer: where the thread lives.
        graph_id: the registry's graph id.
        thread_id: the thread whose latest checkpoint's metadata to keep (None: none).
    """
    graph = build_graph(graph_id, checkpointer=checkpointer)
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    latest = checkpointer.get_tuple(config) if thread_id else None
    metadata: dict[str, Any] = dict((latest.metadata if latest else None) or {})
    kept = {key: metadata[key] for key in KEPT_METADATA if metadata.get(key) is not None}
    return graph.with_config(metadata=kept) if kept else graph


def _config(thread_id: str, checkpoint_id: str | None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def retry_run(
    checkpointer: BaseCheckpointSaver,
    thread_id: str,
    model: str | None = None,
    *,
    owner: str | None = None,
    graph: Any = None,
    checkpoint_id: str | None = None,
    context: dict[str, Any] | None = None,
) -> RetryResult:
    """Continue a failed (or stuck) run from its last good checkpoint, in this process.

    Args:
        checkpointer: where the thread lives.
        thread_id: the thread.
        model: another model spec for the retry (``context["model"]``).
        owner: only retry this user's thread (another's is "no such thread").
        graph: the compiled graph to resume (default: the thread's served graph on
            `checkpointer`, `graphs.registry.build_graph`).
        checkpoint_id: start from this checkpoint instead of the last good one.
        context: more run context (the operator's policy still applies).

    Raises:
        UnknownThreadError: no such thread.
        RetryError: the run is not failed or stuck (a waiting run needs its approval, a
            dead-lettered one its letter), or `checkpoint_id` is not the thread's.
    """
    before = run_summary(checkpointer, thread_id, owner=owner)
    if before.status == "dead_lettered":
        letter = (before.dead_letter or {}).get("id")
        raise RetryError(f"thread {thread_id} is dead-lettered: agent-patterns dlq retry {letter}")
    if before.status not in RETRYABLE:
        raise RetryError(f"thread {thread_id} is {before.status}, not failed or stuck: no retry")
    if checkpoint_id is not None:
        if checkpointer.get_tuple(_config(thread_id, checkpoint_id)) is None:
            raise RetryError(f"thread {thread_id} has no checkpoint {checkpoint_id!r}")
        start = checkpoint_id
    else:
        found = latest_checkpoints(checkpointer, ThreadFilter(thread_id=thread_id))
        start = retry_checkpoint(checkpointer, thread_id, bool(found and found[0].stop))
    graph = graph or build_graph(before.graph_id, checkpointer=checkpointer)
    run_context = {**(context or {}), **({"model": model} if model else {})}
    graph.invoke(None, _config(thread_id, start), context=run_context or None, durability="sync")
    after = run_summary(checkpointer, thread_id, owner=owner)
    return RetryResult(
        thread_id=thread_id,
        from_checkpoint_id=start,
        status_before=before.status,
        status=after.status,
        next_nodes=after.next_nodes,
        model=model,
    )
