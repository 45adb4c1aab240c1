"""Incident triage for the parallel pattern: three specialists, then the incident commander.

The seeds' scenario: a midnight alert, checkout is failing. Three independent sources need
investigating at once: application logs, infrastructure metrics and recent deployments. Each
specialist (an `AgentSpec`) has one read-only tool over deterministic fake data; the incident
commander synthesizes a root-cause hypothesis with a confidence level and the single safest
next action (`COMMANDER_PROMPT`, the synthesizer's instructions).

The fake incident: release ``checkout v2.14.0`` (23:58 UTC) cut the payments-db connection
pool from 50 to 10; from 00:03 the pool is exhausted, requests queue and time out. The logs
show pool-exhaustion errors, the metrics a saturated pool and a latency spike with normal
traffic, the deployments the change.

Offline, on the demo model, the specialists play `nodes.parallel_stand_in.tool_caller_model`
(call their tool, report it), each registered for its own branch role
(`state.parallel.branch_role`), and the commander plays `demo_commander`, registered for
`state.parallel.SYNTHESIZER_ROLE`; `register_stand_ins` registers all four (the served
graph's wiring calls it). The commander reads the specialists' results from its
declared inputs (`state.parallel.SynthesizerInputs`), never from the prompt's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from nodes.parallel_stand_in import tool_caller_model
from state.agent_spec import AgentSpec
from state.parallel import SYNTHESIZER_ROLE, BranchResult, branch_role
from tools.registry import agent_tool

__all__ = [
    "COMMANDER_PROMPT",
    "INCIDENT_REQUEST",
    "commander_report",
    "demo_commander",
    "get_infra_metrics",
    "incident_branches",
    "list_recent_deployments",
    "register_stand_ins",
    "search_app_logs",
]

INCIDENT_REQUEST = (
    "Midnight alert: checkout is failing for most customers since about 00:05 UTC. "
    "Investigate and tell us what is going on."
)
"""The seeds' pattern-3 alert."""

COMMANDER_PROMPT = (
    "You are the incident commander. Synthesize the evidence of the specialists (logs, "
    "metrics, deployments) into a root-cause hypothesis. State your confidence level (low, "
    "medium or high, and why) and the single safest next action. Say which evidence is "
    "missing when a specialist failed."
)
"""The synthesizer's instructions in the served graph."""

ROLLBACK = "Roll back checkout to v2.13.2 (the release before v2.14.0)."
HOLD = "Page the checkout owner and keep investigating; do not change production blind."


class LogArgs(BaseModel):
    """Arguments of `search_app_logs`."""

    service: str = Field(default="checkout", description="Service whose logs to search.")
    minutes: int = Field(default=30, ge=1, le=240, description="How far back to look.")


class MetricArgs(BaseModel):
    """Arguments of `get_infra_metrics`."""

    service: str = Field(default="checkout", description="Service whose metrics to read.")


class DeployArgs(BaseModel):
    """Arguments of `list_recent_deployments`."""

    hours: int = Field(default=6, ge=1, le=72, description="How far back to look.")


LOGS: dict[str, list[str]] = {
    "checkout": [
        "00:03:11 ERROR PaymentClient: connection pool exhausted (10/10 in use) request_id=r-8812",
        "00:03:40 ERROR PaymentClient: timeout after 3000 ms waiting for a payments-db "
        "connection request_id=r-8830",
        "00:05:02 ERROR CheckoutHandler: 503 returned to client request_id=r-9104",
        "summary: 1,412 errors since 00:03 (none before); 97% are pool exhaustion or "
        "timeouts waiting for a payments-db connection",
    ]
}

METRICS: dict[str, dict[str, Any]] = {
    "checkout": {
        "cpu_percent": 41,
        "traffic_change_percent": 3,
        "p99_latency_ms": {"23:55": 180, "00:05": 4200},
        "db_pool_in_use": "10/10 (saturated since 00:03)",
        "summary": "db connection pool saturated and p99 latency 23x up since 00:03; CPU and "
        "traffic normal",
    }
}

DEPLOYMENTS: list[dict[str, str]] = [
    {
        "time": "23:58",
        "service": "checkout",
        "version": "v2.14.0",
        "previous": "v2.13.2",
        "change": "reduce payments-db connection pool from 50 to 10",
    },
    {"time": "21:10", "service": "search", "version": "v1.9.2", "change": "ranking tweak"},
]


@agent_tool(args_schema=LogArgs, side_effects=False)
def search_app_logs(service: str = "checkout", minutes: int = 30) -> dict[str, Any]:
    """Search a service's application logs for errors (error lines and a summary)."""
    return {"service": service, "minutes": minutes, "errors": LOGS.get(service, [])}


@agent_tool(args_schema=MetricArgs, side_effects=False)
def get_infra_metrics(service: str = "checkout") -> dict[str, Any]:
    """Read a service's infrastructure metrics: CPU, traffic, latency, connection pools."""
    return {"service": service, **METRICS.get(service, {"summary": "no metrics"})}


@agent_tool(args_schema=DeployArgs, side_effects=False)
def list_recent_deployments(hours: int = 6) -> dict[str, Any]:
    """List the releases of the last `hours` hours, newest first, with what each changed."""
    return {"hours": hours, "deployments": DEPLOYMENTS}


SPECIALISTS = ("logs", "metrics", "deployments")
"""The specialists' names (their branch roles are ``parallel.branch.<name>``)."""


def incident_branches() -> list[AgentSpec]:
    """The three specialists, each with its own read-only tool."""
    specialists: list[tuple[str, str, BaseTool]] = [
        (
            "logs",
            "You inspect application logs. Identify error patterns with timestamps and "
            "request IDs.",
            search_app_logs,
        ),
        (
            "metrics",
            "You inspect metrics. Identify saturation, latency spikes and traffic anomalies.",
            get_infra_metrics,
        ),
        (
            "deployments",
            "You inspect recent releases. Flag risky changes that align with the "
            "reported symptoms.",
            list_recent_deployments,
        ),
    ]
    return [
        AgentSpec(name, f"{name} specialist", instructions=prompt, tools=[tool])
        for name, prompt, tool in specialists
    ]


def _supports(result: BranchResult) -> bool:
    """Whether a specialist's finding points at the connection pool."""
    return result["status"] == "done" and "pool" in result["output"].lower()


def commander_report(results: Mapping[str, BranchResult]) -> str:
    """The offline commander's synthesis: hypothesis, confidence and the safest next action.

    Confidence is high when all three specialists point at the connection pool, medium with
    two, low otherwise. A rollback is only advised when the deployments specialist found the
    release that changed the pool; without that evidence the safest action is to hold.
    """
    supporting = [name for name, result in results.items() if _supports(result)]
    missing = [name for name, result in results.items() if result["status"] != "done"]
    level = {3: "high", 2: "medium"}.get(len(supporting), "low")
    release = results.get("deployments")
    found_release = release is not None and "v2.14.0" in release["output"]
    lines = [
        "Root-cause hypothesis: the payments-db connection pool of checkout is exhausted "
        + ("since release v2.14.0 (23:58) cut it from 50 to 10, " if found_release else "")
        + "so payment requests wait for a connection and time out.",
        f"Confidence: {level} ({len(supporting)} of {len(results)} specialists point at the "
        f"pool: {', '.join(supporting) or 'none'}).",
    ]
    if missing:
        lines.append(f"Missing evidence: {', '.join(missing)} did not report.")
    lines.append(f"Safest next action: {ROLLBACK if found_release else HOLD}")
    return "\n".join(lines)


def demo_commander(*, results: Mapping[str, BranchResult], **_: Any) -> BaseChatModel:
    """Offline stand-in of the commander (role `SYNTHESIZER_ROLE`, `SynthesizerInputs`)."""
    return ScriptedChatModel(replies=[commander_report(results)], cycle=True)


def register_stand_ins() -> None:
    """Register the specialists' and the commander's offline stand-ins."""
    for name in SPECIALISTS:
        register_offline(branch_role(name), tool_caller_model)
    register_offline(SYNTHESIZER_ROLE, demo_commander)
