"""State and runtime settings of the router pattern: the routing decision, kept in state.

A `RouteDecision` is what every routing strategy returns (and what a model fills in through
structured output). The graph stores it as a JSON-safe dict in ``state["route"]`` together with
where the request actually went, and appends it to ``state["route_history"]``, so misroutes
can be found later from the checkpoints alone.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from state.agent import AgentOutput, AgentState
from state.context import AgentContext

__all__ = [
    "ROUTER_ROLE",
    "RouteDecision",
    "RouteHints",
    "RouterContext",
    "RouterOutput",
    "RouterState",
    "RoutingStrategy",
]

RoutingStrategy = Literal["rules", "embeddings", "model", "hybrid"]

ROUTER_ROLE = "router.route"
"""The model strategy's role: a run on the offline demo model plays its registered stand-in
(`models.offline`; the demo's is `demo.routing_stand_in`)."""


@dataclass(frozen=True)
class RouteHints:
    """How the router recognises one agent's requests, kept apart from its `AgentSpec`.

    Attributes:
        rules: regular expressions for the rules strategy (`nodes.routers.RuleRouter`).
        examples: labelled example requests for the embeddings strategy.
    """

    rules: Sequence[str] = ()
    examples: Sequence[str] = ()


class RouteDecision(BaseModel):
    """Which specialist should handle a request, how sure the strategy is, and why."""

    specialist: str = Field(description="Name of the specialist that should handle the request.")
    confidence: float = Field(
        ge=0.0, le=1.0, description="How sure the decision is, from 0 (a guess) to 1 (certain)."
    )
    reason: str = Field(description="One sentence: why this specialist.")
    strategy: str = Field(
        default="model", description="Which strategy decided: rules, embeddings or model."
    )

    @field_validator("confidence", mode="before")
    @classmethod
    def _clip(cls, value: Any) -> Any:
        """Clip a number outside [0, 1] (models overshoot); leave other values to validation."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return min(1.0, max(0.0, float(value)))
        return value


class RouterOutput(AgentOutput):
    """What a router run returns: the conversation, approvals and the routing decisions."""

    route: dict[str, Any] | None
    route_history: Annotated[list[dict[str, Any]], operator.add]


class RouterState(AgentState):
    """`AgentState` plus the routing decision.

    Attributes:
        route: the latest decision as a dict: `RouteDecision` fields plus ``routed_to`` (the
            specialist that ran, or ``"triage"`` when the confidence was below ``threshold``),
            ``threshold`` and ``basis`` (what it rests on: ``latest``, ``confirmed``,
            ``conversation`` or ``follow-up``; see `nodes.routers.ConversationRouter`). The
            next turn reads it (a vague follow-up stays with the same specialist).
        route_history: every decision of the thread, appended (for misroute analysis).
    """

    route: dict[str, Any] | None
    route_history: Annotated[list[dict[str, Any]], operator.add]


@dataclass(kw_only=True)
class RouterContext(AgentContext):
    """`AgentContext` plus how the router decides."""

    routing_strategy: RoutingStrategy = field(
        default="hybrid",
        metadata={
            "description": "How requests are routed: 'rules' (keywords and regexes), "
            "'embeddings' (similarity to labelled examples), 'model' (the chat model with "
            "structured output) or 'hybrid' (rules, then embeddings, then the model; the "
            "first decision at or above the threshold wins)."
        },
    )
    confidence_threshold: float = field(
        default=0.5,
        metadata={
            "description": "Below this confidence the request goes to triage (a clarifying "
            "question naming the best guess and listing the departments) instead of a "
            "specialist."
        },
    )
    embeddings: str = field(
        default="hash",
        metadata={
            "description": "Embeddings spec for the embedding router: 'hash' (offline, "
            "shared words only), 'chroma-default' or 'openai:<model>'."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.routing_strategy not in ("rules", "embeddings", "model", "hybrid"):
            raise ValueError(
                "routing_strategy must be 'rules', 'embeddings', 'model' or 'hybrid', "
                f"got {self.routing_strategy!r}"
            )
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(
                f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}"
            )
