"""The ``messages`` channel stored as deltas: each step saves only its new messages.

With LangGraph's default channel for an ``add_messages`` field every checkpoint holds the
whole conversation, so a thread of *n* steps stores O(n²) bytes (issue 20). `DeltaChannel`
stores nothing in a checkpoint but the step's writes (already saved as pending writes) and
rebuilds the value by replaying the writes since the nearest snapshot, a full copy written
every `SNAPSHOT_FREQUENCY` updates of the channel.

Replay feeds many steps' writes to the reducer in one call, so the reducer must be
batching-invariant: ``reduce(reduce(s, xs), ys) == reduce(s, xs + ys)``. `add_messages_batch`
is ``add_messages`` folded over the batch, one write at a time, so it is invariant by
construction and keeps every ``add_messages`` rule: merge by id, `RemoveMessage` (unknown
ids raise), ``REMOVE_ALL_MESSAGES``, chunks converted to messages. It does the fold in one
pass (an id index and tombstones instead of a list copy per write), because replay may apply
hundreds of writes to a long conversation.

One difference from ``add_messages``: a message without an id gets a deterministic id
derived from its place in the conversation and its content, not a random one, because the
reducer runs again on every replay and must give it the same id each time (LangGraph already
stamps ids on message objects and message dicts before saving; this covers strings and
tuples).

Threads written with the old channel load unchanged: `DeltaChannel.from_checkpoint` takes
their plain stored list as the seed and the new steps append deltas to it.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
    >>> state = add_messages_batch([], [[HumanMessage("hi", id="1")], AIMessage("yo", id="2")])
    >>> [m.content for m in add_messages_batch(state, [RemoveMessage(id="1")])]
    ['yo']
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.messages import (
    AnyMessage,
    BaseMessage,
    BaseMessageChunk,
    RemoveMessage,
    convert_to_messages,
    message_chunk_to_message,
)
from langgraph.channels import DeltaChannel
from langgraph.graph.message import REMOVE_ALL_MESSAGES

__all__ = ["SNAPSHOT_FREQUENCY", "DeltaMessages", "add_messages_batch", "messages_channel"]

SNAPSHOT_FREQUENCY = 100
"""Updates of the channel between two full snapshots (LangGraph's default).

Bounds replay on load (at most this many writes are read and folded) at the price of one
full copy of the conversation per this many updates (a ReAct turn is four updates). Measured
in ``scripts/bench/storage.py``: a 200-turn conversation stores 0.07x the bytes of the old
channel with 100 and 0.06x with 500, while 500 makes a load replay five times more writes.
"""

_ID_NAMESPACE = uuid.UUID("5f0c6f4e-8f5e-4d4e-9a52-6d6573736167")


def _as_messages(value: Any) -> list[BaseMessage]:
    items = value if isinstance(value, list) else [value]
    # A long history is all plain messages: check its few distinct types, not each item.
    if all(
        issubclass(t, BaseMessage) and not issubclass(t, BaseMessageChunk)
        for t in set(map(type, items))
    ):
        return list(items)
    return [message_chunk_to_message(m) for m in convert_to_messages(items)]


def _removes_all(message: BaseMessage) -> bool:
    return isinstance(message, RemoveMessage) and message.id == REMOVE_ALL_MESSAGES


class _Fold:
    """``add_messages`` applied write after write, on one list with tombstones."""

    def __init__(self, state: Sequence[Any]) -> None:
        messages = _as_messages(list(state))
        index = {m.id: i for i, m in enumerate(messages)}
        self.merged: list[BaseMessage | None] = list(messages)
        self.index: dict[str, int] = index  # type: ignore[assignment]
        self.shadowed: dict[str, list[int]] = {}
        """Earlier positions of an id held twice (possible only after REMOVE_ALL_MESSAGES)."""
        if None in index or "" in index or len(index) != len(messages):
            self._reset(messages)  # rare: ids to stamp, or an id held twice

    def _reset(self, messages: list[BaseMessage]) -> None:
        self.merged, self.index, self.shadowed = [], {}, {}
        for salt, message in enumerate(messages):
            stamped = self._stamped(message, salt)
            mid = stamped.id or ""
            if mid in self.index:
                self.shadowed.setdefault(mid, []).append(self.index[mid])
            self.index[mid] = len(self.merged)
            self.merged.append(stamped)

    def _stamped(self, message: BaseMessage, salt: int) -> BaseMessage:
        if message.id:
            return message
        anchor = next((m.id for m in reversed(self.merged) if m is not None and m.id), "")
        key = f"{anchor}:{len(self.index)}:{salt}:{message.type}:{message.content!r}"
        return message.model_copy(update={"id": str(uuid.uuid5(_ID_NAMESPACE, key))})

    def apply(self, write: Any) -> None:
        """Merge one write exactly as ``add_messages(current, write)`` would."""
        right = [self._stamped(m, i) for i, m in enumerate(_as_messages(write))]
        cuts = [i for i, m in enumerate(right) if _removes_all(m)]
        cut = cuts[-1] if cuts else None
        if cut is not None:
            self._reset(right[cut + 1 :])
            return
        removed: set[str] = set()
        for message in right:
            mid = message.id or ""
            position = self.index.get(mid)
            if position is None:
                if isinstance(message, RemoveMessage):
                    raise ValueError(
                        f"Attempting to delete a message with an ID that doesn't exist ('{mid}')"
                    )
                self.index[mid] = len(self.merged)
                self.merged.append(message)
            elif isinstance(message, RemoveMessage):
                removed.add(mid)
            else:
                removed.discard(mid)
                self.merged[position] = message
        for mid in removed:
            for position in [self.index.pop(mid), *self.shadowed.pop(mid, [])]:
                self.merged[position] = None

    def result(self) -> list[AnyMessage]:
        """The conversation, tombstones dropped."""
        return [m for m in self.merged if m is not None]  # type: ignore[misc]


def add_messages_batch(state: Sequence[Any], writes: Sequence[Any]) -> list[AnyMessage]:
    """``add_messages`` folded over a batch of writes, oldest first (a `DeltaChannel` reducer).

    Args:
        state: the conversation so far (messages, or anything ``add_messages`` accepts).
        writes: the updates, each a message-like or a list of them, as nodes return them.

    Returns:
        The merged conversation (a new list; `state` is not changed).

    Raises:
        ValueError: a `RemoveMessage` names an id the conversation does not hold.
    """
    fold = _Fold(state)
    for write in writes:
        fold.apply(write)
    return fold.result()


def messages_channel() -> DeltaChannel[list[AnyMessage]]:
    """A new `DeltaChannel` for a messages field, reduced by `add_messages_batch`."""
    return DeltaChannel(add_messages_batch, list, snapshot_frequency=SNAPSHOT_FREQUENCY)


DeltaMessages = Annotated[list[AnyMessage], messages_channel()]
"""The type of a ``messages`` field stored as deltas: use it in place of
``Annotated[list[AnyMessage], add_messages]``."""
