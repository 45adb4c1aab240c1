"""Sagas: when a run fails after side effects, undo them, newest first, through the gate.

A pattern decides when its run failed (the orchestrator's processing note could not be
posted after the refund; a plan step failed after earlier steps resized the fleet) and calls
`start_saga` with the ids of the tool calls that were this run's effects. The saga:

1. **plans** from the effect ledger, not from state: only calls the ledger shows completed
   successfully count, newest first (by completion time); each one whose tool declares a
   `tools.compensation.Compensation` gets a compensating call with id ``undo-<call id>`` and
   arguments built from the ledger's record of the original call and its result; effects
   without a declaration, or whose outcome is unknown, are listed as left in place;
2. **compensates** one call at a time (`make_compensate`): each passes the approval gate under
   the run's approval policy and runs in the shared tool node, so the ledger makes it happen
   exactly once across crashes, resumes and redeliveries; a rejected or failed compensation
   is recorded and the saga goes on with the next one;
3. **reports** (`make_report_saga`) what was undone, what was not and why, in state
   (``saga``) and in the closing AI message.

`graphs._saga.add_saga` wires the three nodes, the gate and the tool node into a pattern.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from langgraph.types import Send

from checkpointers.ledger import EffectLedger, LedgerEntry
from nodes.approval_gate import gate_sends, needs_approval
from nodes.context import agent_context
from state.context import AgentContext
from state.saga import SagaRecord, UndoRecord
from tools.compensation import compensation_of

__all__ = [
    "SAGA_NAME",
    "UNDO_PREFIX",
    "compensation_tools",
    "make_compensate",
    "make_report_saga",
    "make_route_compensation",
    "plan_compensations",
    "start_saga",
]

SAGA_NAME = "saga"
"""The name on the saga's AI messages (its compensating calls and its report)."""

UNDO_PREFIX = "undo-"
"""Prefix of a compensating call's id: ``undo-<original call id>``."""


def compensation_tools(tools: Iterable[BaseTool]) -> dict[str, BaseTool]:
    """The compensating tools `tools` declare, by name."""
    found: dict[str, BaseTool] = {}
    for tool in tools:
        compensation = compensation_of(tool)
        if compensation is not None:
            found[compensation.tool.name] = compensation.tool
    return found


def _succeeded(entry: LedgerEntry) -> bool:
    return entry.status == "completed" and entry.result_status != "error"


def _undo(entry: LedgerEntry, tool: BaseTool | None) -> UndoRecord | dict[str, Any]:
    """The compensation of one effect, or the record of why it is left in place."""
    compensation = compensation_of(tool)
    if compensation is None:
        return {
            "call_id": entry.tool_call_id,
            "tool": entry.tool,
            "why": "no compensation declared",
        }
    record = UndoRecord(
        call_id=f"{UNDO_PREFIX}{entry.tool_call_id}",
        undoes=entry.tool_call_id,
        undoes_tool=entry.tool,
        tool=compensation.tool.name,
        description=compensation.description or compensation.tool.name,
    )
    try:
        record["args"] = compensation.call_args(entry.args, entry.result)
    except ValueError as exc:
        record["args"], record["outcome"], record["detail"] = {}, "not_planned", str(exc)
    return record


def plan_compensations(
    ledger: EffectLedger,
    thread_id: str,
    effects: Sequence[str],
    tools_by_name: Mapping[str, BaseTool],
) -> tuple[list[UndoRecord], list[dict[str, Any]]]:
    """The compensations of a run's effects, newest first, and the effects left in place.

    Args:
        ledger: the run's effect ledger (the authority on what happened).
        thread_id: the run's thread.
        effects: the call ids the pattern names as this run's effects; ids the ledger does
            not show as completed successfully are ignored (they had no effect to undo).
        tools_by_name: the pattern's tools (their declarations say how to undo).

    Returns:
        ``(planned, left)``: `UndoRecord` per compensable effect, newest first; and, per
        effect that cannot be undone here, ``{"call_id", "tool", "why"}``.
    """
    wanted = {call_id: index for index, call_id in enumerate(effects)}
    entries = [e for e in ledger.entries(thread_id) if e.tool_call_id in wanted]
    left: list[dict[str, Any]] = [
        {"call_id": e.tool_call_id, "tool": e.tool, "why": "its outcome is unknown"}
        for e in entries
        if e.status == "unknown"
    ]
    done = sorted(
        (e for e in entries if _succeeded(e)),
        key=lambda e: (e.completed_at or "", wanted[e.tool_call_id]),
        reverse=True,
    )
    planned: list[UndoRecord] = []
    for entry in done:
        undo = _undo(entry, tools_by_name.get(entry.tool))
        if "why" in undo:
            left.append(dict(undo))
        else:
            planned.append(UndoRecord(**undo))  # type: ignore[typeddict-item]
    return planned, left


def start_saga(
    ledger: EffectLedger,
    thread_id: str | None,
    reason: str,
    effects: Sequence[str],
    tools_by_name: Mapping[str, BaseTool],
) -> dict[str, Any]:
    """The state update that starts a saga, or ``{}`` when no effect can be undone.

    Call it from the node that finds the run failed; route to the saga when the update's
    ``saga`` is ``compensating`` (`graphs._saga.saga_started`).

    Args:
        ledger: the run's effect ledger.
        thread_id: the run's thread (None: nothing is recorded, so nothing to undo).
        reason: why the run failed, for the reviewer of each compensation and the report.
        effects: the call ids of this run's effects, oldest first.
        tools_by_name: the pattern's tools.
    """
    if thread_id is None:
        return {}
    planned, left = plan_compensations(ledger, thread_id, effects, tools_by_name)
    if not planned:
        return {}
    saga = SagaRecord(
        status="compensating",
        reason=reason,
        effects=list(effects),
        planned=planned,
        not_compensable=left,
    )
    return {"saga": saga}


def _answers(messages: Sequence[AnyMessage]) -> dict[str, ToolMessage]:
    return {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}


def _next_undo(state: Mapping[str, Any]) -> UndoRecord | None:
    saga = state.get("saga") or {}
    answered = _answers(state.get("messages") or [])
    for undo in saga.get("planned") or []:
        if undo.get("outcome") != "not_planned" and undo["call_id"] not in answered:
            return UndoRecord(**undo)
    return None


def make_compensate() -> Any:
    """Build the node that proposes the next compensating call (one per visit)."""

    def compensate(state: Mapping[str, Any]) -> dict[str, Any]:
        """Propose the next planned compensation not answered yet; nothing when all are."""
        undo = _next_undo(state)
        if undo is None:
            return {}
        call = ToolCall(name=undo["tool"], args=undo["args"], id=undo["call_id"], type="tool_call")
        text = f"Undoing {undo['undoes_tool']} ({undo['undoes']}): {undo['description']}."
        return {"messages": [AIMessage(content=text, name=SAGA_NAME, tool_calls=[call])]}

    return compensate


def make_route_compensation(
    compensators: Mapping[str, BaseTool], *, gate: str, run: str, report: str
) -> Any:
    """Build the router after `make_compensate`: the gate, the tool node, or the report."""

    def route_compensation(
        state: Mapping[str, Any], runtime: Runtime[AgentContext]
    ) -> str | list[Send]:
        """The proposed compensation to the gate (or straight to the tool node); else report."""
        last = state["messages"][-1]
        if not (isinstance(last, AIMessage) and last.name == SAGA_NAME and last.tool_calls):
            return report
        context = agent_context(runtime)
        pending = [
            c for c in last.tool_calls if needs_approval(c, compensators, context.approval_policy)
        ]
        if not pending:
            return run
        reason = (state.get("saga") or {}).get("reason") or "the run failed"
        note = f"Compensation: the run failed ({reason}); this undoes an earlier effect."
        return gate_sends(pending, context, node=gate, note=note, policy="saga")

    return route_compensation


def _outcome(answer: ToolMessage | None) -> str:
    if answer is None:
        return "not_run"
    text = answer.text
    if text.startswith("Outcome unknown"):
        return "unknown"
    if text.startswith("Rejected by") or text.startswith("Not run."):
        return "rejected"
    return "failed" if answer.status == "error" else "undone"


def _report_text(saga: SagaRecord) -> str:
    lines = [f"The run failed ({saga.get('reason')}), so its earlier effects were undone:"]
    for undo in saga.get("planned") or []:
        verdict = "Undone" if undo.get("outcome") == "undone" else f"NOT undone ({undo['outcome']})"
        lines.append(
            f"- {verdict}: {undo['undoes_tool']} ({undo['undoes']}) with {undo['tool']}: "
            f"{undo.get('detail', '')}"
        )
    for left in saga.get("not_compensable") or []:
        lines.append(f"- Left in place: {left['tool']} ({left['call_id']}): {left['why']}")
    if saga.get("status") != "compensated":
        lines.append("A person must check what was not undone.")
    return "\n".join(lines)


def make_report_saga() -> Any:
    """Build the node that closes the saga: outcomes in state and one AI message."""

    def report_saga(state: Mapping[str, Any]) -> dict[str, Any]:
        """Record what each compensation did and say it."""
        saga = SagaRecord(**(state.get("saga") or {}))
        answers = _answers(state.get("messages") or [])
        planned: list[UndoRecord] = []
        for undo in saga.get("planned") or []:
            if undo.get("outcome") == "not_planned":
                planned.append(undo)
                continue
            answer = answers.get(undo["call_id"])
            detail = answer.text[:500] if answer is not None else "not run"
            closed = UndoRecord(**undo)
            closed["outcome"], closed["detail"] = _outcome(answer), detail
            planned.append(closed)
        all_undone = all(u.get("outcome") == "undone" for u in planned)
        saga["planned"] = planned
        clean = all_undone and not saga.get("not_compensable")
        saga["status"] = "compensated" if clean else "partly_compensated"
        return {"saga": saga, "messages": [AIMessage(content=_report_text(saga), name=SAGA_NAME)]}

    return report_saga
