"""Circuit breakers per model endpoint and per tool: `BreakerBoard` and `breaker_board`.

A breaker guards one key, `breaker_key` (``"model:openai:gpt-4o-mini"``, ``"tool:refund"``).
The caller wraps each call:

    board = breaker_board()          # the current run's board
    board.before_call(key)           # raises CircuitOpenError while the breaker is open
    try:
        result = call()
    except Exception as exc:
        if counts(exc):              # the caller decides which failures count
            board.record_failure(key, describe_failure(exc))
        raise
    board.record_success(key)

**States.** ``closed``: calls go through; ``failure_threshold`` failures within ``window_s``
(`nodes.controls.BreakerSettings`) open it. ``open``: `BreakerBoard.before_call` raises
`nodes.error_classes.CircuitOpenError` (class ``fallback``: the fallback chain moves on) until
``cooldown_s`` has passed. Then exactly one caller, across every process sharing the store,
claims the half-open probe and its call goes through (``half_open``); everyone else still
fails fast. The probe's success closes the breaker, its failure opens it for another
cool-down. A probe claimed but never reported (its process died) does not block the breaker
forever: after ``max(cooldown_s, MIN_PROBE_TIMEOUT_S)`` another caller may claim it.

**Which failures count** is the caller's decision: the model path
(`nodes.model_chain.call_model_chain`) and the tool path (`nodes.tool_execution`) call
`BreakerBoard.record_failure` only for ``retriable`` failures whose retries are spent and for
``fallback`` failures (never for ``fixable`` or ``terminal`` ones, nor for a call the breaker
refused). A success resets the count.

**Where the state lives**: `checkpointers.breakers.default_breaker_store` of the run's
checkpointer: a Postgres table shared by every process on the same database, else this
process's memory. Disabled settings (``BreakerSettings(enabled=False)``) make a board that
lets every call through and records nothing.

Example:
    >>> from checkpointers.breakers import InMemoryBreakerStore
    >>> from nodes.controls import BreakerSettings
    >>> board = BreakerBoard(InMemoryBreakerStore(), BreakerSettings(failure_threshold=1))
    >>> key = breaker_key("tool", "refund")
    >>> board.record_failure(key, "HTTP 503")
    >>> board.before_call(key)
    Traceback (most recent call last):
    ...
    nodes.error_classes.CircuitOpenError: circuit breaker tool:refund is open (probe in 30 s)
"""

from __future__ import annotations

from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config

from checkpointers.breakers import BreakerState, BreakerStore, default_breaker_store
from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from nodes.controls import BreakerSettings, current_controls
from nodes.error_classes import CircuitOpenError
from observability.events import emit

__all__ = ["MIN_PROBE_TIMEOUT_S", "BreakerBoard", "breaker_board", "breaker_key"]

MIN_PROBE_TIMEOUT_S = 1.0
"""The shortest time a claimed probe is waited for before another caller may claim it."""

BreakerKind = Literal["model", "tool"]


def breaker_key(kind: BreakerKind, name: str) -> str:
    """The key of the breaker of a model endpoint or a tool.

    Args:
        kind: ``"model"`` or ``"tool"``.
        name: the model spec (``"openai:gpt-4o-mini"``) or the tool's name.

    Raises:
        ValueError: an unknown kind or an empty name.

    Example:
        >>> breaker_key("model", "openai:gpt-4o-mini")
        'model:openai:gpt-4o-mini'
    """
    if kind not in ("model", "tool"):
        raise ValueError(f"breaker kind must be 'model' or 'tool', got {kind!r}")
    if not name.strip():
        raise ValueError("a breaker needs a model or tool name")
    return f"{kind}:{name.strip()}"


class BreakerBoard:
    """The breakers of one store under one set of settings (see the module docs).

    Args:
        store: where the breakers live.
        settings: threshold, window and cool-down; ``enabled=False`` turns the board off.
    """

    def __init__(self, store: BreakerStore, settings: BreakerSettings) -> None:
        self.store = store
        self.settings = settings
        self._probes: set[str] = set()  # keys whose half-open probe this board holds

    @property
    def enabled(self) -> bool:
        """Whether the board guards calls at all."""
        return self.settings.enabled

    def before_call(self, key: str) -> None:
        """Let a call through (claiming the half-open probe when due), or fail fast.

        Raises:
            CircuitOpenError: the breaker is open, or another caller holds the probe.
        """
        if not self.enabled:
            return
        cooldown = self.settings.cooldown_s
        admission = self.store.admit(
            key, cooldown_s=cooldown, probe_timeout_s=max(cooldown, MIN_PROBE_TIMEOUT_S)
        )
        if not admission.allowed:
            raise CircuitOpenError(key, retry_in_s=admission.retry_in_s)
        if admission.probe:
            self._probes.add(key)
            emit("breaker_change", key=key, state="half_open")

    def record_success(self, key: str) -> None:
        """A call succeeded: close a half-open breaker, reset a closed one's count."""
        if self.enabled:
            changed = self.store.record_success(key)
            if changed is not None and key in self._probes:
                emit("breaker_change", key=key, state="closed")
            self._probes.discard(key)

    def record_failure(self, key: str, error: str) -> None:
        """A call failed in a way that counts: count it; open at the threshold.

        Args:
            key: the breaker.
            error: one line about the failure (shown by ``agent-patterns breakers``).
        """
        if self.enabled:
            row = self.store.record_failure(
                key,
                error,
                threshold=self.settings.failure_threshold,
                window_s=self.settings.window_s,
            )
            self._probes.discard(key)
            opened_now = row.opened_at is not None and row.opened_at == row.updated_at
            if row.state == "open" and opened_now:
                emit("breaker_change", key=key, state="open")

    def states(self) -> list[BreakerState]:
        """Every breaker of the store, by key."""
        return self.store.states()

    def reset(self, key: str) -> bool:
        """Close a breaker by forgetting it; False when there was none."""
        return self.store.reset(key)


def _run_saver(config: RunnableConfig | None) -> BaseCheckpointSaver | None:
    if config is None:
        try:
            config = get_config()
        except RuntimeError:  # outside a run
            return None
    saver = (config.get("configurable") or {}).get(RUN_CHECKPOINTER_KEY)
    return saver if isinstance(saver, BaseCheckpointSaver) else None


def breaker_board(config: RunnableConfig | None = None) -> BreakerBoard:
    """The board of the current run: its checkpointer's store, its controls' settings.

    Args:
        config: the run's config; None reads the current runnable context (outside a run:
            the process-wide in-memory store and the default settings).
    """
    store = default_breaker_store(_run_saver(config))
    return BreakerBoard(store, current_controls(config).breaker)
