"""Vendor-contract intake: the sequential pipeline's demo scenario (seed 003, pattern 2).

Legal operations receives a vendor contract; three narrow stages review it in a fixed order:

1. ``extract_obligations`` finds the concrete obligations (parties, dates, amounts,
   deliverables) with the read-only `find_clauses` tool, which searches the contract in the
   stage's own input;
2. ``assess_risks`` lists the operational, financial and compliance risks (no legal advice);
   the served pipeline pauses after it for a person to accept, edit or reject the risks;
3. ``draft_review_packet`` writes the packet for the procurement manager: obligations, risks
   and questions for counsel.

`SAMPLE_CONTRACT` is the contract the demo ships; `CONTRACT_REQUEST` asks for its review.
`register_stand_ins` registers the stages' offline stand-ins (`demo.contract_review_stand_ins`)
so the served graph runs without an API key.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import HumanMessage
from langgraph.prebuilt import InjectedState
from pydantic import BaseModel, Field

from demo.contract_review_stand_ins import STAND_INS, clause_line, clauses
from models.offline import register_offline
from state.agent_spec import AgentSpec
from state.pipeline import stage_role
from tools.registry import agent_tool

__all__ = [
    "CONTRACT_REQUEST",
    "SAMPLE_CONTRACT",
    "STAGE_NAMES",
    "clauses",
    "contract_stages",
    "find_clauses",
    "register_stand_ins",
]

_CLAUSES = (
    "MASTER SERVICES AGREEMENT (NORTHWIND LOGISTICS)",
    (
        '1. Parties. This agreement is between Acme Retail Ltd ("Customer") and Northwind '
        'Logistics GmbH ("Vendor"), effective 1 March 2027.'
    ),
    (
        "2. Services. Vendor shall provide warehousing and last-mile delivery for Customer's "
        "orders in the EU."
    ),
    (
        "3. Service levels. Vendor shall deliver 98% of orders within 2 business days each "
        "calendar month; for each full percentage point below that, Vendor shall credit 2% of "
        "that month's fees."
    ),
    (
        "4. Fees. Customer shall pay EUR 42,000 per month, invoiced monthly in advance and "
        "payable within 15 days; late payments bear interest of 1.5% per month."
    ),
    (
        "5. Price changes. Vendor may increase the fees once per year by up to 8% with 30 days'"
        " written notice."
    ),
    (
        "6. Term and renewal. The initial term is 24 months. The agreement renews automatically"
        " for successive 12-month terms unless either party gives written notice at least 90 "
        "days before the end of a term."
    ),
    (
        "7. Termination. Customer may terminate for convenience with 180 days' notice and "
        "payment of an early termination fee equal to three months of fees."
    ),
    (
        "8. Liability. Vendor's total liability under this agreement is limited to the fees "
        "paid in the 3 months before the claim. Customer's liability is unlimited."
    ),
    (
        "9. Data protection. Vendor shall process Customer's personal data only on Customer's "
        "instructions and shall notify Customer of a personal data breach within 72 hours."
    ),
    ("10. Subcontracting. Vendor may subcontract any of the services without Customer's consent."),
    "11. Governing law. This agreement is governed by the laws of Germany.",
)
SAMPLE_CONTRACT = "\n".join(_CLAUSES) + "\n"
"""The vendor contract the demo reviews (numbered clauses, one per line)."""

CONTRACT_REQUEST = (
    "Review this vendor contract for our procurement manager: obligations, risks and "
    "questions for counsel.\n\n" + SAMPLE_CONTRACT
)
"""The served pipeline's demo request."""

STAGE_NAMES = ("extract_obligations", "assess_risks", "draft_review_packet")


class FindClausesArgs(BaseModel):
    """Arguments of `find_clauses`."""

    query: str = Field(
        min_length=1,
        description="Words to look for, separated by commas (any of them matches), e.g. "
        "'shall, must, payment'.",
    )


@agent_tool(args_schema=FindClausesArgs, side_effects=False)
def find_clauses(query: str, state: Annotated[dict[str, Any], InjectedState]) -> str:
    """Search the contract under review (in your task) for clauses containing any query word."""
    task = next(
        (m.text for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)), ""
    )
    words = [w.strip().lower() for w in query.split(",") if w.strip()]
    hits = [c for c in clauses(task) if any(w in clause_line(c).lower() for w in words)]
    if not hits:
        return f"No clause mentions {query!r}."
    return "\n".join(clause_line(c) for c in hits)


def contract_stages() -> list[AgentSpec]:
    """The three stages of the contract-intake pipeline (narrow prompts, in order)."""
    return [
        AgentSpec(
            "extract_obligations",
            "extracts the concrete obligations of a vendor contract",
            instructions="Extract concrete obligations from the vendor contract in your task. "
            "Use find_clauses to find them. Return only obligations with dates, parties, "
            "amounts or deliverables, one per line, citing the clause number.",
            tools=(find_clauses,),
        ),
        AgentSpec(
            "assess_risks",
            "identifies operational, financial and compliance risks of a contract",
            instructions="You are a contract risk reviewer. From the contract and the "
            "obligations you are given, list operational, financial and compliance risks, "
            "each with a severity (High, Medium, Low) and its clause. Do not give legal advice.",
        ),
        AgentSpec(
            "draft_review_packet",
            "drafts a contract review packet for a procurement manager",
            instructions="Prepare a concise contract review packet for a procurement manager "
            "from the contract and the risks you are given: the parties, key obligations, the "
            "risks, and questions for counsel.",
        ),
    ]


def register_stand_ins() -> None:
    """Register the offline stand-ins of the three stages (the served graph's wiring)."""
    for stage, factory in STAND_INS.items():
        register_offline(stage_role(stage), factory)
