"""Budgets as the operations views show them: caps and spend per scope.

The caps and the spend are `nodes.budget_caps.Budgets`, kept beside the checkpointer's
checkpoints (the same tables ``agent-patterns budgets`` edits and the graphs charge).
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpointers.budget_caps import Caps
from nodes.budget_caps import Budgets, Spend

__all__ = ["budget_overview"]


def budget_overview(
    checkpointer: BaseCheckpointSaver, user_id: str | None = None
) -> list[tuple[str, Caps | None, Spend]]:
    """Caps and spend per scope: those that apply to `user_id`, or every scope (None).

    Args:
        checkpointer: the saver whose budget tables to read.
        user_id: only the scopes that apply to this user (`Budgets.scopes_of`).

    Returns:
        ``(scope, caps or None, spend)`` per scope, as `Budgets.show` lists them.
    """
    return Budgets.for_checkpointer(checkpointer).show(user_id)
