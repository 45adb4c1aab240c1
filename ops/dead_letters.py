"""Dead-letter operations: record a run that exhausted its retries; retry, fork, discard it.

**When a run is dead-lettered.** A model call is retried on retriable errors
(`nodes.retry.call_with_retry`, the role's `RetrySettings`), then the fallback chain is tried
(`nodes.model_chain`); the node's own retry policy does not retry an error the chain gave up
on. When the error still leaves the graph, the run has **exhausted its retries**: nobody will
try it again on their own. That is where a letter is written:

- in process, by `invoke_or_dead_letter` (a run driven by this process: the CLI, a script,
  an operator's retry), with ``attempts`` the calls made by the failing step (its ``retry``
  control events plus one);
- on a worker, by `workers.tasks.advance_thread` when the run fails (``attempts``: the task's
  deliveries; `workers.dead_letter`);
- for events, by the fraud consumer when it dead-letters a message (the raw body kept).

Each writes with `nodes.dead_letter.record_failure` (re-exported here), below the workers
and this module alike.

A terminal error (a refused key, an invalid request) does not raise: the run stops cleanly
with a ``run_stop`` record and an answer saying why (`nodes.run_stop`); it is not a dead
letter, because there is nothing to resume (a new turn is the fix).

**Retry** continues the thread from its last checkpoint (the failed step runs again; tool
calls that already ran are answered from the effect ledger, so side effects happen once),
optionally with another model spec; the letter is claimed ``retried`` with the operator's
name before the run starts, so a second operator's retry is refused. A retry that fails again
writes a new letter. **Fork** copies the thread's last checkpoint into a new thread (time
travel: the original stays as it was). **Discard** needs a reason and records who.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.dead_letters import (
    DeadLetter,
    DeadLetterError,
    DeadLetterStore,
    default_dead_letters,
)
from nodes.dead_letter import record_failure, thread_facts

if TYPE_CHECKING:
    from ops.fork import ForkResult

__all__ = [
    "discard_letter",
    "fork_letter",
    "invoke_or_dead_letter",
    "record_failure",
    "republish_event_letter",
    "retry_letter",
    "thread_facts",
]


def _chunks(graph: Any, run_input: Any, config: RunnableConfig, context: Any) -> Iterator[Any]:
    yield from graph.stream(
        run_input, config, context=context, stream_mode=["custom", "values"], durability="sync"
    )


def invoke_or_dead_letter(
    graph: Any,
    run_input: Any,
    config: RunnableConfig,
    *,
    context: Mapping[str, Any] | None = None,
    graph_id: str | None = None,
    store: DeadLetterStore | None = None,
) -> Any:
    """Run `graph` like ``invoke``; a failure that leaves it is dead-lettered, then re-raised.

    Args:
        graph: a compiled graph with a checkpointer.
        run_input: the input (None: continue from the last checkpoint).
        config: the run's config (``thread_id`` required).
        context: the run's context.
        graph_id: the graph's id for the letter (the checkpoint's ``graph_id`` tag wins).
        store: the dead-letter table (default: the checkpointer's).

    Returns:
        The thread's values after the run.

    Raises:
        Exception: the run's failure, with ``dead_letter_id`` set on it.
    """
    retries, values = 0, None
    try:
        for mode, data in _chunks(graph, run_input, config, dict(context) if context else None):
            if mode == "values":
                retries, values = 0, data  # retries counted for the step that fails
            elif isinstance(data, dict) and data.get("control") == "retry":
                retries += 1
    except Exception as exc:
        table = store or default_dead_letters(graph.checkpointer)
        letter = record_failure(
            table,
            exc,
            source="in_process",
            thread_id=str(config["configurable"]["thread_id"]),
            checkpointer=graph.checkpointer,
            graph_id=graph_id,
            attempts=retries + 1,
        )
        try:
            exc.dead_letter_id = letter.id  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise
    return values


def _open_letter(store: DeadLetterStore, letter_id: str) -> DeadLetter:
    letter = store.get(letter_id)
    if letter is None:
        raise DeadLetterError(f"no dead letter {letter_id!r}")
    if letter.status != "open":
        raise DeadLetterError(
            f"dead letter {letter_id} is {letter.status} already (by {letter.resolved_by})"
        )
    return letter


def _resumable_thread(graph: Any, letter: DeadLetter) -> RunnableConfig:
    """The config of the letter's thread; it must have a step left to run."""
    if not letter.thread_id:
        raise DeadLetterError(
            f"dead letter {letter.id} has no thread to retry (a {letter.source} message that "
            "never ran): fix and republish it, then discard the letter"
        )
    config: RunnableConfig = {"configurable": {"thread_id": letter.thread_id}}
    if graph.checkpointer.get_tuple(config) is None:
        raise DeadLetterError(f"thread {letter.thread_id} has no checkpoint to retry from")
    state = graph.get_state(config)
    if not state.next:
        raise DeadLetterError(
            f"thread {letter.thread_id} has no step left to run (it finished or was retried "
            "already): discard the letter instead"
        )
    return config


def retry_letter(
    graph: Any,
    letter_id: str,
    *,
    by: str,
    model: str | None = None,
    context: Mapping[str, Any] | None = None,
    store: DeadLetterStore | None = None,
    topology: Any = None,
) -> Any:
    """Claim an open letter ``retried`` and continue its thread from the last checkpoint.

    The run itself is `ops.retry.retry_run` (the monitor's retry); a retry that fails again
    is dead-lettered anew. A poison event's letter is republished instead
    (`republish_event_letter`, on `topology`): the consumer must decide, audit and publish it.

    Args:
        graph: the thread's graph, compiled with the thread's checkpointer.
        letter_id: the letter.
        by: the operator (recorded).
        model: another model spec for the retry (``context["model"]``), e.g. ``"demo"``.
        context: the retry's context (the operator's policy still applies).
        store: the dead-letter table (default: the checkpointer's).
        topology: an event letter's exchanges (`workers.event_stream.EventTopology`).

    Returns:
        The thread's values after the retry.

    Raises:
        DeadLetterError: no such letter, not open, or nothing to retry.
        Exception: the retry failed (a new letter was written).
    """
    from ops.retry import retry_run
    from workers.overrides import context_fields, run_context

    table = store or default_dead_letters(graph.checkpointer)
    letter = _open_letter(table, letter_id)
    if letter.source == "event":
        republish_event_letter(table, letter.id, by=by, topology=topology)
        thread: RunnableConfig = {"configurable": {"thread_id": letter.thread_id}}
        return graph.get_state(thread).values
    config = _resumable_thread(graph, letter)
    checked = run_context(dict(context or {}), fields=context_fields(graph))
    reason = f"retried from checkpoint {letter.checkpoint_id}" + (
        f" with model {model}" if model else ""
    )
    table.resolve(letter.id, "retried", by=by, reason=reason)
    thread_id = str(letter.thread_id)
    try:
        retry_run(graph.checkpointer, thread_id, model, graph=graph, context=checked)
    except Exception as exc:
        again = record_failure(
            table,
            exc,
            source="in_process",
            thread_id=thread_id,
            checkpointer=graph.checkpointer,
            graph_id=letter.graph_id,
        )
        try:
            exc.dead_letter_id = again.id  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise
    return graph.get_state(config).values


def republish_event_letter(
    store: DeadLetterStore,
    letter_id: str,
    *,
    by: str,
    topology: Any = None,
    url: str | None = None,
) -> DeadLetter:
    """Retry a poison event's letter: publish its raw body to ``transactions`` again.

    The event consumer decides it as any event, exactly once (a thread that stopped half way
    continues from its checkpoint), and audits and publishes the decision; running the
    thread here would skip both. The body is published before the letter is claimed: a
    second operator's claim then fails, and the extra copy is a duplicate the consumer
    acknowledges without a second decision.

    Args:
        store: the dead-letter table (``DATABASE_URL``'s, where the consumer writes).
        letter_id: an open ``event`` letter.
        by: the operator (recorded).
        topology: the exchanges (`workers.event_stream.EventTopology`; default names).
        url: the broker URL (default ``AGENT_PATTERNS_BROKER_URL``).

    Raises:
        DeadLetterError: not an open event letter, or a malformed one (it would fail again).
    """
    from workers.event_stream import EventTopology, publish_events

    letter = _open_letter(store, letter_id)
    if letter.source != "event" or letter.payload is None:
        raise DeadLetterError(f"dead letter {letter_id} is not an event's: retry its thread")
    if not letter.thread_id:
        raise DeadLetterError(
            f"dead letter {letter_id} is a malformed message: fix and publish it yourself, "
            "then discard the letter"
        )
    topo = topology or EventTopology()
    publish_events([letter.payload.encode("utf-8")], topology=topo, url=url)
    reason = f"republished to {topo.transactions.name}"
    return store.resolve(letter.id, "retried", by=by, reason=reason)


def fork_letter(
    checkpointer: BaseCheckpointSaver,
    letter_id: str,
    *,
    new_thread_id: str | None = None,
    store: DeadLetterStore | None = None,
) -> ForkResult:
    """Fork the letter's thread, as of the checkpoint it failed at, into a new thread.

    The fork is `ops.fork.fork_thread` (completed tool calls are answered from the source's
    ledger, approvals are asked again). The letter stays open: retry or discard it once the
    fork has shown what to do.

    Raises:
        DeadLetterError: no such letter, or its thread has no checkpoint.
        ForkError: the new thread exists already.
    """
    from ops.fork import fork_thread

    table = store or default_dead_letters(checkpointer)
    letter = table.get(letter_id)
    if letter is None:
        raise DeadLetterError(f"no dead letter {letter_id!r}")
    source = None
    if letter.thread_id:
        source = checkpointer.get_tuple({"configurable": {"thread_id": letter.thread_id}})
    if source is None or not letter.thread_id:
        raise DeadLetterError(f"dead letter {letter_id} has no thread checkpoint to fork")
    at = letter.checkpoint_id or str(source.config["configurable"]["checkpoint_id"])
    return fork_thread(checkpointer, letter.thread_id, at, new_thread_id=new_thread_id)


def discard_letter(store: DeadLetterStore, letter_id: str, *, by: str, reason: str) -> DeadLetter:
    """Discard an open letter, recording who and why (a reason is required).

    Raises:
        DeadLetterError: no reason, no actor, no such letter, or it is not open.
    """
    return store.resolve(letter_id, "discarded", by=by, reason=reason)
