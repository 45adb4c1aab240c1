"""State and context of the swarm: agents that hand the conversation to each other.

The swarm keeps who holds the conversation (``active_agent``) so the next user turn goes to
that agent, and an append-only trail of handoffs (from, to, reason, turn) so a run shows how
the conversation travelled and the graph can bound handoffs per user turn.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any

from state.agent import AgentOutput, AgentState
from state.shared_memory import SharedMemoryContext

__all__ = ["SwarmContext", "SwarmOutput", "SwarmState"]


class SwarmOutput(AgentOutput):
    """What a swarm run returns: the conversation, approvals, who holds it, the handoffs."""

    active_agent: str | None
    handoffs: Annotated[list[dict[str, Any]], operator.add]


class SwarmState(AgentState):
    """`AgentState` plus the agent holding the conversation and the handoff trail.

    Attributes:
        active_agent: the agent that answered last or was handed the conversation; the next
            user turn starts there (None: the swarm's default agent).
        handoffs: one record per handoff, appended: ``{"from", "to", "reason", "turn"}``
            (``turn`` counts user messages, so the records of the current turn are easy to
            find) and ``"status"``: ``"handed off"``, ``"unknown agent"`` or ``"refused"``
            (the per-turn limit was reached).
    """

    active_agent: str | None
    handoffs: Annotated[list[dict[str, Any]], operator.add]


@dataclass(kw_only=True)
class SwarmContext(SharedMemoryContext):
    """`AgentContext` plus the shared memory's scope and the limit on handoffs per user turn."""

    max_handoffs: int = field(
        default=4,
        metadata={
            "description": "Handoffs allowed per user turn. An agent that tries to hand off "
            "once more ends the turn with a message naming the agents that passed the "
            "conversation around, instead of looping."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.max_handoffs <= 50:
            raise ValueError(f"max_handoffs must be between 0 and 50, got {self.max_handoffs}")
