"""Wiring a saga into a pattern's graph: four nodes and the route into them.

`add_saga` adds, under fixed names, `nodes.saga`'s nodes plus an approval gate and a tool node
over the compensating tools the pattern's tools declare::

    <pattern node> ─(saga_started)─► compensate ─┬─(needs approval: Send)─► compensation_gate ─┐
                                        ▲        ├─(no approval needed)──► run_compensation ◄─┘
                                        │        └─(none left)───────────► report_saga ─► END
                                        └──────────────────────────────── run_compensation

The pattern routes to `COMPENSATE` from the node that called `nodes.saga.start_saga`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.tools import BaseTool
from langgraph.graph import END, StateGraph

from checkpointers.ledger import EffectLedger
from nodes.approval_gate import make_approval_gate
from nodes.saga import (
    compensation_tools,
    make_compensate,
    make_report_saga,
    make_route_compensation,
)
from nodes.tool_execution import DEFAULT_TOOL_TIMEOUT_S, make_run_tools

__all__ = ["COMPENSATE", "SAGA_NODES", "add_saga", "saga_started"]

COMPENSATE = "compensate"
GATE = "compensation_gate"
RUN = "run_compensation"
REPORT = "report_saga"
SAGA_NODES = (COMPENSATE, GATE, RUN, REPORT)
"""The nodes `add_saga` adds (a pattern may not use these names)."""


def saga_started(state: Mapping[str, Any]) -> bool:
    """Whether the latest step opened a saga that has not been reported yet."""
    return (state.get("saga") or {}).get("status") == "compensating"


def add_saga(
    builder: StateGraph[Any, Any, Any, Any],
    tools: Iterable[BaseTool],
    *,
    ledger: EffectLedger,
    timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
    finish: str = END,
) -> None:
    """Add the saga's nodes to `builder` (see the module docs' drawing).

    Args:
        builder: the pattern's graph builder; its state must include `state.saga.SagaState`
            and its context `state.context.AgentContext`'s approval fields.
        tools: the pattern's tools; the compensating tools they declare are the saga's.
        ledger: the pattern's effect ledger (the gate binds decisions in it, the tool node
            records the compensations in it).
        timeout_s: the tool node's default timeout per compensating call.
        finish: where the saga's report goes.
    """
    compensators = compensation_tools(tools)
    builder.add_node(COMPENSATE, make_compensate())
    builder.add_node(GATE, make_approval_gate(compensators, ledger=ledger))
    builder.add_node(RUN, make_run_tools(compensators, ledger=ledger, timeout_s=timeout_s))
    builder.add_node(REPORT, make_report_saga())
    builder.add_conditional_edges(
        COMPENSATE,
        make_route_compensation(compensators, gate=GATE, run=RUN, report=REPORT),
        [GATE, RUN, REPORT],
    )
    builder.add_edge(GATE, RUN)
    builder.add_edge(RUN, COMPENSATE)
    builder.add_edge(REPORT, finish)
