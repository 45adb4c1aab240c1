"""The cost and failure controls every pattern shares: `Controls` and its parts.

One frozen object, carried by `nodes.runtime.PatternRuntime` (``runtime.controls``) and into
each run's config by `graphs._compile.compile_pattern`, holds the operator's settings for the
shared paths: the model-call path (`nodes.ask.invoke_model`: run limits, timeouts, retries,
fallback chains, circuit breakers, the context window) and the tool node
(`nodes.tool_execution`: per-tool retries, breakers, output cap, the tool-call limit). A node
reads them with `current_controls`; no pattern reads or copies them itself.

Per-run limits also come from the run's context (``max_tokens_per_run``,
``max_cost_usd_per_run``, ``max_seconds_per_run``): the stricter of the context's value and
the operator's ceiling here wins (`RunLimits.tightened_by`), so a client can tighten a limit,
never loosen it.

Example:
    >>> controls = Controls(run_limits=RunLimits(max_tokens=10_000))
    >>> controls.run_limits.tightened_by({"max_tokens_per_run": 50_000}).max_tokens
    10000
    >>> controls.run_limits.tightened_by({"max_tokens_per_run": 2_000}).max_tokens
    2000
    >>> Controls.of(None) is DEFAULT_CONTROLS
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config

from nodes.operator_config import protect_config_key
from nodes.tool_selection import ToolSelection

__all__ = [
    "CONTROLS_KEY",
    "DEFAULT_CONTROLS",
    "BreakerSettings",
    "Controls",
    "RetrySettings",
    "RunLimits",
    "WindowSettings",
    "current_controls",
]

CONTROLS_KEY = "__agent_patterns_controls"
"""The config key (``configurable``) the compiled graphs carry their `Controls` under."""

RUN_LIMIT_CONTEXT_FIELDS = {
    "max_tokens": "max_tokens_per_run",
    "max_cost_usd": "max_cost_usd_per_run",
    "max_seconds": "max_seconds_per_run",
}
"""Which context field tightens which `RunLimits` field."""


def _check_positive(
    owner: str, name: str, value: float | None, *, allow_zero: bool = False
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{owner}.{name} must be positive, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class RetrySettings:
    """How a retriable failure is retried: exponential backoff with jitter.

    The n-th retry waits ``min(max_delay_s, initial_delay_s * multiplier ** (n - 1))``, times
    a random factor in ``[1 - jitter, 1 + jitter]``; a ``Retry-After`` the provider sent wins
    when it is longer (capped at ``max_retry_after_s``: a longer wait is not waited for, the
    call counts as failed and the fallback chain moves on).

    Attributes:
        max_attempts: attempts in all (1: no retry).
        initial_delay_s: the first wait.
        multiplier: growth of the wait per retry.
        max_delay_s: the longest computed wait.
        jitter: the random spread of each wait, 0 to 1.
        max_retry_after_s: the longest ``Retry-After`` honoured.
    """

    max_attempts: int = 3
    initial_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 10.0
    jitter: float = 0.25
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not 1 <= int(self.max_attempts) <= 20:
            raise ValueError(f"RetrySettings.max_attempts must be 1 to 20, got {self.max_attempts}")
        for name in ("initial_delay_s", "max_delay_s", "max_retry_after_s"):
            _check_positive("RetrySettings", name, getattr(self, name), allow_zero=True)
        _check_positive("RetrySettings", "multiplier", self.multiplier)
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"RetrySettings.jitter must be between 0 and 1, got {self.jitter}")


@dataclass(frozen=True, kw_only=True)
class BreakerSettings:
    """When a circuit breaker opens and how it recovers.

    Attributes:
        enabled: False turns breakers off (every call goes through).
        failure_threshold: failures within `window_s` that open the breaker.
        window_s: how far back failures count.
        cooldown_s: how long an open breaker fails fast before one probe call is let through
            (half-open); the probe's success closes it, its failure opens it again.
    """

    enabled: bool = True
    failure_threshold: int = 5
    window_s: float = 60.0
    cooldown_s: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.failure_threshold, bool) or not 1 <= self.failure_threshold <= 1000:
            raise ValueError(
                f"BreakerSettings.failure_threshold must be 1 to 1000, got {self.failure_threshold}"
            )
        _check_positive("BreakerSettings", "window_s", self.window_s)
        _check_positive("BreakerSettings", "cooldown_s", self.cooldown_s, allow_zero=True)


WindowPolicy = Literal["trim", "summarize", "off"]


@dataclass(frozen=True, kw_only=True)
class WindowSettings:
    """The context window: how much conversation a model call may carry.

    Attributes:
        policy: ``"trim"`` drops the oldest turns, ``"summarize"`` replaces them with a
            summary kept in state and reused, ``"off"`` sends everything.
        max_tokens: the default token budget of one call's messages (estimated).
        per_model: budgets by model name (``"gpt-4o-mini"``) or spec, overriding
            `max_tokens`.
        keep_last_messages: messages always kept at the end (whole tool-call groups).
        max_tool_output_chars: tool results longer than this are cut, with a notice the model
            sees; None keeps them whole.
    """

    policy: WindowPolicy = "trim"
    max_tokens: int = 100_000
    per_model: Mapping[str, int] = field(default_factory=dict)
    keep_last_messages: int = 4
    max_tool_output_chars: int | None = 20_000

    def __post_init__(self) -> None:
        if self.policy not in ("trim", "summarize", "off"):
            raise ValueError(
                f"WindowSettings.policy must be trim, summarize or off, got {self.policy!r}"
            )
        for name, value in [("max_tokens", self.max_tokens), *self.per_model.items()]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 256:
                raise ValueError(f"window budget {name!r} must be an integer >= 256, got {value!r}")
        if self.keep_last_messages < 1:
            raise ValueError("WindowSettings.keep_last_messages must be at least 1")
        if self.max_tool_output_chars is not None and self.max_tool_output_chars < 200:
            raise ValueError("WindowSettings.max_tool_output_chars must be at least 200 or None")
        object.__setattr__(self, "per_model", MappingProxyType(dict(self.per_model)))

    def budget_for(self, model_name: str) -> int:
        """The token budget of a call to `model_name` (its own, else the default).

        A spec (``"openai:gpt-4o-mini"``) also finds a budget keyed by the bare name.
        """
        bare = model_name.split(":", 1)[-1]
        found = self.per_model.get(model_name, self.per_model.get(bare, self.max_tokens))
        return int(found)


@dataclass(frozen=True, kw_only=True)
class RunLimits:
    """Ceilings on one run (one invocation: a new message, or a resume). None: no limit.

    Attributes:
        max_tokens: total tokens of the run's model calls.
        max_cost_usd: cost of the run's model calls (unpriced calls count 0).
        max_seconds: wall-clock seconds since the run started (checked before each call).
        max_model_calls: model calls.
        max_tool_calls: tool calls executed.
    """

    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_seconds: float | None = None
    max_model_calls: int | None = None
    max_tool_calls: int | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_positive("RunLimits", item.name, getattr(self, item.name))

    def tightened_by(self, context: Mapping[str, Any] | Any) -> RunLimits:
        """These limits with the run's context fields applied where they are stricter.

        Args:
            context: the run's context (a mapping, or an object with the context fields).
        """
        updates: dict[str, Any] = {}
        for limit, name in RUN_LIMIT_CONTEXT_FIELDS.items():
            asked = (
                context.get(name) if isinstance(context, Mapping) else getattr(context, name, None)
            )
            if asked is None:
                continue
            current = getattr(self, limit)
            if current is None or asked < current:
                updates[limit] = asked
        return replace(self, **updates) if updates else self

    @property
    def any(self) -> bool:
        """Whether any limit is set."""
        return any(getattr(self, item.name) is not None for item in fields(self))


@dataclass(frozen=True, kw_only=True)
class Controls:
    """Every cost and failure control of the shared paths (see the module docs).

    Attributes:
        run_limits: the operator's ceilings on one run.
        model_timeout_s: seconds one model call may take (None: no timeout).
        model_retry: retries of retriable model-call failures.
        role_retry: per-role retry settings (``{"judge": RetrySettings(max_attempts=2)}``).
        fallbacks: model specs tried in order after a role's model fails with a fallback-class
            error (``{"*": ("openai:gpt-4o-mini", "template")}``; ``"*"`` is every role
            without its own chain). The context's ``fallback_models`` is used when no chain
            is configured here, and may only narrow one that is.
        breaker: the circuit breakers of model endpoints and tools.
        window: the context window and the tool-output cap.
        tool_retry: per-tool retry settings (by tool name; default: `model_retry`'s counts
            for read-only and idempotent tools, one attempt for the rest).
        max_fixable_errors: invalid-argument errors a run may return to the model per tool
            before the run stops.
        tool_selection: offer each model call only the tools relevant to the conversation
            (`nodes.tool_selection.ToolSelection`: top k by embedding and BM25, plus the
            always-offered ones); None (the default) offers every tool.
    """

    run_limits: RunLimits = field(default_factory=RunLimits)
    model_timeout_s: float | None = 120.0
    model_retry: RetrySettings = field(default_factory=RetrySettings)
    role_retry: Mapping[str, RetrySettings] = field(default_factory=dict)
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    window: WindowSettings = field(default_factory=WindowSettings)
    tool_retry: Mapping[str, RetrySettings] = field(default_factory=dict)
    max_fixable_errors: int = 3
    tool_selection: ToolSelection | None = None

    def __post_init__(self) -> None:
        _check_positive("Controls", "model_timeout_s", self.model_timeout_s)
        if self.max_fixable_errors < 0:
            raise ValueError("Controls.max_fixable_errors must not be negative")
        chains = {role: tuple(specs) for role, specs in self.fallbacks.items()}
        for role, specs in chains.items():
            if not all(isinstance(spec, str) and spec.strip() for spec in specs):
                raise ValueError(f"fallback chain of {role!r} must be non-empty model specs")
        object.__setattr__(self, "fallbacks", MappingProxyType(chains))
        object.__setattr__(self, "role_retry", MappingProxyType(dict(self.role_retry)))
        object.__setattr__(self, "tool_retry", MappingProxyType(dict(self.tool_retry)))

    @classmethod
    def of(cls, controls: Controls | None) -> Controls:
        """`controls`, or the defaults."""
        return DEFAULT_CONTROLS if controls is None else controls

    def retry_for(self, role: str) -> RetrySettings:
        """The retry settings of a model call in `role`."""
        return self.role_retry.get(role, self.model_retry)

    def chain_for(self, role: str) -> tuple[str, ...]:
        """The operator's fallback chain of `role` (empty: none configured)."""
        return self.fallbacks.get(role, self.fallbacks.get("*", ()))


DEFAULT_CONTROLS = Controls()
"""The controls of a graph built without its own."""

protect_config_key(CONTROLS_KEY, Controls)


def current_controls(config: RunnableConfig | None = None) -> Controls:
    """The controls of the graph the current run belongs to (the defaults outside one).

    Args:
        config: the run's config; None reads the current runnable context.
    """
    if config is None:
        try:
            config = get_config()
        except RuntimeError:  # outside a runnable context
            return DEFAULT_CONTROLS
    found = (config.get("configurable") or {}).get(CONTROLS_KEY)
    return found if isinstance(found, Controls) else DEFAULT_CONTROLS
