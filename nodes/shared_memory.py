"""Shared memory across agents: what every agent of a team reads, and what writer agents add.

In the supervisor and the swarm, all agents built from an `AgentSpec` read one memory: notes
the agents recorded, kept in the graph's store under ``("shared_memory", <scope label>)``
(`shared_namespace`), where the scope is the run's ``context.shared_memory_scope``
(``"project"`` or ``"team:<id>"``, `state.shared_memory.SharedMemoryContext`).

- **Reading**: `make_call_model_with_shared_memory` is the agent's model node; before each model
  call it searches the shared memory with the agent's task (the latest human message it was
  given) and appends the most relevant notes (at most `RECALL_LIMIT`, best first, no score
  threshold: a team's memory is small and a weak offline embedding should not hide a note) to
  the agent's system prompt, each with the agent that wrote it and when. No notes: the prompt
  is exactly the agent's own.
- **Writing**: an agent declared ``AgentSpec(shared_memory="write")`` gets one more tool,
  ``remember_shared(note)`` (`make_remember_shared_tool`). The note is the only argument: the
  writing agent's name is bound when the graph is built (never taken from the call), the
  thread and the user come from the run, the time from the clock. A reader agent has no such
  tool, so a call to it is an unknown tool the tool node refuses.
- **No approval gate**: ``remember_shared`` declares no side effects. It changes nothing
  outside the graph's own store (as the memory node's facts do), it is idempotent (a note's key
  is a digest of scope, agent and normalised text, so a replayed or repeated call updates the
  same item), and a note can be deleted (`forget_shared_note`). Stopping every note for a
  reviewer would turn approvals into bookkeeping; under ``approval_policy="always"`` it waits
  like every call.

**Who may use which memory** (`shared_access`). Outside a server (Python, the CLI: the
operator's own runs) any scope is read and written. On a server the identity comes from the
auth handler, never from the context: a ``team:<id>`` scope needs the user to be a member of
that team (the team table the budgets keep, `checkpointers.budget_caps.CapStore.team_of`) or an
admin, else the run is refused (`PermissionError`) before anything is read; members' runs write
their team's memory; the project's memory is read by every run and written only by admins'
runs (everyone reads it, so a user's conversation must not be able to change it). A client can
therefore not widen the scope: naming another team is refused, naming the project reads only
what every user may read.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.prebuilt import ToolRuntime
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from pydantic import BaseModel, Field

from checkpointers.budget_caps import default_cap_store
from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from memory.namespaces import namespace_label
from nodes.context import AgentNode, context_as
from nodes.identity import authenticated_permissions, authenticated_user_id, current_thread_id
from nodes.model_call import make_call_model
from state.agent import AgentState
from state.shared_memory import SharedMemoryContext, check_shared_scope

__all__ = [
    "RECALL_LIMIT",
    "REMEMBER_SHARED",
    "SHARED_MEMORY_NAMESPACE",
    "SharedAccess",
    "forget_shared_note",
    "make_call_model_with_shared_memory",
    "make_remember_shared_tool",
    "recall_shared",
    "record_shared_note",
    "render_shared",
    "shared_access",
    "shared_namespace",
]

SHARED_MEMORY_NAMESPACE = "shared_memory"
"""First label of the shared memories' namespaces: ``("shared_memory", <scope label>)``."""
REMEMBER_SHARED = "remember_shared"
"""The writer agents' tool."""
RECALL_LIMIT = 5
"""Notes shown to an agent per model call, most relevant first."""

_log = logging.getLogger(__name__)


def shared_namespace(scope: str) -> tuple[str, str]:
    """The store namespace of a shared memory (the scope escaped like user ids).

    Example:
        >>> shared_namespace("project"), shared_namespace("team:ops.eu")
        (('shared_memory', 'project'), ('shared_memory', 'team:ops%2Eeu'))
    """
    return (SHARED_MEMORY_NAMESPACE, namespace_label(check_shared_scope(scope)))


def _note_key(scope: str, agent: str, text: str) -> str:
    normalised = " ".join(text.lower().split()).rstrip(".!")
    return hashlib.sha256(f"{scope}\x00{agent}\x00{normalised}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class SharedAccess:
    """The shared memory a run uses and whether its writer agents may add to it."""

    scope: str
    writable: bool
    user_id: str | None = None
    reason: str = ""


def _teams_of(user_id: str, config: RunnableConfig | None) -> list[str]:
    saver = ((config or {}).get("configurable") or {}).get(RUN_CHECKPOINTER_KEY)
    caps = default_cap_store(saver if isinstance(saver, BaseCheckpointSaver) else None)
    return caps.team_of(user_id)


def shared_access(scope: str, config: RunnableConfig | None = None) -> SharedAccess:
    """Check the run's scope against its authenticated identity (see the module docs).

    Args:
        scope: the run's ``context.shared_memory_scope``.
        config: the run's config; None reads the current runnable context.

    Raises:
        PermissionError: an authenticated non-admin naming a team they are not in.
    """
    check_shared_scope(scope)
    user = authenticated_user_id(config)
    if user is None:
        return SharedAccess(scope, writable=True)
    if "role:admin" in authenticated_permissions(config):
        return SharedAccess(scope, writable=True, user_id=user)
    if scope == "project":
        reason = "only admins' runs write the project's shared memory"
        return SharedAccess(scope, writable=False, user_id=user, reason=reason)
    if scope not in _teams_of(user, config):
        raise PermissionError(
            f"shared memory {scope!r} refused: {user!r} is not a member of that team"
        )
    return SharedAccess(scope, writable=True, user_id=user)


def record_shared_note(
    store: BaseStore,
    scope: str,
    *,
    agent: str,
    text: str,
    user_id: str | None = None,
    thread_id: str | None = None,
) -> dict[str, Any]:
    """Store a note in a shared memory (what ``remember_shared`` does); returns the item.

    Restating a note (same scope, agent and text up to case and spacing) updates it.
    """
    text = " ".join(text.split())
    key = _note_key(scope, agent, text)
    value = {
        "text": text,
        "agent": agent,
        "scope": scope,
        "thread_id": thread_id,
        "user_id": user_id,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    store.put(shared_namespace(scope), key, value, index=["text"])
    return {"key": key, **value}


def forget_shared_note(store: BaseStore, scope: str, key: str) -> None:
    """Delete one note of a shared memory."""
    store.delete(shared_namespace(scope), key)


def recall_shared(
    store: BaseStore, scope: str, query: str, *, limit: int = RECALL_LIMIT
) -> list[dict[str, Any]]:
    """The notes of a shared memory most relevant to `query` (the latest first without one)."""
    hits = store.search(shared_namespace(scope), query=query or None, limit=limit)
    return [{"key": hit.key, **hit.value} for hit in hits]


def render_shared(notes: Sequence[dict[str, Any]], scope: str) -> str:
    """The system-prompt section listing shared notes ("" when there are none).

    Example:
        >>> note = {"text": "A-1 ships", "agent": "researcher", "recorded_at": "2026-12-06T1"}
        >>> render_shared([note], "team:ops").splitlines()[-1]
        '- [researcher, 2026-12-06] A-1 ships'
    """
    if not notes:
        return ""
    lines = [
        f"Shared memory of your team ({scope}): notes agents recorded, each with the agent "
        "that wrote it (they may be outdated; what you are told now takes precedence):"
    ]
    for note in notes:
        noted = str(note.get("recorded_at") or "")[:10]
        lines.append(f"- [{note.get('agent') or 'unknown'}, {noted}] {note['text']}")
    return "\n".join(lines)


@functools.cache
def _warn_no_store(where: str) -> None:
    _log.warning("%s: the graph has no store; shared memory is off for this run.", where)


def _latest_request(messages: Sequence[AnyMessage]) -> str:
    found = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    return found.text if found is not None else ""


def make_call_model_with_shared_memory(
    model: BaseChatModel | None,
    tools: Sequence[BaseTool],
    *,
    instructions: str = "",
    reply_name: str | None = None,
    limit: int = RECALL_LIMIT,
) -> AgentNode:
    """The agent's model node (`make_call_model`) with the shared notes in its system prompt.

    Args:
        model: a chat model, or None to resolve ``context.model`` per run.
        tools: the agent's tools.
        instructions: its system prompt; empty uses ``context.system_prompt``.
        reply_name: tag the replies with this name.
        limit: notes shown per call.

    Returns:
        A node ``call_model(state, runtime, config) -> {"messages": [reply]}``.

    Raises:
        PermissionError: (when called) the run names a shared memory its user may not read.
    """
    call_model = make_call_model(model, tools, reply_name=reply_name)

    def call_model_with_shared_memory(
        state: AgentState, *, runtime: Runtime[SharedMemoryContext], config: RunnableConfig
    ) -> dict[str, Any]:
        """Ask the model for the next step, with what the team's agents recorded."""
        context = context_as(runtime, SharedMemoryContext)
        access = shared_access(context.shared_memory_scope, config)
        prompt = instructions or context.system_prompt
        if runtime.store is None:
            _warn_no_store("recall_shared")
        else:
            query = _latest_request(state["messages"])
            notes = recall_shared(runtime.store, access.scope, query, limit=limit)
            if block := render_shared(notes, access.scope):
                prompt = f"{prompt}\n\n{block}"
        if prompt != context.system_prompt:
            runtime = runtime.override(context=replace(context, system_prompt=prompt))
        return call_model(state, runtime=runtime)

    return call_model_with_shared_memory


class RememberSharedArgs(BaseModel):
    """Arguments of ``remember_shared``: the note, nothing else."""

    note: str = Field(
        description="One self-contained finding or decision the other agents should know "
        "(they do not see your conversation), in one or two sentences.",
        min_length=3,
        max_length=1000,
    )


def make_remember_shared_tool(agent: str) -> BaseTool:
    """The ``remember_shared(note)`` tool of one writer agent; `agent` is bound here.

    Read-only for the approval gate (see the module docs); the run's store, scope, thread and
    user are read when it runs.
    """

    def remember_shared(note: str, runtime: ToolRuntime) -> str:
        context = context_as(runtime, SharedMemoryContext)  # type: ignore[arg-type]
        access = shared_access(context.shared_memory_scope, runtime.config)
        if runtime.store is None:
            return "Not recorded: this graph has no store, so there is no shared memory."
        if not access.writable:
            return f"Not recorded: {access.reason}."
        record_shared_note(
            runtime.store,
            access.scope,
            agent=agent,
            text=note,
            user_id=access.user_id,
            thread_id=current_thread_id(runtime.config),
        )
        return f"Recorded in the shared memory ({access.scope}) as {agent}'s note."

    return StructuredTool.from_function(
        func=remember_shared,
        name=REMEMBER_SHARED,
        description=(
            "Record a finding in your team's shared memory, so the other agents (in this run "
            "and later ones) can use it. The note is saved under your name."
        ),
        args_schema=RememberSharedArgs,
        metadata={"side_effects": False, "idempotent": True, "timeout_s": None},
    )
