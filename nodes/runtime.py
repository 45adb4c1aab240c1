"""What every pattern shares at build time: `PatternRuntime`.

One frozen object carries the settings every factory used to take one by one (checkpointer,
store, effect ledger, tool timeout, cost and failure controls). A production feature that
every pattern needs (budgets, fallbacks, circuit breakers, guardrails) is added here and read
by the shared nodes, never copied into a pattern's factory.

Factories take ``runtime=`` and keep ``checkpointer=`` and ``store=`` as shorthands
(`PatternRuntime.of`). The ledger is derived from the checkpointer unless given
(`checkpointers.ledger.default_ledger`: the Postgres table beside Postgres checkpoints, the
SQLite file's tables, or the run's own saver for a graph the server gives one).

Example:
    >>> from langgraph.checkpoint.memory import InMemorySaver
    >>> runtime = PatternRuntime(checkpointer=InMemorySaver(), tool_timeout_s=10)
    >>> type(runtime.ledger).__name__, runtime.tool_timeout_s
    ('InMemoryLedger', 10)
    >>> sub = runtime.for_subagent()
    >>> sub.checkpointer is None and sub.ledger is runtime.ledger
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from checkpointers.ledger import EffectLedger, RunLedger, default_ledger
from nodes.controls import DEFAULT_CONTROLS, Controls
from nodes.guardrails import DEFAULT_GUARDRAILS, SERVED_GUARDRAILS, Guardrails

__all__ = ["DEFAULT_TOOL_TIMEOUT_S", "PatternRuntime"]

DEFAULT_TOOL_TIMEOUT_S = 30.0
"""Seconds a tool call may take unless the tool declares its own timeout."""


@dataclass(frozen=True, kw_only=True)
class PatternRuntime:
    """The build-time settings every pattern factory and the compile helper share.

    Attributes:
        checkpointer: saver for durable threads; None for stateless runs, for graphs the
            LangGraph server gives its own saver, and for sub-agents (they checkpoint into
            their parent's thread).
        store: long-term memory store, exposed to nodes as ``runtime.store``.
        ledger: the exactly-once record of side-effecting calls and approval decisions;
            None derives it from `checkpointer` (filled in on construction, so it is never
            None on an instance).
        tool_timeout_s: default per-call tool timeout in seconds (a tool may declare its own).
        controls: the cost and failure controls of the shared model-call path and tool node
            (run limits, timeouts, retries, fallbacks, breakers, context window, tool
            selection; see `nodes.controls`).
        guardrails: PII in replies, canaries, the reply-claim check and injection screening
            (`nodes.guardrails`); the served graphs turn every check on.
    """

    checkpointer: BaseCheckpointSaver | None = None
    store: BaseStore | None = None
    ledger: EffectLedger = field(default=None)  # type: ignore[assignment]
    tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S
    controls: Controls = DEFAULT_CONTROLS
    guardrails: Guardrails = DEFAULT_GUARDRAILS

    def __post_init__(self) -> None:
        if self.ledger is None:
            object.__setattr__(self, "ledger", default_ledger(self.checkpointer))
        if self.tool_timeout_s is not None and self.tool_timeout_s <= 0:
            raise ValueError(f"tool_timeout_s must be positive or None, got {self.tool_timeout_s}")

    @classmethod
    def of(
        cls,
        runtime: PatternRuntime | None = None,
        *,
        checkpointer: BaseCheckpointSaver | None = None,
        store: BaseStore | None = None,
    ) -> PatternRuntime:
        """The runtime a factory uses: `runtime`, or one built from the two shorthands.

        A runtime without a saver or store of its own (a served graph's settings, e.g. its
        guardrails) takes the shorthands' saver and store, and the ledger derived from them.

        Raises:
            ValueError: both a runtime and a shorthand were given (which should win is not
                obvious, so neither does).
        """
        if runtime is None:
            return cls(checkpointer=checkpointer, store=store)
        if runtime.settings_only and (checkpointer is not None or store is not None):
            return replace(runtime, checkpointer=checkpointer, store=store, ledger=None)  # type: ignore[arg-type]
        if checkpointer is not None or store is not None:
            raise ValueError(
                "Pass checkpointer and store inside runtime=PatternRuntime(...) or as "
                "shorthands, not both."
            )
        return runtime

    @classmethod
    def served(cls, **settings: Any) -> PatternRuntime:
        """The settings of a graph `langgraph.json` serves: every guardrail on, no saver.

        A pattern module's ``SERVED_OPTIONS`` carries it; a saver or store given as a
        shorthand next to it is taken in (`of`). `settings` are the other fields, for the
        served wiring with a saver and ledger of your own:
        ``build_x(**{**SERVED_OPTIONS, "runtime": PatternRuntime.served(checkpointer=saver)})``.
        """
        return cls(**{"guardrails": SERVED_GUARDRAILS, **settings})

    @property
    def settings_only(self) -> bool:
        """Whether this runtime carries settings only: no saver, no store, the derived ledger."""
        return (
            self.checkpointer is None and self.store is None and isinstance(self.ledger, RunLedger)
        )

    def for_subagent(self) -> PatternRuntime:
        """The runtime of an agent compiled into a parent graph: same ledger, no saver.

        A sub-agent checkpoints into its parent's thread (its own namespace), which is what
        lets an approval interrupt inside it pause and resume the whole run.
        """
        return replace(self, checkpointer=None)
