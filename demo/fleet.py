"""Demo infrastructure tools for the seeds' fleet scenario (plan-and-execute pattern).

"Resize the worker fleet from 10 to 20 instances, verify the queue drains, and update the
runbook." Two tools change the world (`resize_fleet`, `update_runbook`) and declare side
effects; they are idempotent through `demo.effects` (a call replayed after a crash returns
the first record). The others only read. The "infrastructure" is a small in-memory simulation
so demos and tests are deterministic and offline.

Offline, on the demo model (keyword heuristics, not an LLM), the plan-and-execute planner and
replanner are played by the stand-ins here, registered by role (`register_stand_ins`, which
the served graph's wiring calls): the planner knows `FLEET_PLAN` and plays it from its
declared inputs (`state.plan.PlannerInputs`: the request and the tools), never from the
prompt's text; the replanner reports that the plan ran as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from demo.effects import read_effects, record_effect
from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.plan import PLANNER_ROLE, REPLANNER_ROLE, Replan
from tools.compensation import Compensation
from tools.registry import agent_tool

__all__ = [
    "DEMO_REPLAN",
    "FLEET_PLAN",
    "FLEET_REQUEST",
    "MAX_BACKLOG",
    "QUEUES",
    "SAGA_PLAN",
    "SAGA_REQUEST",
    "check_queue_depth",
    "demo_planner",
    "demo_replanner",
    "fleet_tools",
    "saga_tools",
    "verify_capacity",
    "get_fleet_status",
    "read_runbook",
    "register_stand_ins",
    "resize_fleet",
    "update_runbook",
]

QUEUES: dict[str, int] = {"jobs": 1200, "emails": 40}
"""Backlog per queue with the original fleet of 10 workers."""

BASE_FLEET = 10
MAX_BACKLOG = 500
"""The backlog `verify_capacity` accepts (20 instances meet it, 14 do not)."""


class ResizeFleetArgs(BaseModel):
    """Arguments of `resize_fleet`."""

    count: int = Field(ge=1, le=100, description="Target number of worker instances.")


class QueueArgs(BaseModel):
    """Arguments of `check_queue_depth`."""

    queue: str = Field(description="Queue name, e.g. 'jobs'.")


class RunbookArgs(BaseModel):
    """Arguments of `update_runbook`."""

    section: str = Field(min_length=1, description="Runbook section to replace.")
    text: str = Field(min_length=1, description="New text of the section.")


class SectionArgs(BaseModel):
    """Arguments of `read_runbook`."""

    section: str = Field(min_length=1, description="Runbook section to read.")


class NoArgs(BaseModel):
    """No arguments."""


def _fleet_size() -> int:
    resizes = read_effects("fleet_resize")
    return int(resizes[-1]["count"]) if resizes else BASE_FLEET


def _resize(count: int) -> dict[str, Any]:
    before = _fleet_size()
    recorded = record_effect("fleet_resize", {"count": count, "before": before})
    return {"before": recorded["before"], "count": recorded["count"], "status": "resized"}


@agent_tool(args_schema=ResizeFleetArgs, side_effects=True, idempotent=True)
def restore_fleet_size(count: int) -> dict[str, Any]:
    """Put the worker fleet back to `count` instances (undoes a resize). Changes capacity."""
    return _resize(count)


@agent_tool(
    args_schema=ResizeFleetArgs,
    side_effects=True,
    idempotent=True,
    compensation=Compensation(
        restore_fleet_size,
        lambda args, result: {"count": result["before"]},
        "put the fleet back to its size before the resize",
    ),
)
def resize_fleet(count: int) -> dict[str, Any]:
    """Resize the worker fleet to `count` instances. Changes production capacity."""
    return _resize(count)


@agent_tool(args_schema=NoArgs, side_effects=False)
def get_fleet_status() -> dict[str, Any]:
    """Current number of worker instances in the fleet."""
    return {"instances": _fleet_size()}


@agent_tool(args_schema=QueueArgs, side_effects=False)
def check_queue_depth(queue: str) -> dict[str, Any]:
    """Messages waiting in a queue and whether it is draining at the current fleet size."""
    if queue not in QUEUES:
        raise ValueError(f"Unknown queue {queue!r}; known queues: {', '.join(sorted(QUEUES))}")
    size = _fleet_size()
    depth = max(QUEUES[queue] - (size - BASE_FLEET) * 100, 0)
    return {"queue": queue, "depth": depth, "draining": size > BASE_FLEET}


@agent_tool(args_schema=SectionArgs, side_effects=False)
def read_runbook(section: str) -> dict[str, Any]:
    """Read a runbook section (the latest update, or the original text)."""
    return {"section": section, "text": _section_text(section)}


def _section_text(section: str) -> str:
    updates = [e for e in read_effects("runbook_update") if e["section"] == section]
    return str(updates[-1]["text"]) if updates else f"Original {section} section: fleet of 10."


def _write_section(section: str, text: str) -> dict[str, Any]:
    previous = _section_text(section)
    recorded = record_effect(
        "runbook_update", {"section": section, "text": text, "previous": previous}
    )
    return {"section": recorded["section"], "previous": recorded["previous"], "status": "updated"}


@agent_tool(args_schema=RunbookArgs, side_effects=True, idempotent=True)
def restore_runbook(section: str, text: str) -> dict[str, Any]:
    """Put a runbook section back to an earlier text (undoes an update)."""
    return _write_section(section, text)


@agent_tool(
    args_schema=RunbookArgs,
    side_effects=True,
    idempotent=True,
    compensation=Compensation(
        restore_runbook,
        lambda args, result: {"section": args["section"], "text": result["previous"]},
        "put the runbook section back to its text before the update",
    ),
)
def update_runbook(section: str, text: str) -> dict[str, Any]:
    """Replace a section of the operations runbook. Visible to the whole on-call team."""
    return _write_section(section, text)


@agent_tool(args_schema=QueueArgs, side_effects=False)
def verify_capacity(queue: str) -> dict[str, Any]:
    """Check that a queue's backlog is within target at the current fleet size."""
    depth = check_queue_depth.invoke({"queue": queue})["depth"]
    if depth > MAX_BACKLOG:
        raise ValueError(
            f"capacity check failed: {queue} has a backlog of {depth} with "
            f"{_fleet_size()} instances (target: at most {MAX_BACKLOG})"
        )
    return {"queue": queue, "depth": depth, "within_target": True}


def fleet_tools() -> list[BaseTool]:
    """The fleet toolset, read-only tools first."""
    return [get_fleet_status, check_queue_depth, read_runbook, resize_fleet, update_runbook]


FLEET_REQUEST = (
    "Resize the worker fleet from 10 to 20 instances, verify the queue drains, and update the "
    "runbook."
)
"""The seeds' pattern-12 request."""

FLEET_PLAN: dict[str, Any] = {
    "goal": "Fleet at 20 instances, jobs queue draining, runbook up to date",
    "steps": [
        {
            "id": "fleet",
            "description": "Read the current fleet size",
            "tool": "get_fleet_status",
            "inputs": {},
            "expected_outcome": "10 instances",
        },
        {
            "id": "queue_before",
            "description": "Measure the jobs queue before resizing",
            "tool": "check_queue_depth",
            "inputs": {"queue": "jobs"},
            "expected_outcome": "a backlog",
        },
        {
            "id": "runbook",
            "description": "Read the scaling section of the runbook",
            "tool": "read_runbook",
            "inputs": {"section": "scaling"},
            "expected_outcome": "the current text",
        },
        {
            "id": "resize",
            "description": "Resize the fleet to 20 instances",
            "tool": "resize_fleet",
            "inputs": {"count": 20},
            "expected_outcome": "20 instances",
            "depends_on": ["fleet", "queue_before"],
        },
        {
            "id": "queue_after",
            "description": "Verify the jobs queue drains",
            "tool": "check_queue_depth",
            "inputs": {"queue": "jobs"},
            "expected_outcome": "draining",
            "depends_on": ["resize"],
        },
        {
            "id": "update_runbook",
            "description": "Record the new fleet size in the runbook",
            "tool": "update_runbook",
            "inputs": {"section": "scaling", "text": "The worker fleet runs 20 instances."},
            "expected_outcome": "section updated",
            "depends_on": ["runbook", "resize"],
        },
    ],
}
"""A plan a planner would write for `FLEET_REQUEST` (used by scripted planners in demos)."""


DEMO_REPLAN = Replan(
    finished=True,
    answer="Offline demo (not an LLM): the plan ran as written; see each step's result.",
)
"""The offline replanner's one decision."""


def demo_planner(request: str, tools: Sequence[BaseTool], **_: Any) -> BaseChatModel:
    """Offline stand-in for the planner (role `PLANNER_ROLE`, inputs `PlannerInputs`).

    It knows one plan, `FLEET_PLAN`, used when the request is about the fleet and its tools
    are available. Anything else gets an empty plan (every time it is asked), which fails
    validation and ends the run with a message saying so.
    """
    names = {tool.name for tool in tools}
    needed = {step["tool"] for step in FLEET_PLAN["steps"]}
    known = "fleet" in request.lower() and needed <= names
    reply = FLEET_PLAN if known else {"goal": request, "steps": []}
    return ScriptedChatModel(replies=[reply], cycle=True)


def demo_replanner(**_: Any) -> BaseChatModel:
    """Offline stand-in for the replanner (role `REPLANNER_ROLE`): the plan ran as written."""
    return ScriptedChatModel(replies=[DEMO_REPLAN], cycle=True)


def register_stand_ins() -> None:
    """Register the fleet planner and replanner as plan_execute's offline stand-ins."""
    register_offline(PLANNER_ROLE, demo_planner)
    register_offline(REPLANNER_ROLE, demo_replanner)


SAGA_REQUEST = (
    "Scale the worker fleet to 14 instances, note it in the scaling section of the runbook, "
    "then verify the jobs queue is within target."
)
"""A change that fails its last step: the saga undoes the resize and the runbook update."""

SAGA_PLAN: dict[str, Any] = {
    "goal": "Scale to 14 instances and verify the jobs backlog is within target",
    "steps": [
        {
            "id": "resize",
            "description": "Resize the fleet to 14 instances",
            "tool": "resize_fleet",
            "inputs": {"count": 14},
        },
        {
            "id": "note",
            "description": "Record the new size in the runbook",
            "tool": "update_runbook",
            "inputs": {"section": "scaling", "text": "Fleet of 14 during the sale."},
            "depends_on": ["resize"],
        },
        {
            "id": "verify",
            "description": "Verify the jobs backlog is within target",
            "tool": "verify_capacity",
            "inputs": {"queue": "jobs"},
            "depends_on": ["note"],
        },
    ],
}
"""The plan of `SAGA_REQUEST`: its third step fails (14 instances leave a backlog of 800)."""


def saga_tools() -> list[BaseTool]:
    """The fleet toolset plus `verify_capacity` (the saga scenario's failing check)."""
    return [*fleet_tools(), verify_capacity]
