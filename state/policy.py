"""The operator's safeguards: the loosest settings a client may ask for in a run's context.

Some context fields weaken a safeguard when a client raises (or lowers) them: which calls wait
for a person (``approval_policy``), which refunds are approved without one
(``auto_approve_limit``, ``max_fraud_score``), whether a plan waits for a person
(``approve_plan``) and how long a run may go on (``max_steps``, ``max_replans``,
``max_handoffs``, ``max_rounds``, ``max_attempts``, and ``time_limit_s``, the wall-clock limit
of each sandboxed code run). On a server these are the operator's to set, from the
environment; a client may tighten any of them, never loosen one. The server's run handler
(`server.run_policy`) refuses a run asking for a looser value and fills in the operator's
value where a client asked for nothing.

====================== ======================================= ================
field                  environment variable                    shipped default
====================== ======================================= ================
``approval_policy``    ``AGENT_PATTERNS_APPROVAL_POLICY``      ``side-effects``
``auto_approve_limit`` ``AGENT_PATTERNS_AUTO_APPROVE_LIMIT``   ``100.0``
``max_fraud_score``    ``AGENT_PATTERNS_MAX_FRAUD_SCORE``      ``0.1``
``max_steps``          ``AGENT_PATTERNS_MAX_STEPS``            ``8``
``approve_plan``       ``AGENT_PATTERNS_APPROVE_PLAN``         ``true``
``max_replans``        ``AGENT_PATTERNS_MAX_REPLANS``          ``2``
``max_handoffs``       ``AGENT_PATTERNS_MAX_HANDOFFS``         ``4``
``max_rounds``         ``AGENT_PATTERNS_MAX_ROUNDS``           ``3``
``max_attempts``       ``AGENT_PATTERNS_MAX_ATTEMPTS``         ``3``
``time_limit_s``       ``AGENT_PATTERNS_SANDBOX_TIME_LIMIT_S`` ``5.0``
``max_tokens_per_run``   ``AGENT_PATTERNS_MAX_TOKENS_PER_RUN``   none (no limit)
``max_cost_usd_per_run`` ``AGENT_PATTERNS_MAX_COST_USD_PER_RUN`` none (no limit)
``max_seconds_per_run``  ``AGENT_PATTERNS_MAX_SECONDS_PER_RUN``  none (no limit)
``fallback_models``      ``AGENT_PATTERNS_FALLBACK_MODELS``      none (comma-separated specs)
``min_block_signals``    ``AGENT_PATTERNS_MIN_BLOCK_SIGNALS``    ``2`` (fraud_events)
====================== ======================================= ================

Strictness: ``approval_policy`` orders ``always`` > ``side-effects`` > ``never``;
``approve_plan`` true is stricter than false; for every number a lower value is stricter (and
any value is stricter than none, the per-run budgets' default). ``fallback_models``: when the
operator names a chain, a run may name only models from it (fewer, or in another order), never
another model. ``min_block_signals`` (the strong signals the fraud agent needs before it may
block a card) is the one number where a higher value is stricter.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

__all__ = [
    "APPROVAL_POLICY_STRICTNESS",
    "POLICY_ENV",
    "OperatorPolicy",
    "PolicyError",
    "PolicyViolation",
]

APPROVAL_POLICY_STRICTNESS = {"never": 0, "side-effects": 1, "always": 2}
"""How strict each approval policy is: higher waits for a person more often."""

POLICY_ENV = {
    "approval_policy": "AGENT_PATTERNS_APPROVAL_POLICY",
    "auto_approve_limit": "AGENT_PATTERNS_AUTO_APPROVE_LIMIT",
    "max_fraud_score": "AGENT_PATTERNS_MAX_FRAUD_SCORE",
    "max_steps": "AGENT_PATTERNS_MAX_STEPS",
    "approve_plan": "AGENT_PATTERNS_APPROVE_PLAN",
    "max_replans": "AGENT_PATTERNS_MAX_REPLANS",
    "max_handoffs": "AGENT_PATTERNS_MAX_HANDOFFS",
    "max_rounds": "AGENT_PATTERNS_MAX_ROUNDS",
    "max_attempts": "AGENT_PATTERNS_MAX_ATTEMPTS",
    "time_limit_s": "AGENT_PATTERNS_SANDBOX_TIME_LIMIT_S",
    "max_tokens_per_run": "AGENT_PATTERNS_MAX_TOKENS_PER_RUN",
    "max_cost_usd_per_run": "AGENT_PATTERNS_MAX_COST_USD_PER_RUN",
    "max_seconds_per_run": "AGENT_PATTERNS_MAX_SECONDS_PER_RUN",
    "fallback_models": "AGENT_PATTERNS_FALLBACK_MODELS",
    "min_block_signals": "AGENT_PATTERNS_MIN_BLOCK_SIGNALS",
}
"""The environment variable that sets each field of `OperatorPolicy`."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class PolicyError(ValueError):
    """A policy value (from the environment or a run's context) that is not valid at all."""


@dataclass(frozen=True)
class PolicyViolation:
    """A run asked for a looser setting than the operator allows."""

    field: str
    asked: Any
    allowed: Any

    def __str__(self) -> str:
        return (
            f"context field {self.field!r}: the run asked for {self.asked!r}, looser than the "
            f"operator's {self.allowed!r} (set by {POLICY_ENV[self.field]}); a client may "
            "tighten a safeguard, never loosen it"
        )


@dataclass(frozen=True)
class OperatorPolicy:
    """The loosest value of each safeguard a run may use (defaults: the shipped defaults)."""

    approval_policy: Literal["side-effects", "always", "never"] = "side-effects"
    auto_approve_limit: float = 100.0
    max_fraud_score: float = 0.1
    max_steps: int = 8
    approve_plan: bool = True
    max_replans: int = 2
    max_handoffs: int = 4
    max_rounds: int = 3
    max_attempts: int = 3
    time_limit_s: float = 5.0
    max_tokens_per_run: int | None = None
    max_cost_usd_per_run: float | None = None
    max_seconds_per_run: float | None = None
    fallback_models: tuple[str, ...] = ()
    min_block_signals: int = 2

    def __post_init__(self) -> None:
        for name in POLICY_ENV:
            if getattr(self, name) is not None:
                _coerce(name, getattr(self, name))  # raises PolicyError on a nonsense value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorPolicy:
        """The policy the environment sets; fields without a variable keep their default.

        Raises:
            PolicyError: a variable holds a value that is not valid for its field.

        Example:
            >>> OperatorPolicy.from_env({"AGENT_PATTERNS_MAX_STEPS": "4"}).max_steps
            4
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in POLICY_ENV.items():
            raw = environ.get(variable, "").strip()
            if raw:
                try:
                    values[name] = _coerce(name, raw)
                except PolicyError as exc:
                    raise PolicyError(f"{variable}={raw!r}: {exc}") from None
        return cls(**values)

    def violations(self, requested: Mapping[str, Any]) -> list[PolicyViolation]:
        """The fields of `requested` (a run's context) that are looser than this policy.

        Raises:
            PolicyError: a field holds a value that is not valid at all.

        Example:
            >>> policy = OperatorPolicy()
            >>> [v.field for v in policy.violations({"approval_policy": "never"})]
            ['approval_policy']
            >>> policy.violations({"approval_policy": "always", "auto_approve_limit": 5})
            []
        """
        found = []
        for name in POLICY_ENV:
            if name not in requested or requested[name] is None:
                continue
            asked = _coerce(name, requested[name])
            allowed = getattr(self, name)
            if name == "fallback_models":
                if allowed and any(spec not in allowed for spec in asked):
                    found.append(PolicyViolation(name, requested[name], list(allowed)))
                continue
            if _strictness(name, asked) < _strictness(name, allowed):
                found.append(PolicyViolation(name, requested[name], allowed))
        return found

    def tightened_defaults(self) -> dict[str, Any]:
        """The fields where the operator is stricter than the shipped defaults.

        A run that does not name such a field gets the operator's value instead of the
        graph's default, which would be looser.

        Example:
            >>> OperatorPolicy(max_steps=4).tightened_defaults()
            {'max_steps': 4}
        """
        shipped = OperatorPolicy()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(shipped, f.name)
        }


def _strictness(name: str, value: Any) -> float:
    """A number that grows as the setting gets stricter."""
    if value is None:
        return -math.inf  # no limit at all
    if name == "approval_policy":
        return APPROVAL_POLICY_STRICTNESS[value]
    if name == "approve_plan":
        return 1.0 if value else 0.0
    if name == "min_block_signals":
        return float(value)  # more evidence required before a block: stricter
    return -float(value)


def _coerce(name: str, value: Any) -> Any:
    """`value` as the type of field `name` (strings from the environment are parsed)."""
    if name == "approval_policy":
        if value not in APPROVAL_POLICY_STRICTNESS:
            raise PolicyError(
                f"approval_policy must be one of {sorted(APPROVAL_POLICY_STRICTNESS)}"
            )
        return value
    if name == "approve_plan":
        return _coerce_bool(value)
    if name == "fallback_models":
        return _coerce_specs(value)
    integer = name in _INTEGERS
    if isinstance(value, bool):
        raise PolicyError(f"{name} must be a number, got {value!r}")
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        kind = "an integer" if integer else "a number"
        raise PolicyError(f"{name} must be {kind}, got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise PolicyError(f"{name} must be finite, got {value!r}")
    if number < 0:
        raise PolicyError(f"{name} must not be negative, got {value!r}")
    return number


_INTEGERS = frozenset(
    {
        "max_steps",
        "max_replans",
        "max_handoffs",
        "max_rounds",
        "max_attempts",
        "max_tokens_per_run",
        "min_block_signals",
    }
)


def _coerce_specs(value: Any) -> tuple[str, ...]:
    """A fallback chain: a list of model specs, or a comma-separated string of them."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise PolicyError(f"fallback_models must be a list of model specs, got {value!r}")
    specs = tuple(str(item).strip() for item in items if str(item).strip())
    for spec in specs:
        if spec not in ("demo", "template") and not spec.startswith(("openai:", "template:")):
            raise PolicyError(f"fallback_models: {spec!r} is not a model spec")
    return specs


def _coerce_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise PolicyError(f"approve_plan must be true or false, got {value!r}")
