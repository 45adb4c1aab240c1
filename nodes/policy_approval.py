"""Approvals a pattern's own rule grants, bound in the ledger like a person's.

Some calls need no person: the orchestrator's rules approved a refund, its processing note is
bookkeeping. The pattern still binds an approval record to the call (reviewer
``policy:<name>``), so the tool node's rule, "no decision in the ledger, no side effect",
holds for every call, and the audit trail shows which rule approved what.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import ToolCall

from checkpointers.ledger import EffectLedger, args_hash
from nodes.approval_gate import bind_decision
from state.approval import ApprovalRecord

__all__ = ["approve_by_policy"]


def approve_by_policy(
    ledger: EffectLedger, call: ToolCall, *, reviewer: str, policy: str, reason: str
) -> dict[str, Any]:
    """Bind an ``accept`` by `reviewer` to `call` in the ledger; return the audit record.

    Args:
        ledger: the run's effect ledger.
        call: the call approved (its id and exact arguments are bound).
        reviewer: who approved (``policy:<name>``).
        policy: the policy named in the audit trail.
        reason: why the rule approved it.

    Raises:
        RuntimeError: the run has no thread id (no checkpointer).
    """
    args = dict(call["args"])
    record = ApprovalRecord(
        tool_call_id=call["id"] or "",
        action=call["name"],
        args=args,
        decision="accept",
        reviewer=reviewer,
        reason=reason,
        policy=policy,
        requested_at=datetime.now(UTC).isoformat(),
        args_hash=args_hash(args),
    ).model_dump(mode="json")
    bind_decision(ledger, record)
    return record
