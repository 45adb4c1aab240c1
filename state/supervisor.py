"""State and context of the supervisor pattern (`graphs.supervisor`)."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from typing_extensions import TypedDict

from state.agent import AgentOutput, AgentState
from state.shared_memory import SharedMemoryContext

__all__ = [
    "SUPERVISOR_SYSTEM_PROMPT",
    "DelegationRecord",
    "DelegationStatus",
    "SupervisorContext",
    "SupervisorOutput",
    "SupervisorState",
    "WorkerTask",
]

SUPERVISOR_SYSTEM_PROMPT = (
    "You are a supervisor. You do not do the work yourself: you delegate it to your workers "
    "with the delegate_to_<worker> tools. Each worker sees only the task you write, so put "
    "everything it needs into the task (including facts earlier workers reported). Read "
    "their results, delegate the next step, and when the work is done answer the user "
    "with what the workers found and did."
)

DelegationStatus = Literal["completed", "failed", "stopped"]
"""How a delegation ended: the worker answered, raised, or stopped at its own budget."""


class DelegationRecord(TypedDict):
    """One finished delegation, appended to ``state["delegations"]`` (observability)."""

    worker: str
    task: str
    tool_call_id: str
    status: DelegationStatus


class WorkerTask(TypedDict):
    """What the supervisor's router sends to a worker node (one `Send` per delegation)."""

    worker: str
    task: str
    tool_call_id: str
    tool_name: str
    history: NotRequired[list[AnyMessage]]
    """The supervisor's transcript before the delegating turn (only with full history)."""


class SupervisorOutput(AgentOutput):
    """What a supervisor run returns: conversation, approvals (all levels), delegations."""

    delegations: Annotated[list[dict[str, Any]], operator.add]


class SupervisorState(AgentState):
    """Full supervisor state.

    Attributes:
        messages: the supervisor's conversation: the user, its own replies and one
            `ToolMessage` per delegation carrying the worker's result. Workers' inner steps
            live in their own (subgraph) checkpoints, not here.
        approvals: the audit trail of every level: approvals decided inside a worker are
            copied here, tagged ``agent`` with the worker's path (``writer``,
            ``team/writer``).
        delegations: one `DelegationRecord` per finished delegation, appended.
    """

    delegations: Annotated[list[dict[str, Any]], operator.add]


@dataclass(kw_only=True)
class SupervisorContext(SharedMemoryContext):
    """Run settings of a supervisor: `AgentContext`'s fields and the shared memory's scope.

    ``model``, ``approval_policy``, the approval deadline settings, ``max_steps`` and
    ``shared_memory_scope`` are handed down to every worker, so one run's choices hold at
    every level. The system prompt is the supervisor's own; each worker keeps its own
    prompt (its spec's instructions).
    """

    system_prompt: str = field(
        default=SUPERVISOR_SYSTEM_PROMPT,
        metadata={
            "description": "The supervisor's system prompt (workers keep their own prompts)."
        },
    )
