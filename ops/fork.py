"""Fork a thread from any of its checkpoints into a NEW thread, with an edited state.

LangGraph's time travel forks *within* a thread (``update_state`` on an old checkpoint adds
a branch to the same thread). An operator's fork must leave the source alone, so the state
as of the chosen checkpoint is copied into a new thread id: ``graph.update_state`` on the new
thread with the source's values (edits applied on top: ``--set key=json`` replaces a field),
as the node that wrote the chosen checkpoint, so the fork continues where the source did
from there (the graph's own edges decide what runs next; an approval gate asks again).

**What the fork inherits from the effect ledger, and what it must not** (learned the hard
way: a source and its fork could each run one approved refund):

- approvals are **never** copied: a decision is bound to ``(thread, call id, arguments)``,
  so a call approved in the source and not yet run waits for a new decision in the fork
  (the tool node refuses a call that needs approval and has none);
- **completed** effects are copied, so a call that already ran in the source is answered
  from its recorded result in the fork, never run a second time;
- a call the source **started** but did not finish (cut short by a crash) is copied as
  ``unknown``: the fork reports the outcome as unknown instead of running it again as if it
  were new (or approved).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import CONF, CONFIG_KEY_RUNTIME
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.runtime import Runtime

from checkpointers.ledger import default_ledger
from graphs.errors import UnknownThreadError
from graphs.registry import build_graph
from ops.latest_checkpoints import OWNER_KEY
from ops.run_list import json_safe

__all__ = ["ForkError", "ForkResult", "copy_effects", "fork_thread"]

_MANAGED = frozenset({"remaining_steps"})
"""State fields LangGraph manages (not channels): never written into the fork."""


class ForkError(ValueError):
    """The fork cannot be made (no such checkpoint, the target thread exists, a bad edit)."""


@dataclass(frozen=True)
class ForkResult:
    """What a fork made: the new thread, where it came from, what it inherited."""

    thread_id: str
    source_thread_id: str
    source_checkpoint_id: str
    checkpoint_id: str
    next_nodes: tuple[str, ...]
    edited: tuple[str, ...]
    copied_effects: int
    unknown_effects: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values."""
        data = dict(self.__dict__)
        data["next_nodes"], data["edited"] = list(self.next_nodes), list(self.edited)
        return json_safe(data)


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _call_ids(state: dict[str, Any]) -> set[str] | None:
    """The tool-call ids the forked conversation holds (None: the state has no messages)."""
    messages = state.get("messages")
    if not isinstance(messages, list):
        return None
    return {
        str(call["id"])
        for message in messages
        if isinstance(message, AIMessage)
        for call in message.tool_calls
        if call.get("id")
    }


def copy_effects(
    saver: BaseCheckpointSaver, source: str, target: str, calls: set[str] | None = None
) -> tuple[int, int]:
    """Copy the source's effect entries into the fork (see the module docs); no decisions.

    Args:
        saver: the checkpointer (its ledger).
        source: the source thread.
        target: the fork.
        calls: only entries of these tool-call ids (the calls the fork's conversation
            holds; None: all).

    Returns:
        (completed entries copied, started or unknown entries copied as ``unknown``).
    """
    ledger = default_ledger(saver)
    copied = unknown = 0
    for entry in ledger.entries(source):
        if calls is not None and entry.tool_call_id not in calls:
            continue
        ledger.begin(target, entry.tool_call_id, entry.tool, dict(entry.args))
        if entry.status == "completed":
            ledger.finish(
                target,
                entry.tool_call_id,
                entry.result or "",
                entry.result_status or "success",
                "completed",
            )
            copied += 1
        else:
            text = (
                f"Outcome unknown: {entry.tool} was cut short in thread {source} before this "
                "thread was forked from it, so it is not run again here. A person must check "
                "whether it happened."
            )
            ledger.finish(target, entry.tool_call_id, text, "error", "unknown")
            unknown += 1
    return copied, unknown


def _writer(graph: Any, snapshot: Any) -> str | None:
    """The node whose step wrote `snapshot` (None for a thread's first checkpoint)."""
    if snapshot.parent_config is None:
        return None
    parent = graph.get_state(snapshot.parent_config)
    names = sorted({task.name for task in parent.tasks})
    return names[0] if len(names) == 1 else None


def _update_config(config: RunnableConfig, graph: Any, context: Any) -> RunnableConfig:
    """`config` with the runtime the written-as node's routers read (context, store).

    ``update_state`` runs the node's writers and its conditional edges outside a run, and
    LangGraph does not give them a runtime there (langgraph issue 6340): a router that reads
    ``runtime`` (the tool loop's ``route_after_model``, which sends the pending calls to the
    approval gate) failed with "Missing required config key 'N/A'". So forking at a
    checkpoint that waits at the gate failed.
    """
    runtime = Runtime(context=context, store=getattr(graph, "store", None))
    configurable = {**config.get(CONF, {}), CONFIG_KEY_RUNTIME: runtime}
    return {**config, CONF: configurable}


def fork_thread(
    checkpointer: BaseCheckpointSaver,
    thread_id: str,
    checkpoint_id: str,
    values: dict[str, Any] | None = None,
    *,
    new_thread_id: str | None = None,
    owner: str | None = None,
    graph: Any = None,
    as_node: str | None = None,
    context: Any = None,
) -> ForkResult:
    """Copy `thread_id` as of `checkpoint_id` into a new thread, edited with `values`.

    Args:
        checkpointer: where the thread lives (the fork is written there too).
        thread_id: the source thread (left unchanged).
        checkpoint_id: the source checkpoint to fork from.
        values: fields to set in the fork's state (replacing the source's values).
        new_thread_id: the fork's id (default: a new UUID, the only thread id the
            LangGraph server runs; ``forked_from`` in its metadata names the source); must
            be new.
        owner: only fork this user's thread; the fork belongs to the source's owner.
        graph: the compiled graph (default: the thread's served graph on `checkpointer`).
        as_node: the node the copy is written as (default: the one that wrote the
            checkpoint, which keeps the source's next step).
        context: the run context the graph's routers see while the copy is written (a
            fork at an approval gate is routed to the gate again with its approval policy
            and deadline); None: the graph's defaults. Like any run context it may tighten
            the defaults, never loosen them.

    Raises:
        UnknownThreadError: no such thread (or not `owner`'s).
        ForkError: no such checkpoint in the thread, the new thread exists, or an edit
            names a field the graph does not have.
    """
    latest = checkpointer.get_tuple(_config(thread_id))
    if latest is None or (owner is not None and dict(latest.metadata).get(OWNER_KEY) != owner):
        raise UnknownThreadError(thread_id)
    if checkpointer.get_tuple(_config(thread_id, checkpoint_id)) is None:
        raise ForkError(f"thread {thread_id} has no checkpoint {checkpoint_id!r}")
    target = new_thread_id or str(uuid.uuid4())
    if checkpointer.get_tuple(_config(target)) is not None:
        raise ForkError(f"thread {target} exists already: name another")
    graph_id = str(latest.metadata.get("graph_id") or "react")
    graph = graph or build_graph(graph_id, checkpointer=checkpointer)
    snapshot = graph.get_state(_config(thread_id, checkpoint_id))
    unknown = sorted(set(values or {}) - set(graph.channels))
    if unknown:
        raise ForkError(f"the {graph_id} graph's state has no field {', '.join(unknown)}")
    state = {k: v for k, v in snapshot.values.items() if k not in _MANAGED}
    state.update(values or {})
    metadata: dict[str, Any] = {
        "forked_from": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}
    }
    source_owner = dict(latest.metadata).get(OWNER_KEY)
    if source_owner is not None:
        metadata[OWNER_KEY] = source_owner
    fork_config: RunnableConfig = {**_config(target), "metadata": metadata}
    written = graph.update_state(
        _update_config(fork_config, graph, context),
        state,
        as_node=as_node or _writer(graph, snapshot),
    )
    copied, cut_short = copy_effects(checkpointer, thread_id, target, _call_ids(state))
    after = graph.get_state(_config(target))
    return ForkResult(
        thread_id=target,
        source_thread_id=thread_id,
        source_checkpoint_id=checkpoint_id,
        checkpoint_id=str(written["configurable"]["checkpoint_id"]),
        next_nodes=tuple(after.next),
        edited=tuple(sorted(values or {})),
        copied_effects=copied,
        unknown_effects=cut_short,
    )
