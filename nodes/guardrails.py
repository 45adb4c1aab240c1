"""The guardrail settings every pattern shares: `Guardrails`, and how a node reads them.

One frozen object, carried by `nodes.runtime.PatternRuntime` (``runtime.guardrails``), holds
the operator's settings for what reaches the user and what reaches the model:

- ``pii_mode``: personal data in replies (``"off"``, ``"mask"``, ``"redact"``, ``"block"``;
  `guardrails.pii`);
- ``canaries``: secret strings that must never appear in a reply (plus those in the
  environment variable ``AGENT_PATTERNS_CANARIES``, comma-separated, read at check time);
- ``claim_check``: a reply claiming an action the effect ledger does not show as done is
  replaced by a correction (`nodes.output_guard`);
- ``injection_screening``: tool results and retrieved memories are screened for prompt
  injection (`nodes.injection_screen`, which screens in every graph: the default is on and a
  run cannot turn it off).

How a node gets them: the node wrapper every pattern is compiled with
(`graphs._stop_guard`) sets them for the duration of each node from the graph's own runtime
(`using_guardrails`), and `current_guardrails` reads that value. They never travel in the
run's ``configurable``, so a client sending a config key cannot replace them.

A run's context may **tighten** them (a ``guardrails`` mapping in the context: turn a check
on, ``mask`` to ``redact`` to ``block``, add canaries), never loosen them: `tightened_by`
ignores a weaker value.

Example:
    >>> base = Guardrails(pii_mode="redact", canaries=("s3cret",))
    >>> tighter = base.tightened_by({"guardrails": {"pii_mode": "block", "claim_check": True}})
    >>> tighter.pii_mode, tighter.claim_check
    ('block', True)
    >>> looser = base.tightened_by({"guardrails": {"pii_mode": "off", "canaries": []}})
    >>> looser.pii_mode, looser.canaries
    ('redact', ('s3cret',))
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config

__all__ = [
    "CANARIES_ENV",
    "DEFAULT_GUARDRAILS",
    "PII_MODES",
    "SERVED_GUARDRAILS",
    "Guardrails",
    "PiiMode",
    "current_guardrails",
    "env_canaries",
    "run_context",
    "using_guardrails",
]

PiiMode = Literal["off", "mask", "redact", "block"]
PII_MODES: tuple[PiiMode, ...] = ("off", "mask", "redact", "block")
"""The PII modes, weakest first: a run may move a graph's mode to the right only."""

CANARIES_ENV = "AGENT_PATTERNS_CANARIES"
"""Comma-separated canary strings every graph of the process refuses to reply with."""

CONTEXT_FIELD = "guardrails"
"""The run-context field that may tighten the guardrails (a mapping)."""

_MIN_CANARY = 4
_RUNTIME = "__pregel_runtime"


def _clean_canaries(values: Any, owner: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, list | tuple | set | frozenset):
        raise ValueError(f"{owner}: canaries must be a list of strings, got {values!r}")
    found: list[str] = []
    for value in values:
        if not isinstance(value, str) or len(value.strip()) < _MIN_CANARY:
            raise ValueError(
                f"{owner}: each canary must be a string of at least {_MIN_CANARY} characters, "
                f"got {value!r}"
            )
        if value.strip() not in found:
            found.append(value.strip())
    return tuple(found)


def env_canaries() -> tuple[str, ...]:
    """The canaries in ``AGENT_PATTERNS_CANARIES`` (empty entries and short ones ignored)."""
    raw = os.environ.get(CANARIES_ENV, "")
    return tuple(part.strip() for part in raw.split(",") if len(part.strip()) >= _MIN_CANARY)


@dataclass(frozen=True, kw_only=True)
class Guardrails:
    """The operator's guardrail settings (see the module docs).

    Attributes:
        pii_mode: what happens to personal data in a reply: ``"off"`` (kept), ``"mask"``
            (partly hidden), ``"redact"`` (replaced by its kind), ``"block"`` (the reply is
            withheld).
        canaries: secret strings a reply must never contain (a reply that does is replaced
            by a refusal); `all_canaries` adds ``AGENT_PATTERNS_CANARIES``.
        claim_check: replace a reply that claims an action the effect ledger does not show
            as done in this turn.
        injection_screening: screen tool results and retrieved memories for prompt injection
            (on by default, like the screening node itself).
    """

    pii_mode: PiiMode = "off"
    canaries: tuple[str, ...] = ()
    claim_check: bool = False
    injection_screening: bool = True

    def __post_init__(self) -> None:
        if self.pii_mode not in PII_MODES:
            raise ValueError(
                f"Guardrails.pii_mode must be one of {PII_MODES}, got {self.pii_mode!r}"
            )
        for name in ("claim_check", "injection_screening"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"Guardrails.{name} must be a bool, got {getattr(self, name)!r}")
        object.__setattr__(self, "canaries", _clean_canaries(self.canaries, "Guardrails"))

    def all_canaries(self) -> tuple[str, ...]:
        """The configured canaries and those of ``AGENT_PATTERNS_CANARIES``."""
        return tuple(dict.fromkeys((*self.canaries, *env_canaries())))

    @property
    def checks_output(self) -> bool:
        """Whether any output check can change a reply (canaries count when configured)."""
        return self.pii_mode != "off" or self.claim_check or bool(self.all_canaries())

    def tightened_by(self, context: Mapping[str, Any] | Any) -> Guardrails:
        """These settings with the run context's ``guardrails`` applied where stricter.

        Args:
            context: the run's context (a mapping, or an object with a ``guardrails`` field).

        Raises:
            ValueError: the context's ``guardrails`` is not a mapping of known settings.
        """
        asked = (
            context.get(CONTEXT_FIELD)
            if isinstance(context, Mapping)
            else getattr(context, CONTEXT_FIELD, None)
        )
        if not asked:
            return self
        if not isinstance(asked, Mapping):
            raise ValueError(f"context.guardrails must be a mapping, got {asked!r}")
        unknown = set(asked) - {"pii_mode", "canaries", "claim_check", "injection_screening"}
        if unknown:
            raise ValueError(f"context.guardrails: unknown settings {sorted(unknown)}")
        mode = asked.get("pii_mode", self.pii_mode)
        if mode not in PII_MODES:
            raise ValueError(
                f"context.guardrails.pii_mode must be one of {PII_MODES}, got {mode!r}"
            )
        stricter = max(PII_MODES.index(mode), PII_MODES.index(self.pii_mode))
        extra = _clean_canaries(asked.get("canaries", []), "context.guardrails")
        return replace(
            self,
            pii_mode=PII_MODES[stricter],
            canaries=tuple(dict.fromkeys((*self.canaries, *extra))),
            claim_check=self.claim_check or asked.get("claim_check") is True,
            injection_screening=self.injection_screening
            or asked.get("injection_screening") is True,
        )


DEFAULT_GUARDRAILS = Guardrails()
"""The guardrails of a graph built without its own: the output checks off (canaries from the
environment still apply), injection screening on."""

SERVED_GUARDRAILS = Guardrails(pii_mode="redact", claim_check=True, injection_screening=True)
"""The guardrails of the graphs `langgraph.json` serves: every check on."""

_current: ContextVar[Guardrails | None] = ContextVar("agent_patterns_guardrails", default=None)


@contextmanager
def using_guardrails(guardrails: Guardrails) -> Iterator[None]:
    """Make `guardrails` the current graph's settings inside the block (the node wrapper)."""
    token = _current.set(guardrails)
    try:
        yield
    finally:
        _current.reset(token)


def run_context(config: RunnableConfig | None) -> Mapping[str, Any] | Any:
    """The run's context (``runtime.context``), or an empty mapping outside a run."""
    if config is None:
        try:
            config = get_config()
        except RuntimeError:  # outside a runnable context
            return {}
    runtime = (config.get("configurable") or {}).get(_RUNTIME)
    return getattr(runtime, "context", None) or {}


def current_guardrails(config: RunnableConfig | None = None) -> Guardrails:
    """The guardrails of the running node's graph, tightened by the run's context.

    Outside a node of a compiled pattern: `DEFAULT_GUARDRAILS` (tightened likewise). A
    ``configurable`` value is never read (see the module docs).

    Args:
        config: the run's config; None reads the current runnable context.
    """
    base = _current.get() or DEFAULT_GUARDRAILS
    return base.tightened_by(run_context(config))
