"""Runtime settings of the agent graphs: the `context_schema` Studio and the SDK show.

Every field carries a description (Studio renders it next to the input). Pass it per run:
``graph.invoke(inputs, context={"max_steps": 4})`` or, through the server, as the run's or the
assistant's ``context``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DEFAULT_SYSTEM_PROMPT", "AgentContext", "ApprovalPolicy", "TimeoutPolicy"]

_SPEC_PREFIXES = ("openai:", "template:")

ApprovalPolicy = Literal["side-effects", "always", "never"]
TimeoutPolicy = Literal["reject", "escalate"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant with tools. Use a tool whenever the answer depends on data "
    "it can fetch, and never invent what a tool would return. Tools with side effects are "
    "real actions: request them with the tool, a person may review them. Answer briefly and "
    "cite what the tools returned."
)


@dataclass(kw_only=True)
class AgentContext:
    """Settings a run of an agent graph reads from `runtime.context`."""

    model: str = field(
        default="",
        metadata={
            "description": "Chat model spec: 'demo' (offline heuristics, not an LLM) or "
            "'openai:<model>' (honours OPENAI_BASE_URL). Empty: openai when OPENAI_API_KEY "
            "is set, else demo. Ignored when the graph was built with a model object."
        },
    )
    system_prompt: str = field(
        default=DEFAULT_SYSTEM_PROMPT,
        metadata={
            "description": "System prompt placed before the conversation on each call, for "
            "agents built without their own instructions."
        },
    )
    approval_policy: ApprovalPolicy = field(
        default="side-effects",
        metadata={
            "description": "Which tool calls wait for a person: 'side-effects' (tools that "
            "declare side effects, or declare nothing), 'always' (every call) or 'never' "
            "(nothing waits; use only for trusted automation)."
        },
    )
    max_steps: int = field(
        default=8,
        metadata={
            "description": "Budget of model calls per user turn. When it is used up the run "
            "ends with a message saying so instead of looping."
        },
    )

    approval_timeout_s: float | None = field(
        default=None,
        metadata={
            "description": "Seconds a request may wait at the approval gate. Past it, the "
            "next time the thread is touched (any answer, or `approvals sweep`) the request "
            "is resolved by on_approval_timeout instead of the late answer. Empty: no deadline."
        },
    )
    on_approval_timeout: TimeoutPolicy = field(
        default="reject",
        metadata={
            "description": "What an expired approval becomes: 'reject' (not run, recorded as "
            "rejected by policy) or 'escalate' (asked again, marked escalated, no deadline)."
        },
    )
    max_tokens_per_run: int | None = field(
        default=None,
        metadata={
            "description": "Token budget of one run (a message or a resume): when the run's "
            "model calls have used this many tokens, it ends with a message naming the "
            "budget. Empty: the operator's limit, if any (a run may only lower it)."
        },
    )
    max_cost_usd_per_run: float | None = field(
        default=None,
        metadata={
            "description": "Cost budget of one run in US dollars (priced models only); "
            "reached, the run ends with a message naming the budget. A run may only lower "
            "the operator's limit."
        },
    )
    max_seconds_per_run: float | None = field(
        default=None,
        metadata={
            "description": "Wall-clock budget of one run in seconds, checked before each "
            "model call; reached, the run ends with a message naming the budget. A run may "
            "only lower the operator's limit."
        },
    )
    fallback_models: list[str] = field(
        default_factory=list,
        metadata={
            "description": "Model specs tried in order when the run's model fails with an "
            "error another model may not have (unavailable, rate limited after retries, open "
            "circuit breaker): e.g. ['openai:gpt-4o-mini', 'template']. When the operator "
            "configured a chain, only its entries may be named."
        },
    )

    guardrails: dict[str, Any] | None = field(
        default=None,
        metadata={
            "description": "Tighten the graph's guardrails for this run (never loosen them): "
            "{'pii_mode': 'mask'|'redact'|'block', 'claim_check': true, "
            "'injection_screening': true, 'canaries': ['secret']}. A weaker value than the "
            "operator's is ignored."
        },
    )

    def __post_init__(self) -> None:
        _check_run_budgets(self)
        _check_guardrails(self.guardrails)
        if self.approval_policy not in ("side-effects", "always", "never"):
            raise ValueError(
                f"approval_policy must be 'side-effects', 'always' or 'never', "
                f"got {self.approval_policy!r}"
            )
        if self.approval_timeout_s is not None and self.approval_timeout_s <= 0:
            raise ValueError(f"approval_timeout_s must be positive, got {self.approval_timeout_s}")
        if self.on_approval_timeout not in ("reject", "escalate"):
            raise ValueError(
                "on_approval_timeout must be 'reject' or 'escalate', "
                f"got {self.on_approval_timeout!r}"
            )
        if not 1 <= self.max_steps <= 100:
            raise ValueError(f"max_steps must be between 1 and 100, got {self.max_steps}")


_GUARDRAIL_SETTINGS = {
    "pii_mode": ("off", "mask", "redact", "block"),
    "claim_check": (True, False),
    "injection_screening": (True, False),
}


def _check_guardrails(asked: object) -> None:
    """Refuse a ``guardrails`` field that is not a mapping of known settings and values.

    Whether each value tightens the graph's settings is decided when the run reads them
    (`nodes.guardrails.Guardrails.tightened_by`); a weaker value is ignored there.
    """
    if asked is None:
        return
    if not isinstance(asked, dict):
        raise ValueError(f"guardrails must be a mapping of settings, got {asked!r}")
    unknown = sorted(set(asked) - {*_GUARDRAIL_SETTINGS, "canaries"})
    if unknown:
        raise ValueError(f"guardrails: unknown settings {unknown}")
    for name, allowed in _GUARDRAIL_SETTINGS.items():
        if name in asked and not any(asked[name] is v or asked[name] == v for v in allowed):
            raise ValueError(f"guardrails.{name} must be one of {list(allowed)}")
    canaries = asked.get("canaries", [])
    if not isinstance(canaries, list) or not all(isinstance(c, str) for c in canaries):
        raise ValueError("guardrails.canaries must be a list of strings")


def _check_run_budgets(context: AgentContext) -> None:
    """Refuse run budgets that are not positive numbers and fallback specs that are unknown."""
    for name in ("max_tokens_per_run", "max_cost_usd_per_run", "max_seconds_per_run"):
        value = getattr(context, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
        if value == float("inf"):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if isinstance(context.fallback_models, str) or not isinstance(
        context.fallback_models, list | tuple
    ):
        raise ValueError("fallback_models must be a list of model specs")
    for spec in context.fallback_models:
        known = spec in ("demo", "template") or (
            isinstance(spec, str)
            and spec.startswith(_SPEC_PREFIXES)
            and len(spec.split(":", 1)[1]) > 0
        )
        if not known:
            raise ValueError(
                f"fallback_models: {spec!r} is not a model spec ('demo', 'openai:<model>', "
                "'template' or 'template:<text>')"
            )
