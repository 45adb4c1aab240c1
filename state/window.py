"""The summary of the earlier conversation the context window keeps in state (``summarize``).

Under the ``summarize`` window policy (`nodes.context_window.fit_window`) the messages that no
longer fit a model call's budget are folded into a summary, sent as a system message right
after the system prompt. The summary is stored in state as a `WindowSummary` and **reused**:
while it still covers everything a call must leave out, no new summary is asked for; when more
must be left out, only the messages after ``through_id`` are folded in, together with the old
text. The conversation itself is never rewritten: the summary is a view used when calling.

The value is a plain, JSON-safe dict (it is checkpointed like the rest of the state).

Example:
    >>> summary = WindowSummary(text="The user asked about A-1001.", through_id="m7", covered=8, tokens=16)
    >>> summary["covered"]
    8
"""  # noqa: E501

from __future__ import annotations

from typing_extensions import TypedDict

__all__ = ["WindowSummary"]


class WindowSummary(TypedDict):
    """A summary of the start of a conversation, as the context window stores it.

    Attributes:
        text: the summary of the messages it covers.
        through_id: the id of the last message it covers (the conversation's messages have ids
            in state); a summary whose message is no longer found is not reused.
        covered: how many messages, from the first, it covers.
        tokens: the estimated tokens of the summary as sent (the system message with its
            prefix; see `nodes.context_window.count_tokens`).
    """

    text: str
    through_id: str
    covered: int
    tokens: int
