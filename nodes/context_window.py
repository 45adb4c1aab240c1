"""The context window: fit a model call's messages into its token budget (`fit_window`).

Before each model call the conversation is cut to the budget of the model
(`nodes.controls.WindowSettings`: ``per_model`` budget, else ``max_tokens``) under one of
three policies:

- ``trim``: the oldest messages are left out until the rest fits.
- ``summarize``: the messages left out are folded into a summary (`state.window.WindowSummary`)
  sent as a system message after the system prompt; the summary is kept in state and reused
  while it still covers what must be left out, so a long thread is not summarised again on
  every call. Without a summarizer it falls back to ``trim``.
- ``off``: everything is sent.

**The estimate.** `count_tokens` is the one estimate used everywhere here: per message,
``ceil(characters / 4)`` (`models.base.estimate_tokens`, the offline models' estimate) of the
text plus each tool call's name and JSON arguments, plus `MESSAGE_OVERHEAD_TOKENS` for the
role and framing. Summed per message, it is never below what the offline models report as
input tokens for the same messages. It is not any tokenizer's count: leave headroom in the
budget for a real model.

**Groups.** A cut is made only between groups: a group is a HumanMessage, or an AIMessage
together with every ToolMessage answering its tool calls (and whatever stands between them), or
any other single message. So a ToolMessage is never sent without its AIMessage, nor an
AIMessage without all its answers. A ToolMessage whose AIMessage is not in the conversation
joins the group before it. The first message kept is a HumanMessage whenever one fits.

**Always kept**: the last ``keep_last_messages`` messages, rounded out to whole groups, and
the latest HumanMessage. What is kept is everything from the cut on; when the cut falls after
the latest HumanMessage (a long tool loop answering one question), that message is kept too,
first, and the rounds between it and the cut are left out. When even the kept messages do not
fit, they are sent anyway and the event says ``over_budget``.

**Summaries** (``summarize``): the messages from the end of the stored summary to the cut are
folded by ``summarize(messages, previous_text)``, and the cut is then placed so the kept part
uses at most half of what the budget leaves beside a quarter reserved for the summary; the
next calls reuse that summary, unchanged and without calling the summarizer, until the
conversation grows past the budget again. A summary longer than the room left is cut, with a
notice. A stored summary whose ``through_id`` is no longer in the conversation is not reused.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    >>> from nodes.controls import WindowSettings
    >>> talk = [HumanMessage("x" * 2000, id="1"), AIMessage("y" * 2000, id="2"), HumanMessage("hi", id="3")]
    >>> plan = fit_window([SystemMessage("Be brief.")], talk,
    ...                   settings=WindowSettings(max_tokens=256, keep_last_messages=1), model_name="m")
    >>> [m.text for m in plan.messages], plan.dropped, plan.event["policy"]
    (['Be brief.', 'hi'], 2, 'trim')
"""  # noqa: E501

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from models.base import estimate_tokens
from nodes.controls import WindowSettings
from state.window import WindowSummary

__all__ = [
    "MESSAGE_OVERHEAD_TOKENS",
    "SUMMARY_PREFIX",
    "Summarizer",
    "WindowPlan",
    "count_tokens",
    "fit_window",
    "group_starts",
    "message_tokens",
    "summary_message",
]

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens added per message for its role and framing (providers count a few per message)."""

SUMMARY_PREFIX = "Summary of the earlier conversation: "
"""How the summary is introduced to the model (the system message's text starts with it)."""

CLIP_NOTICE = " [summary cut to fit the context window]"
"""Appended to a summary cut because it did not fit beside the messages kept."""

MIN_SUMMARY_TOKENS = 32
"""A summary is never cut below this, even when the messages kept leave it no room."""

Summarizer = Callable[[list[BaseMessage], str | None], str]
"""``summarize(messages_to_fold, previous_summary_text) -> new summary text``."""


@dataclass(frozen=True)
class WindowPlan:
    """What one model call sends, and what the window did to get there.

    Attributes:
        messages: what to send: the system messages, the summary (if used), then the
            conversation kept.
        dropped: conversation messages left out of this call (covered by the summary or not).
        tokens_before: the estimate of the system messages plus the whole conversation.
        tokens_after: the estimate of `messages`.
        summary: a NEW summary to store in state; None leaves the stored one unchanged.
        event: a JSON-safe record for the stream when anything was left out; None otherwise.
    """

    messages: list[BaseMessage]
    dropped: int
    tokens_before: int
    tokens_after: int
    summary: WindowSummary | None
    event: dict[str, Any] | None


def message_tokens(message: BaseMessage) -> int:
    """The estimated tokens of one message (see the module docs)."""
    content = message.content
    chars = len(content) if isinstance(content, str) else len(message.text)
    if isinstance(message, AIMessage):
        for call in message.tool_calls:
            chars += len(call["name"]) + len(json.dumps(call["args"], default=str))
        for bad in message.invalid_tool_calls:
            chars += len(bad.get("name") or "") + len(bad.get("args") or "")
    return estimate_tokens(chars) + MESSAGE_OVERHEAD_TOKENS


def count_tokens(messages: Sequence[BaseMessage]) -> int:
    """The estimated tokens of `messages`: the sum of `message_tokens` (see the module docs)."""
    return sum(message_tokens(message) for message in messages)


def summary_message(text: str) -> SystemMessage:
    """The system message that carries a summary to the model."""
    return SystemMessage(SUMMARY_PREFIX + text)


def _answer_spans(conversation: Sequence[BaseMessage]) -> tuple[list[int], set[int]]:
    """For each message, the last index its group must reach; and the orphan tool results."""
    answered_at: dict[str, int] = {}
    for index, message in enumerate(conversation):
        if isinstance(message, ToolMessage):
            answered_at.setdefault(message.tool_call_id, index)
    reach = list(range(len(conversation)))
    claimed: set[int] = set()
    for index, message in enumerate(conversation):
        if isinstance(message, AIMessage) and message.tool_calls:
            answers = [answered_at.get(call["id"] or "", -1) for call in message.tool_calls]
            answers = [at for at in answers if at > index]
            claimed.update(answers)
            reach[index] = max([index, *answers])
    orphans = {
        index
        for index, message in enumerate(conversation)
        if isinstance(message, ToolMessage) and index not in claimed
    }
    return reach, orphans


def group_starts(conversation: Sequence[BaseMessage]) -> list[int]:
    """The indices where a group begins: the only places a conversation may be cut.

    Args:
        conversation: the messages (no system prompt).

    Returns:
        Increasing indices, the first 0 (empty for an empty conversation).
    """
    reach, orphans = _answer_spans(conversation)
    starts: list[int] = []
    group_end = -1
    for index in range(len(conversation)):
        if index > group_end and (index not in orphans or not starts):
            starts.append(index)
        group_end = max(group_end, reach[index])
    return starts


def _suffix_tokens(conversation: Sequence[BaseMessage]) -> list[int]:
    """``result[i]``: the tokens of ``conversation[i:]`` (one more entry, 0, at the end)."""
    sums = [0] * (len(conversation) + 1)
    for index in range(len(conversation) - 1, -1, -1):
        sums[index] = sums[index + 1] + message_tokens(conversation[index])
    return sums


def _mandatory_start(starts: list[int], length: int, keep: int) -> int:
    """The latest cut allowed: the last `keep` messages rounded out to whole groups."""
    limit = max(length - keep, 0)
    return max(start for start in starts if start <= limit)


def _latest_human(conversation: Sequence[BaseMessage]) -> int | None:
    """The index of the latest HumanMessage, if any."""
    for index in range(len(conversation) - 1, -1, -1):
        if isinstance(conversation[index], HumanMessage):
            return index
    return None


@dataclass(frozen=True)
class _Call:
    """One call's inputs and what every plan for it shares.

    A plan keeps the conversation from a cut (a group start) onwards; when the cut falls after
    the latest human message, that message is kept too, just before the rest (``pinned``).
    """

    system: list[BaseMessage]
    conversation: Sequence[BaseMessage]
    settings: WindowSettings
    policy: str
    model_name: str
    budget: int
    starts: list[int]
    suffix: list[int]
    mandatory: int
    pinned: int | None

    @property
    def room(self) -> int:
        """The budget left for the conversation (and summary) after the system messages."""
        return self.budget - count_tokens(self.system)

    @property
    def tokens_before(self) -> int:
        """The estimate of sending everything."""
        return count_tokens(self.system) + self.suffix[0]

    def pins(self, cut: int) -> bool:
        """Whether a cut at `cut` leaves out the latest human message (so it is pinned)."""
        return self.pinned is not None and cut > self.pinned

    def kept(self, cut: int) -> list[BaseMessage]:
        """The conversation a cut at `cut` sends."""
        head = (
            [self.conversation[self.pinned]] if self.pinned is not None and self.pins(cut) else []
        )
        return [*head, *self.conversation[cut:]]

    def kept_tokens(self, cut: int) -> int:
        """The estimate of `kept`."""
        if self.pinned is None or not self.pins(cut):
            return self.suffix[cut]
        return self.suffix[cut] + message_tokens(self.conversation[self.pinned])

    def earliest_fitting(self, *, low: int, high: int, room: int) -> int | None:
        """The earliest cut in ``[low, high]`` whose kept part fits `room`.

        A cut whose kept part starts with a HumanMessage (its own, or the pinned one) is
        preferred when any fits.
        """
        fitting = [s for s in self.starts if low <= s <= high and self.kept_tokens(s) <= room]
        humans = [
            s for s in fitting if isinstance(self.conversation[s], HumanMessage) or self.pins(s)
        ]
        chosen = humans or fitting
        return chosen[0] if chosen else None

    def plan(
        self,
        *,
        cut: int,
        summary_text: str | None = None,
        new_summary: WindowSummary | None = None,
    ) -> WindowPlan:
        """The plan sending `summary_text` (if any) and the conversation kept by `cut`."""
        head = [summary_message(summary_text)] if summary_text is not None else []
        kept = self.kept(cut)
        messages = [*self.system, *head, *kept]
        after = count_tokens(messages)
        dropped = len(self.conversation) - len(kept)
        event = {
            "kind": "context_window",
            "policy": self.policy,
            "configured_policy": self.settings.policy,
            "model": self.model_name,
            "budget": self.budget,
            "tokens_before": self.tokens_before,
            "tokens_after": after,
            "dropped": dropped,
            "kept": len(kept),
            "pinned_latest_human": self.pins(cut),
            "summary_used": summary_text is not None,
            "summarized": new_summary is not None,
            "summary_covers": new_summary["covered"] if new_summary else None,
            "over_budget": after > self.budget,
        }
        return WindowPlan(
            messages=messages,
            dropped=dropped,
            tokens_before=self.tokens_before,
            tokens_after=after,
            summary=new_summary,
            event=event if dropped or summary_text is not None else None,
        )


def _trim(call: _Call) -> WindowPlan:
    """Drop the oldest groups until the rest fits (keep the mandatory tail regardless)."""
    found = call.earliest_fitting(low=0, high=call.mandatory, room=call.room)
    return call.plan(cut=call.mandatory if found is None else found)


def _covered_through(conversation: Sequence[BaseMessage], summary: WindowSummary | None) -> int:
    """The index of the last message `summary` covers; -1 without one or when it is stale."""
    if not summary or not summary.get("through_id"):
        return -1
    through, covered = summary["through_id"], summary.get("covered", 0)
    if 0 < covered <= len(conversation) and conversation[covered - 1].id == through:
        return covered - 1
    for index in range(len(conversation) - 1, -1, -1):
        if conversation[index].id == through:
            return index
    return -1


def _clip(text: str, max_tokens: int) -> str:
    """`text` cut so its summary message stays within `max_tokens` (estimated)."""
    if message_tokens(summary_message(text)) <= max_tokens:
        return text
    overhead = message_tokens(summary_message(CLIP_NOTICE))
    keep_chars = max((max_tokens - overhead) * 4, 0)
    return text[:keep_chars].rstrip() + CLIP_NOTICE


def _summarize(call: _Call, summary: WindowSummary | None, summarize: Summarizer) -> WindowPlan:
    """Reuse the stored summary if it still covers enough; else fold more into a new one."""
    through = _covered_through(call.conversation, summary)
    previous = summary["text"] if summary is not None and through >= 0 else None
    low = next((s for s in call.starts if s > through), len(call.conversation))
    low = min(low, call.mandatory)
    if previous is not None:
        reused = message_tokens(summary_message(previous))
        if reused + call.kept_tokens(low) <= call.room:
            return call.plan(cut=low, summary_text=previous)
    share = call.room // 4
    found = None
    for room in ((call.room - share) // 2, call.room):  # fold well past the budget: folds are rare
        if found is None:
            found = call.earliest_fitting(low=low + 1, high=call.mandatory, room=room)
    cut = call.mandatory if found is None else found
    if cut <= low:  # nothing more can be folded: the tail alone is over the budget
        return call.plan(cut=low, summary_text=previous)
    text = summarize(list(call.conversation[low:cut]), previous)
    text = _clip(text, max(call.room - call.kept_tokens(cut), MIN_SUMMARY_TOKENS))
    new_summary = WindowSummary(
        text=text,
        through_id=call.conversation[cut - 1].id or "",
        covered=cut,
        tokens=message_tokens(summary_message(text)),
    )
    return call.plan(cut=cut, summary_text=text, new_summary=new_summary)


def fit_window(
    system: Sequence[BaseMessage],
    conversation: Sequence[BaseMessage],
    *,
    settings: WindowSettings,
    model_name: str,
    summary: WindowSummary | None = None,
    summarize: Summarizer | None = None,
) -> WindowPlan:
    """The messages one model call sends, fitted to the model's budget (see the module docs).

    Args:
        system: the system prompt (one or more messages), always sent first and in full.
        conversation: the thread's messages, oldest first, with their ids.
        settings: the window settings (``current_controls(config).window``).
        model_name: the model called (its ``per_model`` budget applies when set).
        summary: the summary stored in state by an earlier call, if any.
        summarize: folds messages into a summary (``summarize(messages, previous_text)``);
            required by the ``summarize`` policy, which falls back to ``trim`` without it.

    Returns:
        The plan: the messages to send, what was left out, the new summary to store (if
        one was made) and the event for the stream (when anything was left out).
    """
    starts = group_starts(conversation)
    summarizing = settings.policy == "summarize" and summarize is not None
    call = _Call(
        system=list(system),
        conversation=conversation,
        settings=settings,
        policy=settings.policy if summarizing or settings.policy == "off" else "trim",
        model_name=model_name,
        budget=settings.budget_for(model_name),
        starts=starts,
        suffix=_suffix_tokens(conversation),
        mandatory=_mandatory_start(starts, len(conversation), settings.keep_last_messages)
        if conversation
        else 0,
        pinned=_latest_human(conversation),
    )
    if settings.policy == "off" or call.tokens_before <= call.budget:
        return call.plan(cut=0)
    if settings.policy == "summarize" and summarize is not None:
        return _summarize(call, summary, summarize)
    return _trim(call)
