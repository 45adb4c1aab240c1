"""The demo shop's agents: the teams the multi-agent patterns coordinate.

- `research_team`: a read-only researcher and a writer whose `publish_summary` needs approval
  (the supervisor's workers);
- `support_desks` and `support_routes`: the router's five departments from the seed's support
  coordinator (billing, technical, account, shipping, fraud), each with the seed's rule in its
  instructions, plus the ``general`` catch-all, and how the router recognises their requests
  (rules, examples); `register_stand_ins` registers the router model's offline stand-in
  (`demo.routing_stand_in`);
- `support_agents`: the same departments as a swarm, each able to hand the customer on.

Every agent is an `AgentSpec`, so the same description serves router, supervisor and swarm.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from demo.effects import record_effect
from demo.orders import (
    create_support_ticket,
    escalate_to_human,
    get_payment_risk,
    get_store_info,
    issue_refund,
    lookup_order,
    search_help_docs,
)
from demo.routing_examples import (
    DEPARTMENTS,
    SUPPORT_DESCRIPTIONS,
    SUPPORT_EXAMPLES,
    SUPPORT_RULES,
)
from demo.routing_stand_in import register_stand_ins
from state.agent_spec import AgentSpec
from state.routing import RouteHints
from tools.idempotency import idempotency_key
from tools.registry import agent_tool

__all__ = [
    "DESK_RULES",
    "SHOP_PROMPT",
    "publish_summary",
    "register_stand_ins",
    "research_team",
    "support_agents",
    "support_desks",
    "support_routes",
]

SHOP_PROMPT = (
    "You are a customer support agent for an online shop. Use tools whenever order data is "
    "needed and never invent order details. Refunds and tickets are real actions: request "
    "them with the tools, a person may review them. Answer briefly and cite what the tools "
    "returned."
)
"""The order-support agent's prompt (the served react and memory_agent graphs)."""


# -- the research + writing team (supervisor) ------------------------------------------------


class PublishSummaryArgs(BaseModel):
    """Arguments of `publish_summary`."""

    title: str = Field(description="Title of the summary.", min_length=3, max_length=300)
    body: str = Field(description="The summary text.", min_length=3)


@agent_tool(args_schema=PublishSummaryArgs, side_effects=True, idempotent=True)
def publish_summary(title: str, body: str) -> dict[str, Any]:
    """Publish a written summary to the team knowledge base (visible to the whole team)."""
    digest = hashlib.sha256(f"{title}|{body}|{idempotency_key() or ''}".encode()).hexdigest()
    summary_id = f"SUM-{digest[:8].upper()}"
    recorded = record_effect("summary", {"summary_id": summary_id, "title": title, "body": body})
    return {"summary_id": recorded["summary_id"], "title": title, "status": "published"}


def research_team() -> list[AgentSpec]:
    """The supervisor's demo workers: a read-only researcher and a writer that publishes."""
    return [
        AgentSpec(
            "researcher",
            "researches questions about our policies (refunds, returns, damaged items, "
            "shipping) and orders in the help centre and reports the facts.",
            instructions="You are a researcher. Look facts up in the help centre and the order "
            "system with your tools and report them briefly, citing what the tools returned. "
            "Never invent facts.",
            tools=(search_help_docs, lookup_order),
        ),
        AgentSpec(
            "writer",
            "writes a short summary from the facts given and publishes it to the team "
            "knowledge base (publishing needs approval).",
            instructions="You are a writer. Write a short, clear summary from the facts in your "
            "task and publish it with publish_summary (a person reviews publications). Do not "
            "add facts.",
            tools=(publish_summary,),
        ),
    ]


# -- the support desks (router) ----------------------------------------------------------------

DESK_RULES: dict[str, str] = {
    "billing": "Request the invoice or order id when you need it. Never quote prices from "
    "memory: only what the tools returned.",
    "technical": "Ask for the error message, the device or browser and what the customer "
    "already tried when you need them.",
    "account": "Never request passwords, codes or other secrets, not even to check them: point "
    "the customer to the reset link instead.",
    "shipping": "Escalate customs issues to a human: hand a parcel held at customs to the "
    "customs team with escalate_to_human (a person reviews the handoff) instead of answering "
    "it yourself.",
    "fraud": "Collect evidence carefully (which order, which charge, when). Never accuse the "
    "customer: treat every report as made in good faith.",
    "general": "Answer general questions about the shop from the shop's facts; for an order, "
    "an account or a payment, tell the customer which department to ask.",
}
"""Each desk's own rule from the seed's support coordinator, part of its instructions."""

_DESK_ROLES = {
    "billing": "You are the billing desk of an online shop: refunds, charges, invoices. Look "
    "the order up before acting; refunds are real money, request them with the tool and a "
    "person will review them. Cite what the tools returned.",
    "technical": "You are the technical support desk of an online shop: products that do not "
    "work, the website and the app. Search the help centre first; file a ticket when it does "
    "not solve the problem.",
    "account": "You are the account desk of an online shop: logging in, passwords, two-factor "
    "codes, profiles, closing accounts. Search the help centre for the steps; hand an account "
    "the customer cannot recover alone to the account security team.",
    "shipping": "You are the shipping desk of an online shop: deliveries, tracking, late or "
    "lost parcels. Look the order up before answering and never invent dates or carriers.",
    "fraud": "You are the fraud desk of an online shop: charges the customer did not make, "
    "someone else in their account, phishing, stolen cards. Look the order and its payment "
    "risk up, then hand the case to the fraud team (a person reviews the handoff).",
    "general": "You are the front desk of an online shop: opening hours, gift cards, what we "
    "sell, how to reach us.",
}
_DESK_TOOLS = {
    "billing": (lookup_order, issue_refund),
    "technical": (search_help_docs, create_support_ticket),
    "account": (search_help_docs, escalate_to_human),
    "shipping": (lookup_order, search_help_docs, escalate_to_human),
    "fraud": (lookup_order, get_payment_risk, escalate_to_human),
    "general": (get_store_info,),
}


def support_desks() -> list[AgentSpec]:
    """The router's demo departments: the seed's five and the ``general`` catch-all.

    Refunds (billing) and handoffs to a human team (account, shipping's customs cases,
    fraud) are side effects: they wait at the approval gate.
    """
    return [
        AgentSpec(
            name,
            SUPPORT_DESCRIPTIONS[name],
            instructions=f"{_DESK_ROLES[name]} {DESK_RULES[name]}",
            tools=_DESK_TOOLS[name],
        )
        for name in DEPARTMENTS
    ]


def support_routes() -> dict[str, RouteHints]:
    """How the router recognises each desk's requests: regex rules and labelled examples.

    Ordered as `SUPPORT_RULES` (fraud first, so it is the best guess of a tie).
    """
    return {
        name: RouteHints(rules=tuple(rules), examples=tuple(SUPPORT_EXAMPLES[name]))
        for name, rules in SUPPORT_RULES.items()
    }


# -- the support departments as a swarm ----------------------------------------------------------


def support_agents() -> list[AgentSpec]:
    """The swarm's demo members: shipping, billing and technical, handing customers on."""
    return [
        AgentSpec(
            "shipping",
            "where a parcel is, delivery dates, tracking, carriers, late parcels.",
            instructions=f"{SHOP_PROMPT}\n\nYou are the shipping department: you track orders "
            "and explain delivery. Money (refunds, charges) belongs to billing; a product that "
            "does not work belongs to technical. Hand off instead of answering outside your "
            "field.",
            tools=(lookup_order, search_help_docs),
        ),
        AgentSpec(
            "billing",
            "refunds, money back, charges, payments and invoices.",
            instructions=f"{SHOP_PROMPT}\n\nYou are the billing department: you check orders and "
            "issue refunds. A refund moves money: request it with issue_refund, a person "
            "reviews it. Hand delivery questions to shipping and faulty products to technical.",
            tools=(lookup_order, issue_refund),
        ),
        AgentSpec(
            "technical",
            "a product that is faulty, does not work, will not turn on, or setup.",
            instructions=f"{SHOP_PROMPT}\n\nYou are the technical department: you troubleshoot "
            "products and open support tickets for a person to follow up. Hand refunds to "
            "billing and delivery questions to shipping.",
            tools=(search_help_docs, create_support_ticket),
        ),
    ]
