"""The server's custom auth, named by ``langgraph.json`` (``"auth": {"path": ...}``).

Authentication: ``Authorization: Bearer <token>`` with a static token from
``AGENT_PATTERNS_TOKENS`` or a JWT (`server.credentials`); anything else is 401 on every
route LangGraph protects (assistants, threads, runs, crons, store, MCP, A2A). The routes
LangGraph leaves open are handled by `server.app`.

Authorization, by resource (a global handler denies whatever is not listed, so a resource
or action a future LangGraph adds is refused until it is thought about):

- threads and runs: `server.ownership` and `server.run_policy`;
- assistants: read by everyone, written by admins (`server.ownership`);
- crons: owned by their creator (`server.ownership`);
- store: own namespaces only (`server.store_access`).

Loading this module reads the credentials and the operator policy, so a bad configuration
stops the server at startup with a message naming the variable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph_sdk import Auth

from server import ownership
from server.caller import forbidden
from server.credentials import Credentials
from server.run_policy import operator_policy, threads_create_run
from server.store_access import store_handler

__all__ = ["auth", "credentials"]

credentials = Credentials.from_env()
operator_policy()  # fail at startup, not at the first run, on a bad policy variable

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    """The caller the bearer token names; 401 for a missing, unknown or invalid token."""
    principal = credentials.principal(authorization)
    if principal is None:
        raise forbidden(
            "missing or invalid bearer token (send 'Authorization: Bearer <token>')",
            status_code=401,
        )
    user: Any = principal.as_auth_user()
    return user


@auth.on
async def deny_everything_else(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """Refuse any resource or action without its own handler below."""
    raise forbidden(f"{ctx.resource}.{ctx.action} is not allowed on this server")


def _register(registrar: Any, handler: Callable[..., Awaitable[Any]]) -> None:
    """Register `handler` (LangGraph's per-action value types are narrower than our dicts)."""
    registrar(handler)


_register(auth.on.threads.create, ownership.threads_create)
_register(auth.on.threads.create_run, threads_create_run)
_register(auth.on.threads.read, ownership.threads_read)
_register(auth.on.threads.search, ownership.threads_read)
_register(auth.on.threads.update, ownership.threads_update)
_register(auth.on.threads.delete, ownership.threads_write)

_register(auth.on.assistants.read, ownership.assistants_read)
_register(auth.on.assistants.search, ownership.assistants_read)
_register(auth.on.assistants.create, ownership.assistants_write)
_register(auth.on.assistants.update, ownership.assistants_write)
_register(auth.on.assistants.delete, ownership.assistants_write)

_register(auth.on.crons.create, ownership.crons_create)
_register(auth.on.crons.read, ownership.crons_other)
_register(auth.on.crons.search, ownership.crons_other)
_register(auth.on.crons.update, ownership.crons_other)
_register(auth.on.crons.delete, ownership.crons_other)

_register(auth.on.store, store_handler)
