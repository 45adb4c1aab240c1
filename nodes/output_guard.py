"""Output checks on every reply that reaches the user: canaries, claimed actions, PII.

The node wrapper every pattern is compiled with (`graphs._stop_guard`) passes each node's
update through `OutputGuard.check_update`. Every new AI message without tool calls (a reply)
is checked, in this order, under the graph's `nodes.guardrails.Guardrails` (tightened by the
run's context):

1. **canary**: a reply containing a canary secret is replaced by a refusal;
2. **claim**: a reply saying one of the graph's side-effecting tools was carried out
   (`nodes.reply_claims`) when the effect ledger shows no completed, successful call of it in
   this turn is replaced by a correction stating what actually happened;
3. **pii**: personal data is masked, redacted or the reply withheld (`guardrails.pii`).

Each change is marked on the message (``response_metadata["output_guard"]``: check and
action), recorded in the state's ``guardrail_flags`` audit list when the graph has one
(``kind: "output"``, check, action, message id, time and, for a corrected claim, the replaced
text, itself under the PII mode; a canary's text is never kept), logged, and emitted as an
``output_guarded`` event.

What counts as done: a ledger entry of this thread for one of the graph's OWN side-effecting
tools (its sub-agents' included, given at compile time), completed without error, whose call
is in the current turn's messages or that started during the current run (a sub-agent run
inside a node keeps its messages in its own state). A run without a thread has no ledger
entries; its turn's successful tool messages stand in. Limits: tokens streamed with
``stream_mode="messages"`` reach a streaming client before the check; the stored and
returned conversation is checked.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.types import Command

from checkpointers.ledger import EffectLedger, LedgerEntry
from guardrails.pii import PiiBlocked, redact_text
from nodes.guardrails import Guardrails, PiiMode, run_context
from nodes.identity import current_thread_id
from nodes.reply_claims import ToolAction, find_claims
from nodes.run_budget import current_run_id
from observability.events import emit
from tools.registry import has_side_effects

__all__ = [
    "CANARY_REFUSAL",
    "FLAGS_CHANNEL",
    "GUARD_KEY",
    "PII_BLOCKED_REPLY",
    "OutputGuard",
    "note_run_start",
]

logger = logging.getLogger(__name__)

GUARD_KEY = "output_guard"
"""The ``response_metadata`` key of a changed reply: which checks changed it, and how."""

FLAGS_CHANNEL = "guardrail_flags"
"""The audit list in state (`state.agent.AgentOutput`): one ``kind: "output"`` record per
change, with the replaced text of a corrected claim (PII-redacted under the PII mode)."""

CANARY_REFUSAL = "I can't share that: my reply contained confidential information."
PII_BLOCKED_REPLY = "I can't share that reply: it contained personal data."
_MAX_RUNS = 4096
_run_starts: OrderedDict[str, datetime] = OrderedDict()
_lock = threading.Lock()


def note_run_start(config: RunnableConfig) -> None:
    """Remember when this process first saw the current run (a node of it started)."""
    run_id = current_run_id(config)
    if run_id is None:
        return
    with _lock:
        if run_id not in _run_starts:
            _run_starts[run_id] = datetime.now(UTC)
            while len(_run_starts) > _MAX_RUNS:
                _run_starts.popitem(last=False)


def _run_start(config: RunnableConfig) -> datetime | None:
    run_id = current_run_id(config)
    with _lock:
        return _run_starts.get(run_id) if run_id else None


def _when(text: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _turn(messages: Sequence[Any]) -> list[BaseMessage]:
    """The messages after the last human message."""
    turn: list[BaseMessage] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, BaseMessage):
            turn.insert(0, message)
    return turn


def _pii(text: str, mode: PiiMode) -> tuple[str, str | None]:
    """`text` under the PII mode, and the action taken (None: unchanged)."""
    if mode == "off":
        return text, None
    try:
        cleaned = redact_text(text, mode)
    except PiiBlocked:
        return PII_BLOCKED_REPLY, "blocked"
    return cleaned, ("masked" if mode == "mask" else "redacted") if cleaned != text else None


def _contains_canary(text: str, canaries: Sequence[str]) -> bool:
    folded = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t").casefold()
    return any(canary.casefold() in folded for canary in canaries)


@dataclass(frozen=True)
class OutputGuard:
    """The output checks of one compiled graph (see the module docs).

    Attributes:
        guardrails: the operator's settings (a run may tighten them).
        tools: the graph's own side-effecting tools, its sub-agents' included.
        ledger: the graph's effect ledger.
    """

    guardrails: Guardrails
    tools: tuple[BaseTool, ...]
    ledger: EffectLedger | None

    @classmethod
    def of(
        cls, guardrails: Guardrails, tools: Sequence[BaseTool], ledger: EffectLedger | None
    ) -> OutputGuard:
        """The guard of a graph: only the side-effecting tools of `tools` are kept."""
        kept = {tool.name: tool for tool in tools if has_side_effects(tool)}
        return cls(guardrails=guardrails, tools=tuple(kept.values()), ledger=ledger)

    def check_update(
        self,
        state: Any,
        update: Any,
        config: RunnableConfig,
        channels: Collection[str] = (),
    ) -> Any:
        """`update` with every reply in it checked (a node's return value, or a Command).

        Args:
            state: the state the node saw.
            update: what the node returned.
            config: the run's config.
            channels: the graph's state channels; with ``guardrail_flags`` among them, each
                change is also recorded there for the audit.
        """
        if isinstance(update, Command) and isinstance(update.update, dict):
            checked = self.check_update(state, update.update, config, channels)
            if checked is update.update:
                return update
            return Command(
                graph=update.graph, update=checked, resume=update.resume, goto=update.goto
            )
        if not isinstance(update, dict) or "messages" not in update:
            return update
        guardrails = self.guardrails.tightened_by(run_context(config))
        if not guardrails.checks_output:
            return update
        produced = update["messages"]
        batch = produced if isinstance(produced, list) else [produced]
        prior = list(state.get("messages") or []) if isinstance(state, dict) else []
        flags: list[dict[str, Any]] = []
        checked = [self._check(m, [*prior, *batch], guardrails, config, flags) for m in batch]
        if not flags:
            return update
        changed = {**update, "messages": checked if isinstance(produced, list) else checked[0]}
        if FLAGS_CHANNEL in channels:
            changed[FLAGS_CHANNEL] = [*(update.get(FLAGS_CHANNEL) or []), *flags]
        return changed

    def _check(
        self,
        message: Any,
        conversation: list[Any],
        guardrails: Guardrails,
        config: RunnableConfig,
        flags: list[dict[str, Any]],
    ) -> Any:
        """`message` checked; each change is appended to `flags` (the audit records)."""
        if not isinstance(message, AIMessage) or message.tool_calls:
            return message
        if GUARD_KEY in (message.response_metadata or {}) or not message.text.strip():
            return message
        text: str = message.text
        records: list[dict[str, Any]] = []
        if _contains_canary(text, guardrails.all_canaries()):
            text = CANARY_REFUSAL
            records.append({"check": "canary", "action": "refused"})
        elif guardrails.claim_check and self.tools:
            correction = self._correction(text, conversation, config)
            if correction is not None:
                redacted, _ = _pii(text, guardrails.pii_mode)
                records.append({"check": "claim", "action": "corrected", "replaced": redacted})
                text = correction
        text, pii_action = _pii(text, guardrails.pii_mode)
        if pii_action:
            records.append({"check": "pii", "action": pii_action})
        if not records:
            return message
        at = datetime.now(UTC).isoformat(timespec="seconds")
        for record in records:
            logger.warning("reply %s: %s check, %s", message.id, record["check"], record["action"])
            emit("output_guarded", check=record["check"], action=record["action"])
            flags.append({"kind": "output", "message_id": message.id, **record, "flagged_at": at})
        shown = [{"check": r["check"], "action": r["action"]} for r in records]
        metadata = {**(message.response_metadata or {}), GUARD_KEY: shown}
        return message.model_copy(update={"content": text, "response_metadata": metadata})

    def _correction(self, text: str, conversation: list[Any], config: RunnableConfig) -> str | None:
        """The correction replacing `text`, or None when every claim in it is true."""
        claims = find_claims(text, [ToolAction.of(tool) for tool in self.tools])
        if not claims:
            return None
        done = self._done(conversation, config)
        done_tools = {entry_tool for entry_tool, _ in done}
        if all(set(claim.tools) & done_tools for claim in claims):
            return None
        happened = (
            "; ".join(f"{tool} ran ({args})" for tool, args in done)
            if done
            else "no action was carried out in this turn"
        )
        return (
            "Correction: my reply said an action was carried out that did not happen in this "
            f"turn. What actually happened: {happened}."
        )

    def _done(self, conversation: list[Any], config: RunnableConfig) -> list[tuple[str, str]]:
        """``(tool, arguments)`` of the graph's side effects carried out in this turn or run."""
        names = {tool.name for tool in self.tools}
        turn = _turn(conversation)
        thread_id = current_thread_id(config)
        if self.ledger is None or thread_id is None:
            return [
                (m.name or "", "result recorded in the conversation")
                for m in turn
                if isinstance(m, ToolMessage)
                and m.name in names
                and m.status != "error"
                and not m.text.startswith("Not run")
            ]
        call_ids = {
            call.get("id") for m in turn if isinstance(m, AIMessage) for call in m.tool_calls
        }
        started = _run_start(config)
        return [
            (entry.tool, _brief(entry))
            for entry in self.ledger.entries(thread_id)
            if entry.tool in names
            and entry.status == "completed"
            and entry.result_status != "error"
            and (entry.tool_call_id in call_ids or _since(entry, started))
        ]


def _since(entry: LedgerEntry, started: datetime | None) -> bool:
    when = _when(entry.started_at)
    return started is not None and when is not None and when >= started


def _brief(entry: LedgerEntry) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(entry.args.items()))[:200]
