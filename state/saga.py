"""The saga record in a pattern's state: which effects a failed run undid, and how.

A pattern that can compensate adds `SagaState` to its state. `nodes.saga.start_saga` opens
the record when the pattern decides its run failed after side effects; the saga's nodes fill
it in; the report closes it. Everything in it is a record for readers: the effects to undo
are confirmed in the effect ledger, and every compensating call passes the approval gate, so
nothing written here can cause or approve an action.
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict

__all__ = ["SagaRecord", "SagaState", "SagaStatus", "UndoRecord"]

SagaStatus = Literal["compensating", "compensated", "partly_compensated", "nothing_to_undo"]


class UndoRecord(TypedDict, total=False):
    """One planned compensation and what became of it.

    Attributes:
        call_id: the compensating call's id (``undo-<original call id>``).
        undoes: the original call's id.
        undoes_tool: the original tool (``issue_refund``).
        tool: the compensating tool (``reverse_refund``).
        args: the compensating call's arguments (from the ledger's args and result).
        description: what undoing means (the declaration's, or the tool's name).
        outcome: ``undone``, ``rejected``, ``failed``, ``unknown`` or ``not_planned`` (the
            compensation could not be built); set by the report.
        detail: the compensating tool's answer, or why it was not run.
    """

    call_id: str
    undoes: str
    undoes_tool: str
    tool: str
    args: dict[str, Any]
    description: str
    outcome: str
    detail: str


class SagaRecord(TypedDict, total=False):
    """The saga of one failed run.

    Attributes:
        status: ``compensating`` while it runs; then ``compensated`` (every effect undone),
            ``partly_compensated`` (some were not: rejected, failed) or ``nothing_to_undo``.
        reason: why the run failed (what the pattern said).
        effects: the call ids the pattern named as this run's effects, oldest first.
        planned: the compensations, newest effect first (None until planned).
        not_compensable: effects without a declared compensation (reported, left in place).
    """

    status: SagaStatus
    reason: str
    effects: list[str]
    planned: list[UndoRecord] | None
    not_compensable: list[dict[str, Any]]


class SagaState(TypedDict, total=False):
    """Mixed into the state of a pattern that compensates (`graphs._saga.add_saga`).

    Attributes:
        saga: the latest failed run's saga, or None (a new turn clears it).
    """

    saga: SagaRecord | None
