"""Who may touch which store namespaces: own namespaces, readable knowledge scopes, admins all.

The graphs keep per-user data in ``("memories", label)`` and ``("lessons", label)``, where
``label = memory.namespaces.namespace_label(user_id)``. A non-admin (``user`` or ``reviewer``)
may put, get, delete and search only in namespaces whose second label is their own, and may
list only namespaces under such a prefix: ``("memories",)`` or an empty prefix would span
users and is refused (403) rather than silently narrowed. Admins reach every namespace.

The knowledge base (`memory.knowledge`) keeps chunks in ``("knowledge", <scope label>)`` and
its source registry in ``("knowledge_sources", <scope label>)``, the label being the scope
escaped like a user id (``user:ana%2Eb``). Those follow the knowledge scopes' rules instead:

- **reads** (get, search, list_namespaces) of a scope the caller reads
  (`memory.knowledge.readable_scopes`): ``project``, ``team:<id>`` of each of their teams,
  ``user:<their id>``;
- **writes** (put, delete) where `memory.knowledge.check_writable` allows: their own user
  scope; a team scope when they are a member with the reviewer role; never ``project``;
- ``("knowledge",)`` alone (every scope) is refused, like ``("memories",)``.

The agents' shared memory (`nodes.shared_memory`) keeps notes in ``("shared_memory", <scope
label>)``, scope ``project`` or ``team:<id>``, with the graphs' own rule: the project's is
read by everyone and written by admins only; a team's is read and written by its members.

Team membership is read from the team table the budgets keep beside the server's checkpoints
(`checkpointers.budget_caps`; ``agent-patterns budgets team`` sets it), the same table the
graphs' retrieval reads, so the API and the agent agree on who is in a team.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Sequence
from typing import Any

from langgraph_sdk import Auth

from checkpointers.budget_caps import CapStore, InMemoryCapStore
from checkpointers.factory import parse_checkpointer_url
from memory.knowledge import check_writable, parse_scope, readable_scopes
from memory.namespaces import namespace_label, user_from_label
from server.caller import Caller, forbidden
from server.checkpointer import server_checkpointer_url

__all__ = ["KNOWLEDGE_ROOTS", "SHARED_MEMORY_ROOT", "server_team_store", "store_handler"]

KNOWLEDGE_ROOTS = ("knowledge", "knowledge_sources")
"""Namespace roots that follow the knowledge scopes' rules."""
SHARED_MEMORY_ROOT = "shared_memory"
"""The agents' shared memory: project read by all, written by admins; a team's by members."""
_READS = ("get", "search", "list_namespaces")


@functools.cache
def server_team_store() -> CapStore:
    """The team table beside the server's checkpoints (Postgres or SQLite), one per process."""
    url = parse_checkpointer_url(server_checkpointer_url())
    if url.kind == "postgres":
        from checkpointers.budget_caps_postgres import PostgresCapStore

        return PostgresCapStore(url.target)
    if url.kind == "sqlite":
        from checkpointers.budget_caps_sqlite import SqliteCapStore

        return SqliteCapStore(os.path.abspath(os.path.expanduser(url.target)))
    return InMemoryCapStore()


def _shown(labels: Sequence[str]) -> str:
    return "(" + ", ".join(repr(label) for label in labels) + ")"


def _require_own(caller: Caller, namespace: Sequence[str] | None, action: str) -> None:
    own = namespace_label(caller.user_id)
    labels = tuple(namespace or ())
    if len(labels) < 2 or labels[1] != own:
        raise forbidden(
            f"store {action} on namespace {_shown(labels)} refused: you may only use namespaces "
            f"(<root>, {own!r}, ...)"
        )


async def _require_knowledge_access(caller: Caller, labels: Sequence[str], action: str) -> None:
    """Refuse a knowledge read of a scope the caller does not read, or a write they may not do."""
    if len(labels) != 2:
        raise forbidden(
            f"store {action} on namespace {_shown(labels)} refused: name one scope, "
            f"({labels[0]!r}, <scope>), one the caller may read"
        )
    try:
        scope = parse_scope(user_from_label(labels[1]))
    except ValueError as exc:
        raise forbidden(f"store {action} on namespace {_shown(labels)} refused: {exc}") from None
    teams = await asyncio.to_thread(server_team_store().team_of, caller.user_id)
    if action in _READS:
        if scope not in readable_scopes(caller.user_id, teams):
            raise forbidden(
                f"store {action} on namespace {_shown(labels)} refused: {caller.user_id!r} "
                "reads the project's knowledge, their teams' and their own only"
            )
        return
    try:
        check_writable(scope, user_id=caller.user_id, role=caller.role, teams=teams)
    except PermissionError as exc:
        raise forbidden(f"store {action} on namespace {_shown(labels)} refused: {exc}") from None


async def _require_shared_access(caller: Caller, labels: Sequence[str], action: str) -> None:
    """Refuse a shared-memory operation the graphs' own rule would not allow a run."""
    if len(labels) != 2:
        raise forbidden(
            f"store {action} on namespace {_shown(labels)} refused: name one shared memory, "
            f"({SHARED_MEMORY_ROOT!r}, 'project' or 'team:<id>')"
        )
    scope = user_from_label(labels[1])
    if scope == "project":
        if action in _READS:
            return
        raise forbidden(
            f"store {action} on namespace {_shown(labels)} refused: only admins write the "
            "project's shared memory"
        )
    teams = await asyncio.to_thread(server_team_store().team_of, caller.user_id)
    if scope not in teams:
        raise forbidden(
            f"store {action} on namespace {_shown(labels)} refused: {caller.user_id!r} is not "
            f"a member of {scope!r}"
        )


async def store_handler(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Authorize a store operation (put, get, delete, search, list_namespaces)."""
    caller = Caller.of(ctx)
    if caller.is_admin:
        return None
    labels = tuple(value.get("namespace") or ())
    if labels and labels[0] in KNOWLEDGE_ROOTS:
        await _require_knowledge_access(caller, labels, ctx.action)
        return None
    if labels and labels[0] == SHARED_MEMORY_ROOT:
        await _require_shared_access(caller, labels, ctx.action)
        return None
    _require_own(caller, labels, ctx.action)
    return None
