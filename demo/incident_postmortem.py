"""The incident post-mortem: the three workflow patterns nested in one offline scenario.

"Checkout is failing: investigate, then write the post-mortem." One pipeline, two stages:

1. ``triage``: the served incident-triage parallel graph (`demo.incident`: the logs, metrics
   and deployments specialists at once, the incident commander synthesizes), as a stage given
   as a compiled graph (`triage_options` are exactly the served graph's options);
2. ``postmortem``: a loop whose body (`postmortem_writer`, a tool agent) drafts the
   post-mortem from the triage findings (the stage's input: the request and the commander's
   report) with two read-only tools, `incident_timeline` and `service_owners`; the stop check
   (`review_postmortem`) passes a draft with every section of `SECTIONS` whose action items
   each name an owner.

The stop check is a Python predicate, not an LLM judge: what it checks (headings present, an
``Owner:`` on every action item) is mechanical, so it holds for any model, and the loop's judge
role (`state.loop.JUDGE_ROLE`) is one role for every loop, already played offline by the
supplier-CSV scenario's judge.

Offline, on the demo model (keyword heuristics, not an LLM), the specialists and the commander
play `demo.incident`'s stand-ins and the body plays `demo_writer` (role
``loop.body.postmortem_writer``), all registered by `register_stand_ins`. The writer reads its
declared inputs (`state.loop.BodyInputs`): in round 1 it only reads the timeline and leaves
the owners out, so the check fails; given the remaining issues it also looks the owners up, and
round 2 passes. The final answer is the post-mortem, with the loop's note on how it passed.

The graph factories live in `graphs/`, which `demo` must not import (docs/architecture.md):
`incident_postmortem_graph` takes them as `WorkflowFactories`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel
from pydantic import BaseModel, Field

from demo.incident import COMMANDER_PROMPT, INCIDENT_REQUEST, incident_branches
from demo.incident import register_stand_ins as register_triage_stand_ins
from models.offline import register_offline
from models.scripted import ScriptedChatModel
from nodes.runtime import PatternRuntime
from state.agent_spec import AgentSpec
from state.loop import LoopVerdict, body_role
from tools.registry import agent_tool

__all__ = [
    "POSTMORTEM_REQUEST",
    "SECTIONS",
    "WRITER_INSTRUCTIONS",
    "WRITER_NAME",
    "WorkflowFactories",
    "demo_writer",
    "draft_postmortem",
    "incident_postmortem_graph",
    "incident_timeline",
    "postmortem_options",
    "postmortem_stages",
    "postmortem_writer",
    "register_stand_ins",
    "review_postmortem",
    "service_owners",
    "triage_options",
]

POSTMORTEM_REQUEST = (
    INCIDENT_REQUEST + " Then write the incident post-mortem: summary, impact, root cause, "
    "timeline and action items, each action item with an owner."
)
"""The scenario's request: the seeds' midnight alert, then the post-mortem."""

SECTIONS = ("Summary", "Impact", "Root cause", "Timeline", "Action items")
"""The post-mortem's sections, in order; each is a ``## <section>`` heading."""

WRITER_NAME = "postmortem_writer"
"""The loop body's name; its offline stand-in plays ``loop.body.postmortem_writer`` only."""

WRITER_INSTRUCTIONS = (
    "You write blameless incident post-mortems. From the triage findings in the request and "
    "the incident's timeline (incident_timeline), write the post-mortem with the headings "
    "## Summary, ## Impact, ## Root cause, ## Timeline and ## Action items. Number the action "
    "items; end each with 'Owner: <team (person)>' as service_owners gives it. When you get a "
    "previous draft and remaining issues, return the complete revised post-mortem."
)

INCIDENT_ID = "INC-2417"

TIMELINE: list[dict[str, str]] = [
    {"time": "23:58", "event": "checkout v2.14.0 released: payments-db pool cut from 50 to 10"},
    {"time": "00:03", "event": "first connection-pool exhaustion errors in checkout"},
    {"time": "00:05", "event": "alert: checkout failing for most customers; on-call paged"},
    {"time": "00:21", "event": "triage: the pool cut of v2.14.0 identified as the cause"},
    {"time": "00:24", "event": "rollback of checkout to v2.13.2 started"},
    {"time": "00:29", "event": "rollback complete; checkout error rate back to baseline"},
]

IMPACT = (
    "For 26 minutes (00:03-00:29 UTC) most checkout attempts failed: 1,412 requests returned "
    "errors and p99 latency rose from 180 ms to 4,200 ms. Failed payments were not charged; "
    "no data was lost."
)

OWNERS: dict[str, str] = {
    "checkout": "checkout team (Dana Kim)",
    "payments-db": "data platform (Luis Ortega)",
    "monitoring": "SRE (Mei Chen)",
}


@dataclass(frozen=True)
class ActionItem:
    """One follow-up of the post-mortem and the service whose owner takes it."""

    text: str
    service: str


FOLLOW_UPS = (
    ActionItem(
        "Restore the payments-db connection pool to 50 and require a load test for any "
        "change to pool sizes.",
        "payments-db",
    ),
    ActionItem(
        "Alert on connection-pool saturation (above 90% for 2 minutes) before customers "
        "see errors.",
        "monitoring",
    ),
)


class TimelineArgs(BaseModel):
    """Arguments of `incident_timeline`."""

    incident: str = Field(default=INCIDENT_ID, description="The incident's id.")


class OwnerArgs(BaseModel):
    """Arguments of `service_owners`."""

    services: list[str] = Field(
        default_factory=lambda: sorted(OWNERS), description="The services to look up."
    )


@agent_tool(args_schema=TimelineArgs, side_effects=False)
def incident_timeline(incident: str = INCIDENT_ID) -> dict[str, Any]:
    """The incident's record: timeline (UTC, oldest first) and customer impact."""
    if incident != INCIDENT_ID:
        return {"incident": incident, "error": "no such incident"}
    return {"incident": incident, "timeline": TIMELINE, "impact": IMPACT}


@agent_tool(args_schema=OwnerArgs, side_effects=False)
def service_owners(services: list[str] | None = None) -> dict[str, str]:
    """The owning team (and its lead) of each service; unknown services say so."""
    return {s: OWNERS.get(s, "unknown") for s in (services or sorted(OWNERS))}


# -- the stop check --------------------------------------------------------------------------


def _sections(text: str) -> dict[str, str]:
    """The body of each ``## <heading>`` of a post-mortem, by lower-cased heading."""
    parts = re.split(r"^##\s*(.+?)\s*$", text, flags=re.M)
    return {parts[i].lower(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _items(section: str) -> list[str]:
    """The numbered or bulleted items of a section."""
    return [m.group(1) for m in re.finditer(r"^\s*(?:\d+[.)]|[-*])\s+(.+)$", section, re.M)]


def review_postmortem(output: str, state: Mapping[str, Any] | None = None) -> LoopVerdict:
    """The loop's stop check: every section is there; every action item names an owner.

    Args:
        output: the round's post-mortem.
        state: the loop's state (unused; the predicate's signature).

    Returns:
        Passes, or fails with one remaining issue per missing section or ownerless item.
    """
    sections = _sections(output)
    issues = [f"the section '{s}' is missing." for s in SECTIONS if s.lower() not in sections]
    items = _items(sections.get("action items", ""))
    if "action items" in sections and not items:
        issues.append("the action items section lists no action item.")
    for number, item in enumerate(items, start=1):
        if not re.search(r"owner:\s*\S", item, re.I):
            issues.append(f"action item {number} names no owner ('Owner: <team>'): {item}")
    if issues:
        return LoopVerdict(
            passes=False,
            reason=f"the post-mortem is not complete ({len(issues)} issue(s))",
            remaining_issues=issues,
        )
    return LoopVerdict(
        passes=True, reason="every section is there and every action item has an owner"
    )


# -- the writer's offline stand-in -----------------------------------------------------------


def _finding(request: str, label: str, default: str) -> str:
    """The text after ``<label>:`` on a line of the triage findings (the commander's report)."""
    found = re.search(rf"^{re.escape(label)}:\s*(.+)$", request, re.M)
    return found.group(1).strip() if found else default


def draft_postmortem(request: str, *, with_owners: bool) -> str:
    """The offline writer's post-mortem from the triage findings the request carries.

    Args:
        request: the stage's input: the request and the triage stage's output.
        with_owners: whether the owners were looked up (each action item then names one).
    """
    cause = _finding(request, "Root-cause hypothesis", "not established by the triage.")
    confidence = _finding(request, "Confidence", "not stated.")
    mitigation = _finding(request, "Safest next action", "Keep investigating.")
    items = [ActionItem(mitigation, "checkout"), *FOLLOW_UPS]
    lines = [
        f"Post-mortem {INCIDENT_ID}: checkout failures, 00:03-00:29 UTC",
        "",
        "## Summary",
        "Checkout failed for most customers for 26 minutes after release v2.14.0. "
        f"Mitigation: {mitigation}",
        "",
        "## Impact",
        IMPACT,
        "",
        "## Root cause",
        f"{cause[:1].upper()}{cause[1:]} Triage confidence: {confidence}",
        "",
        "## Timeline",
        *[f"- {entry['time']} {entry['event']}" for entry in TIMELINE],
        "",
        "## Action items",
    ]
    for number, item in enumerate(items, start=1):
        owner = f" Owner: {OWNERS[item.service]}." if with_owners else ""
        lines.append(f"{number}. {item.text}{owner}")
    return "\n".join(lines)


def _call(round_number: int, tool: str, args: dict[str, Any]) -> AIMessage:
    """A deterministic tool call (its id derives from the round and the tool)."""
    seed = json.dumps({"round": round_number, "tool": tool})
    call_id = "call_" + hashlib.sha256(seed.encode()).hexdigest()[:12]
    return AIMessage(content="", tool_calls=[ToolCall(name=tool, args=args, id=call_id)])


def demo_writer(
    *, request: str = "", round: int = 1, issues: Sequence[str] = (), **_: Any
) -> ScriptedChatModel:
    """The writer: read the timeline (the owners too once issues come back), then write.

    Args:
        request: the stage's input with the triage findings (`state.loop.BodyInputs`).
        round: the round's number (part of the tool calls' ids).
        issues: the stop check's remaining issues; any makes it look the owners up.
        **_: other inputs, ignored.
    """
    wanted = ["incident_timeline", "service_owners"] if issues else ["incident_timeline"]

    def play(messages: list[BaseMessage]) -> AIMessage | str:
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
        done = [m.name or "" for m in messages[start:] if isinstance(m, ToolMessage)]
        pending = [tool for tool in wanted if tool not in done]
        if pending:
            return _call(round, pending[0], {})
        return draft_postmortem(request, with_owners="service_owners" in done)

    return ScriptedChatModel(replies=[play], cycle=True)


def register_stand_ins() -> None:
    """Register the triage's stand-ins (`demo.incident`) and the writer's (by role)."""
    register_triage_stand_ins()
    register_offline(body_role(WRITER_NAME), demo_writer)


# -- the wiring ------------------------------------------------------------------------------


def postmortem_writer() -> AgentSpec:
    """The loop's body: a tool agent drafting the post-mortem from the triage findings."""
    return AgentSpec(
        WRITER_NAME,
        "Writes the incident post-mortem from the triage findings.",
        instructions=WRITER_INSTRUCTIONS,
        tools=[incident_timeline, service_owners],
    )


def triage_options() -> dict[str, Any]:
    """The triage stage's parallel options: exactly the served incident-triage graph's."""
    return {
        "branches": incident_branches(),
        "aggregate": "synthesis",
        "synthesis_instructions": COMMANDER_PROMPT,
    }


def postmortem_options() -> dict[str, Any]:
    """The post-mortem stage's loop options: the writer until `review_postmortem` passes."""
    return {"body": postmortem_writer(), "until": review_postmortem, "max_rounds": 3}


def postmortem_stages(
    triage: Pregel[Any, Any, Any, Any], postmortem: Pregel[Any, Any, Any, Any]
) -> list[AgentSpec]:
    """The pipeline's two stages over the compiled triage (parallel) and post-mortem (loop)."""
    return [
        AgentSpec(
            "triage",
            "Investigates the incident: logs, metrics and deployments at once, then the "
            "incident commander's root-cause hypothesis and safest next action.",
            graph=triage,
        ),
        AgentSpec(
            "postmortem",
            "Drafts the post-mortem from the triage findings until every section is there "
            "and every action item has an owner.",
            graph=postmortem,
        ),
    ]


GraphFactory = Callable[..., Pregel[Any, Any, Any, Any]]


@dataclass(frozen=True)
class WorkflowFactories:
    """The three workflow patterns' factories (``graphs.<pattern>.build_<pattern>_graph``).

    `demo` must not import `graphs` (docs/architecture.md), so the caller passes them.
    """

    pipeline: GraphFactory
    parallel: GraphFactory
    loop: GraphFactory


def incident_postmortem_graph(
    factories: WorkflowFactories,
    *,
    checkpointer: BaseCheckpointSaver | None = None,
    runtime: PatternRuntime | None = None,
) -> Pregel[Any, Any, Any, Any]:
    """The compiled post-mortem pipeline: triage (parallel), then the post-mortem (loop).

    The nested graphs share the pipeline's runtime without its saver
    (`PatternRuntime.for_subagent`: same ledger and controls; they checkpoint into the run's
    thread). Call `register_stand_ins` to run it offline.

    Args:
        factories: the pipeline, parallel and loop factories.
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``.
        runtime: checkpointer, store, effect ledger and controls of the pipeline.

    Returns:
        The compiled pipeline. Input ``{"messages": [...]}``; its answer is the post-mortem.
    """
    shared = PatternRuntime.of(runtime, checkpointer=checkpointer)
    nested = shared.for_subagent()
    triage = factories.parallel(**triage_options(), runtime=nested, name="triage")
    postmortem = factories.loop(**postmortem_options(), runtime=nested, name="postmortem")
    stages = postmortem_stages(triage, postmortem)
    return factories.pipeline(stages, runtime=shared, name="incident_postmortem")
