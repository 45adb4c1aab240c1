"""A market-expansion decision for the research pattern: meal kits in Germany?

Five workers (`market_workers`) with declared capabilities (`market_capabilities`): market
(demand, competition), regulatory (food law, labelling, tax), logistics (cold chain,
delivery), finance (unit economics, pricing) and a generalist that takes what matches no one.

Offline, on the demo model, the root and the workers play stand-ins registered by role
(`register_stand_ins`), from their declared inputs (`state.research.PlannerInputs`,
`WorkerInputs`, `SynthesisInputs`), never from the prompt's text:

- the planner breaks the goal into five workstreams, one of which (brand perception)
  matches no specialist and goes to the generalist;
- the logistics worker finds cold-chain logistics too broad and splits it into last-mile
  delivery and fulfilment (one level of recursion); at the depth limit it answers;
- the root's brief names the real conflict in the findings: the finance workstream's unit
  economics assume a delivery cost per box that the last-mile workstream found to be far
  higher outside the big cities. It also lists the workstreams' assumptions and gaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.agent_spec import AgentSpec
from state.research import (
    PLANNER_ROLE,
    SYNTHESIS_ROLE,
    WorkstreamRecord,
    worker_role,
)

__all__ = [
    "RESEARCH_REQUEST",
    "demo_planner",
    "demo_synthesis",
    "demo_worker",
    "market_capabilities",
    "market_workers",
    "register_stand_ins",
]

RESEARCH_REQUEST = "Should we expand our meal-kit service to Germany next year?"

_WORKERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "market": (
        "You research demand, market size and competitors.",
        ("market size", "demand", "competit"),
    ),
    "regulatory": (
        "You research food law, labelling, packaging and tax rules.",
        ("regulat", "food law", "labelling", "tax"),
    ),
    "logistics": (
        "You research cold-chain supply, fulfilment and delivery.",
        ("cold chain", "logistics", "delivery", "fulfilment"),
    ),
    "finance": (
        "You research unit economics, pricing and payback.",
        ("unit economics", "pricing", "margin", "payback"),
    ),
    "generalist": ("You research whatever no specialist covers, carefully and briefly.", ()),
}

_PLAN = [
    {
        "name": "Market size and competition",
        "deliverable": "Addressable demand for meal kits in Germany and the competitors.",
        "questions": ["How large is the market?", "Who are the competitors and their share?"],
    },
    {
        "name": "Food regulation and labelling",
        "deliverable": "The food law, labelling and tax rules a meal-kit service must meet.",
        "questions": ["Which labelling rules apply?", "Which VAT rate applies to meal kits?"],
    },
    {
        "name": "Cold chain logistics",
        "deliverable": "How boxes reach customers chilled, and at what cost per box.",
        "questions": ["Can partners deliver chilled boxes nationwide?", "What does it cost?"],
    },
    {
        "name": "Unit economics",
        "deliverable": "Contribution margin per box at German pricing, and payback.",
        "questions": ["What price per serving?", "What margin per box, and payback period?"],
    },
    {
        "name": "Brand perception",
        "deliverable": "How German consumers would see our brand.",
        "questions": ["Is the brand known?", "Which claims resonate?"],
    },
]

_SPLIT = [
    {
        "name": "Last-mile delivery",
        "deliverable": "Chilled last-mile delivery coverage and cost per box, by region.",
        "questions": ["Which carriers deliver chilled?", "What does a box cost outside metros?"],
    },
    {
        "name": "Fulfilment centre",
        "deliverable": "Where one fulfilment centre would sit and what it costs.",
        "questions": ["Where to place it?", "What does it cost to run?"],
    },
]

_REPORTS: dict[str, dict[str, Any]] = {
    "Market size and competition": {
        "findings": [
            {
                "claim": "Germany's meal-kit market is about EUR 1.1bn and growing 6% a year.",
                "evidence": "Industry panel estimate 2025; growth from three years of filings.",
            },
            {
                "claim": "Two incumbents hold about 80% of the market.",
                "evidence": "Panel share data; both compete on price promotions.",
            },
        ],
        "assumptions": ["Panel estimates reflect online orders, not supermarket kits."],
        "gaps": ["No survey of German customers' reasons for cancelling meal kits."],
    },
    "Food regulation and labelling": {
        "findings": [
            {
                "claim": "Labels must follow EU 1169/2011 in German, with allergens highlighted.",
                "evidence": "EU food information regulation; German implementing rules (LMIV).",
            },
            {
                "claim": "Meal kits are food at the reduced 7% VAT rate.",
                "evidence": "German VAT law, reduced rate for food deliveries without service.",
            },
        ],
        "assumptions": ["Kits without prepared dishes stay in the 7% VAT band."],
        "gaps": ["No ruling yet from the tax office on our bundled wine add-on."],
    },
    "Last-mile delivery": {
        "findings": [
            {
                "claim": "Chilled last-mile delivery costs about EUR 4.50 a box in the top "
                "five metros but EUR 8.20 a box elsewhere.",
                "evidence": "Quotes from two chilled carriers for 2,000 boxes a week.",
            },
            {
                "claim": "About 55% of the target customers live outside the top five metros.",
                "evidence": "Census household data for the target income band.",
            },
        ],
        "assumptions": ["Carrier quotes hold at launch volumes."],
        "gaps": ["No quote from a third carrier for rural postcodes."],
    },
    "Fulfilment centre": {
        "findings": [
            {
                "claim": "One fulfilment centre near Kassel reaches 90% of households overnight.",
                "evidence": "Drive-time analysis from the logistics partner.",
            }
        ],
        "assumptions": ["A leased site is available within six months."],
        "gaps": [],
    },
    "Unit economics": {
        "findings": [
            {
                "claim": "At EUR 5.20 a serving a box earns a 28% contribution margin, "
                "assuming EUR 4.50 delivery cost per box.",
                "evidence": "Our Dutch cost base with German wages and the 7% VAT rate.",
            },
            {
                "claim": "Payback is 14 months at 40,000 active customers.",
                "evidence": "Customer acquisition cost EUR 85 from the Dutch launch.",
            },
        ],
        "assumptions": ["Customer acquisition costs in Germany match the Netherlands."],
        "gaps": ["No German price test yet."],
    },
}

_CLAIM_DEFAULT = "No specific data found for this workstream in the time available."


def market_workers() -> list[AgentSpec]:
    """The five workers of the market-expansion research."""
    return [
        AgentSpec(name, f"The {name} research specialist.", instructions=text)
        for name, (text, _) in _WORKERS.items()
    ]


def market_capabilities() -> dict[str, tuple[str, ...]]:
    """Each worker's declared capabilities (the generalist declares none)."""
    return {name: caps for name, (_, caps) in _WORKERS.items() if caps}


def demo_planner(**_: Any) -> ScriptedChatModel:
    """The root's plan: the five workstreams of the market-expansion question."""
    return ScriptedChatModel(replies=[{"workstreams": _PLAN}], cycle=True)


def _report(workstream: Mapping[str, Any], may_split: bool) -> dict[str, Any]:
    """A worker's report on `workstream`, from its name (a split where one is planned)."""
    name = str(workstream.get("name", ""))
    if name == "Cold chain logistics" and may_split:
        return {"kind": "split", "split": _SPLIT}
    if name in _REPORTS:
        return {"kind": "findings", **_REPORTS[name]}
    if name == "Brand perception":
        findings = [
            {
                "claim": "Our brand is unknown in Germany; sustainability claims test best.",
                "evidence": "Unaided awareness under 2% in a 500-person online panel.",
            }
        ]
        return {"kind": "findings", "findings": findings, "assumptions": [], "gaps": []}
    findings = [{"claim": f"{name}: {_CLAIM_DEFAULT}", "evidence": ""}]
    gaps = [f"Primary research on {name.lower()}."]
    return {"kind": "findings", "findings": findings, "assumptions": [], "gaps": gaps}


def demo_worker(
    *, workstream: Mapping[str, Any] | None = None, may_split: bool = False, **_: Any
) -> ScriptedChatModel:
    """A worker's report from its declared inputs (`state.research.WorkerInputs`)."""
    return ScriptedChatModel(replies=[_report(workstream or {}, may_split)], cycle=True)


def _by_name(records: Sequence[WorkstreamRecord], name: str) -> WorkstreamRecord | None:
    return next((r for r in records if r["name"] == name and r["status"] == "done"), None)


def _brief(records: Sequence[WorkstreamRecord]) -> dict[str, Any]:
    """The root's brief from the workstreams it receives (ids only from them)."""
    conflicts = []
    delivery, economics = (
        _by_name(records, "Last-mile delivery"),
        _by_name(records, "Unit economics"),
    )
    if delivery is not None and economics is not None:
        conflicts.append(
            {
                "workstreams": [economics["id"], delivery["id"]],
                "description": "The unit economics assume EUR 4.50 delivery per box; last-mile "
                "quotes are EUR 8.20 outside the top five metros, where 55% of the target "
                "customers live, so the 28% margin holds only in the metros.",
            }
        )
    done = [r for r in records if r["status"] == "done"]
    assumptions = [{"workstream": r["id"], "text": a} for r in done for a in r["assumptions"]]
    gaps = [{"workstream": r["id"], "text": g} for r in done for g in r["gaps"]]
    return {
        "summary": "Germany is a large, growing meal-kit market with clear rules, but two "
        "incumbents compete on price and delivery outside the big cities costs far more "
        "than the business case assumes.",
        "recommendation": "Launch in the top five metros only, re-run the unit economics "
        "with regional delivery costs, and run a German price test before going national.",
        "conflicts": conflicts,
        "unsupported_assumptions": assumptions,
        "missing_evidence": gaps,
    }


def demo_synthesis(*, workstreams: Sequence[WorkstreamRecord] = (), **_: Any) -> ScriptedChatModel:
    """The root's brief from its declared inputs (`state.research.SynthesisInputs`)."""
    return ScriptedChatModel(replies=[_brief(workstreams)], cycle=True)


def register_stand_ins() -> None:
    """Register the root's two roles' and every worker's offline stand-ins."""
    register_offline(PLANNER_ROLE, demo_planner)
    register_offline(SYNTHESIS_ROLE, demo_synthesis)
    for name in _WORKERS:
        register_offline(worker_role(name), demo_worker)
