"""The context window as the model node applies it: `fitted_messages`.

Before each call of the tool-calling model node (`nodes.model_call.make_call_model`, the node
every tool-loop pattern shares) the conversation is fitted to the model's budget
(`nodes.context_window.fit_window`, settings from `nodes.controls.Controls.window`). Under
the ``summarize`` policy the summary is asked of the same model (role ``"summarizer"``,
through `nodes.ask.ask_text`, so it is accounted, limited and retried like any call) and the
new summary goes to the ``context_summary`` state field, where the next call reuses it. What
the window did is reported in the stream (``{"control": "context_window", ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import get_buffer_string

from nodes.ask import ask_text
from nodes.context_window import fit_window
from nodes.control_events import emit_event
from nodes.controls import current_controls
from nodes.model_chain import model_label
from state.window import WindowSummary

__all__ = ["SUMMARIZER_PROMPT", "SUMMARY_CHANNEL", "fitted_messages"]

SUMMARY_CHANNEL = "context_summary"
"""The state field the ``summarize`` policy keeps its summary in (`state.agent.AgentState`)."""

SUMMARIZER_PROMPT = (
    "You summarise the earlier part of a conversation between a user and an assistant that "
    "uses tools, so the assistant can continue without it. Keep every fact the assistant may "
    "need later: names, ids, amounts, dates, what tools returned, what was decided and what "
    "is still open. Write plain sentences, at most 200 words. Add nothing that is not there."
)


def _summarizer(model: BaseChatModel) -> Any:
    def summarize(messages: list[BaseMessage], previous: str | None) -> str:
        earlier = f"Summary so far:\n{previous}\n\n" if previous else ""
        transcript = get_buffer_string(messages)
        prompt = [
            SystemMessage(SUMMARIZER_PROMPT),
            HumanMessage(f"{earlier}Conversation to add to the summary:\n{transcript}"),
        ]
        return ask_text(model, prompt, role="summarizer")

    return summarize


def fitted_messages(
    model: BaseChatModel, system: Sequence[BaseMessage], state: Mapping[str, Any]
) -> tuple[list[BaseMessage], WindowSummary | None]:
    """The messages to send `model` (system first) and a new summary to store, if any.

    Args:
        model: the chat model about to be called (its budget, and the summarizer).
        system: the system prompt messages.
        state: the node's state (``messages``, and ``context_summary`` when stored).
    """
    conversation = list(state["messages"])
    settings = current_controls().window
    if settings.policy == "off":
        return [*system, *conversation], None
    plan = fit_window(
        system,
        conversation,
        settings=settings,
        model_name=model_label(model).split("@")[0],
        summary=state.get(SUMMARY_CHANNEL),
        summarize=_summarizer(model) if settings.policy == "summarize" else None,
    )
    if plan.event is not None:
        emit_event("context_window", {k: v for k, v in plan.event.items() if k != "kind"})
    return plan.messages, plan.summary
