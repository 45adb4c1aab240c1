"""Each pattern's seed scenario: what ``agent-patterns demo --graph <id>`` asks by default.

Every served graph has one, written for the offline demo model and its stand-ins, so a
newcomer sees what the pattern is for without writing a question (`make demo
ARGS="--graph <id>"`).
"""

from __future__ import annotations

from dataclasses import dataclass

from demo.contract_review import CONTRACT_REQUEST
from demo.fleet import FLEET_REQUEST
from demo.fraud import FRAUD_REQUEST
from demo.incident import INCIDENT_REQUEST
from demo.market_research import RESEARCH_REQUEST
from demo.product_debate import DEBATE_REQUEST
from demo.refund_orchestrator import EXAMPLE_REQUESTS
from demo.supplier_csv import SUPPLIER_REQUEST

__all__ = ["SCENARIOS", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    """A pattern's demo request and what running it shows.

    Attributes:
        question: the user's message.
        shows: one line on what happens, printed before the run.
    """

    question: str
    shows: str


SCENARIOS: dict[str, Scenario] = {
    "react": Scenario(
        "My order A-1001 arrived broken. Can you refund it?",
        "the agent looks the order up, then its refund waits at the approval gate",
    ),
    "hitl": Scenario(
        "My order A-1004 arrived broken. Please refund it.",
        "the desk investigates and recommends; the refund policy sends a risky order to a person",
    ),
    "memory_agent": Scenario(
        "Please remember that I prefer email over phone calls. Where is my order A-1001?",
        "the agent answers and remembers your preference for your next thread (see --user)",
    ),
    "router": Scenario(
        "Please refund order A-1001, it arrived broken.",
        "the router sends the request to billing, whose refund waits at the approval gate",
    ),
    "supervisor": Scenario(
        "Research our refund policy for damaged items and publish a summary.",
        "the supervisor delegates research, then writing; publishing waits for approval",
    ),
    "swarm": Scenario(
        "My order A-1001 arrived broken, please refund it.",
        "shipping hands the customer to billing, whose refund waits at the approval gate",
    ),
    "critique": Scenario(
        "Write a short reply to a customer whose order A-1001 arrived broken.",
        "a writer drafts, a judge scores against a rubric, the writer revises until it passes",
    ),
    "plan_execute": Scenario(
        FLEET_REQUEST,
        "a planner writes a plan of steps; independent steps run in parallel; a replanner checks",
    ),
    "reflexion": Scenario(
        "slugify",
        "a coder writes code, the sandbox runs the tests, a reflector learns from failures",
    ),
    "pipeline": Scenario(
        CONTRACT_REQUEST,
        "obligations are extracted, risks assessed (waiting for your review), then a review "
        "packet is drafted for the procurement manager",
    ),
    "parallel": Scenario(
        INCIDENT_REQUEST,
        "logs, metrics and deployments specialists investigate at the same time; an incident "
        "commander gives a root cause, its confidence and the safest next action",
    ),
    "fraud_events": Scenario(
        FRAUD_REQUEST,
        "the event is enriched, the decider blocks on strong evidence, and block_card waits "
        "at the approval gate",
    ),
    "orchestrator": Scenario(
        EXAMPLE_REQUESTS["manual_review"],
        "purchase and policy checks run in parallel; code routes the refund to manual review, "
        "where a model-drafted packet waits at the approval gate",
    ),
    "debate": Scenario(
        DEBATE_REQUEST,
        "research, engineering, finance and support argue two rounds, challenging each other's "
        "claims by id; a neutral facilitator recommends, citing only claims of the transcript",
    ),
    "research": Scenario(
        RESEARCH_REQUEST,
        "the root splits the question into five workstreams matched to specialists by "
        "capability; logistics splits one level deeper; the brief names the conflict between "
        "the unit economics and the last-mile delivery costs",
    ),
    "loop": Scenario(
        SUPPLIER_REQUEST,
        "the body profiles a supplier CSV and proposes a cleaning plan; a judge lists what it "
        "misses; round 2 passes",
    ),
}
"""The seed scenario of every served graph, by graph id."""
