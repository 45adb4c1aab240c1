"""State of the tool-calling agent graphs (ReAct and the patterns built on it)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

from langgraph.managed import RemainingSteps
from pydantic import Field
from typing_extensions import TypedDict

from state.messages_channel import DeltaMessages
from state.usage import UsageTotals, add_usage
from state.window import WindowSummary

__all__ = ["AgentInput", "AgentOutput", "AgentState"]


class AgentInput(TypedDict):
    """What every graph of the project accepts: ``{"messages": [...]}``.

    Attributes:
        messages: the new messages (checked at the input boundary: known roles, text
            content, no NUL or lone surrogates, size limits; see `graphs.input_validation`).
        cancel_pending: ``true`` to cancel an approval the thread is waiting on: each one
            is recorded as ``superseded`` in the audit trail, its tool call is answered as
            not run, then the new messages run. Without it a message sent while an approval
            waits is refused (`graphs.errors.PendingApprovalError`). Never stored in state.
    """

    messages: DeltaMessages
    cancel_pending: NotRequired[
        Annotated[
            bool,
            Field(
                description="Cancel the approval this thread waits on (recorded as superseded, "
                "its tool call answered as not run) and run these messages instead."
            ),
        ]
    ]


class AgentOutput(TypedDict):
    """What a run returns: the conversation, the audit trail, and what the controls did.

    Attributes:
        messages: the conversation.
        approvals: the audit trail (approval records, and a ``run_stopped`` entry when a
            control stopped a run).
        fallbacks: one record per fallback switch of a model call (role, from and to model,
            error class, error), appended (`nodes.model_chain`).
        run_stop: why the latest stopped run stopped (a budget, a terminal error): kind,
            reason, detail, run id (`nodes.run_stop`); a later run is not affected.
        guardrail_flags: what a guardrail flagged, appended: a tool result, memory or passage
            that looks like a prompt injection (source, detector, score, rules, the original;
            `nodes.injection_screen`), a reply an output check changed (`nodes.output_guard`);
            ``agent-patterns audit`` prints them.

    A sub-agent compiled into a parent graph returns the last two as well, so a switch or a
    stop inside it is recorded in, and stops, the parent's run too.
    """

    messages: DeltaMessages
    approvals: Annotated[list[dict[str, Any]], operator.add]
    fallbacks: NotRequired[Annotated[list[dict[str, Any]], operator.add]]
    run_stop: NotRequired[dict[str, Any] | None]
    guardrail_flags: NotRequired[Annotated[list[dict[str, Any]], operator.add]]


class AgentState(AgentOutput):
    """Full state: the conversation, the audit trail and the recursion-limit guard.

    Attributes:
        messages: the conversation, merged by id (`add_messages` rules), stored as deltas
            (each checkpoint saves only its step's messages; see `state.messages_channel`).
        approvals: one `ApprovalRecord` dump per reviewed tool call, appended, never rewritten.
        remaining_steps: super-steps left before the recursion limit (managed by LangGraph).
        usage: token and cost totals of the thread's model calls, one `UsageTotals` added per
            call by `nodes.ask.invoke_model` (see `state.usage` and docs/usage.md).
        context_summary: the summary of the earlier conversation the ``summarize`` context
            window policy keeps and reuses (`nodes.window_call`, `state.window`).
    """

    remaining_steps: RemainingSteps
    usage: Annotated[UsageTotals, add_usage]
    context_summary: NotRequired[WindowSummary | None]
