"""Who may see and change threads, runs, crons and assistants: owners, reviewers, admins.

Everything a caller creates is stamped ``metadata.owner = <user id>`` (a client cannot choose
another owner), and reads, searches, updates and deletes are filtered on it:

- ``user``: only their own threads, runs and crons.
- ``reviewer``: reads and searches every thread (to find and decide pending approvals, with
  the conversation they need for it) but changes only their own: no state updates, deletes,
  cancels, copies or crons on another user's thread. Deciding is a run; see
  `server.run_policy`.
- ``admin``: everything, and the only role that creates, updates or deletes assistants (an
  assistant's config and context are operator configuration).

Runs are LangGraph's ``threads`` resource (``create_run``, and ``read``/``search``/``update``/
``delete`` on a thread's runs), so these rules cover them too.
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

from server.caller import Caller, forbidden
from server.run_policy import enforce_operator_policy

__all__ = [
    "assistants_read",
    "assistants_write",
    "crons_create",
    "crons_other",
    "threads_create",
    "threads_read",
    "threads_update",
    "threads_write",
]

FilterType = dict[str, Any] | None


async def threads_create(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """A new thread belongs to its creator; copying a thread needs to own it (or be admin).

    LangGraph's thread copy calls this handler with no ``metadata`` key (and keeps the
    original's metadata): a reviewer, who may read other users' threads, may not copy them.
    """
    caller = Caller.of(ctx)
    if "metadata" not in value and caller.role == "reviewer":
        raise forbidden("reviewers may not copy threads")
    caller.stamp_owner(value)
    return None if caller.is_admin else caller.owned()


async def threads_read(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """Users read their own threads and runs; reviewers and admins read all."""
    caller = Caller.of(ctx)
    return None if caller.may_decide else caller.owned()


async def threads_update(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """Owners update their thread's metadata and cancel its runs; only admins write its state.

    A state write (``POST /threads/{id}/state``, ``/state/bulk``: LangGraph sends neither
    ``metadata`` nor ``action`` for those) is refused to everyone but admins: a graph's state
    holds the facts its code decides on (hitl's order, risk and recommendation), so a client
    that could write it could steer a decision, even though no approval can be forged there.
    """
    caller = Caller.of(ctx)
    if not caller.is_admin and "metadata" not in value and "action" not in value:
        raise forbidden("only an admin may write a thread's state")
    metadata = value.get("metadata") or {}
    if not caller.is_admin and "owner" in metadata and metadata["owner"] != caller.user_id:
        raise forbidden("a thread's owner cannot be changed")
    return None if caller.is_admin else caller.owned()


async def threads_write(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """Only owners (and admins) delete threads and runs."""
    caller = Caller.of(ctx)
    return None if caller.is_admin else caller.owned()


async def assistants_read(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """Every authenticated caller may list and read assistants (the served graphs)."""
    Caller.of(ctx)
    return None


async def assistants_write(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """Only admins create, update or delete assistants (they carry operator configuration)."""
    caller = Caller.of(ctx)
    if not caller.is_admin:
        raise forbidden("only admins create, change or delete assistants")
    caller.stamp_owner(value)
    return None


async def crons_create(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """A cron belongs to its creator and obeys the run rules for what it will send.

    A cron replays its payload later without a caller, so it may not carry a ``command`` (a
    standing approval decision) and a reviewer may not schedule one on a thread (reviewers read
    other users' threads, so the thread filter would not stop them).
    """
    caller = Caller.of(ctx)
    payload = value.get("payload") or {}
    if not caller.is_admin:
        if payload.get("command"):
            raise forbidden("a cron may not carry a command (an approval decision)")
        if value.get("thread_id") is not None and caller.role == "reviewer":
            raise forbidden("reviewers may not schedule crons on threads")
    enforce_operator_policy(payload)
    caller.stamp_owner(value)
    return None if caller.is_admin else caller.owned()


async def crons_other(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> FilterType:
    """Read, search, update and delete only one's own crons (admins: all)."""
    caller = Caller.of(ctx)
    if value.get("payload"):
        enforce_operator_policy(value["payload"])
    return None if caller.is_admin else caller.owned()
