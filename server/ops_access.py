"""Who may see and act on what through the operations API (``/ops/api/...``).

The caller is the bearer token's principal (`server.credentials`, the same check as
`server.auth` and `server.app`); nothing a client sends in a query or a body names the
caller or their role. The rules follow `server.ownership`:

- **see** runs, timelines, dead letters: ``reviewer`` and ``admin`` see every thread (they
  decide other users' approvals and need the context); a ``user`` sees only the threads they
  own (``owner`` in the thread's metadata). Another user's thread or dead letter is answered
  404, exactly like one that does not exist, so ids cannot be probed.
- **retry** a failed run or a dead-lettered one: its owner or an ``admin``. A retry re-runs
  the owner's run from its last good checkpoint; it cannot approve anything (the approval
  gate still waits for a reviewer). A reviewer who may see another user's run may not retry
  it (403), as they may not write another user's thread through LangGraph's API either.
- **discard** a dead letter, **reset** a circuit breaker, retry **with another model**,
  **fork** a thread: ``admin`` only (operator decisions: dropping work, lifting a safeguard,
  choosing a model and its cost, writing an edited state, which `server.ownership` allows
  admins only; a client may tighten a safeguard, never loosen it).
- **budgets**: a ``user`` sees the caps and spend that apply to them (own, their teams',
  the project's); reviewers and admins see every scope. **Breakers**: reviewers and admins.

No token or a bad token is 401 on every ``/ops/api`` route; the console page itself
(``GET /ops/``) holds no data and is open so a browser can load it and ask for a token.
"""

from __future__ import annotations

import functools
from typing import Literal

from starlette.requests import Request

from server.credentials import Credentials
from server.tokens import Principal

__all__ = [
    "ACCESS",
    "Access",
    "OpsError",
    "authenticate",
    "may_act_on",
    "owner_scope",
    "require",
    "require_action",
    "require_visible",
]

Access = Literal["any", "reviewer", "admin"]
"""The least role a route needs once authenticated (ownership is checked per thread)."""

ACCESS: dict[Access, tuple[str, ...]] = {
    "any": ("user", "reviewer", "admin"),
    "reviewer": ("reviewer", "admin"),
    "admin": ("admin",),
}


class OpsError(Exception):
    """An HTTP error of the operations API: a status and a message for the caller."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@functools.cache
def _credentials() -> Credentials:
    """The server's credentials, read from the environment once per process."""
    return Credentials.from_env()


def authenticate(request: Request) -> Principal:
    """The principal of the request's bearer token.

    Raises:
        OpsError: 401 for a missing, malformed, unknown or expired token.
    """
    principal = _credentials().principal(request.headers.get("authorization"))
    if principal is None:
        raise OpsError(
            401, "missing or invalid bearer token (send 'Authorization: Bearer <token>')"
        )
    return principal


def require(principal: Principal, access: Access) -> None:
    """Refuse a caller whose role is below `access`.

    Raises:
        OpsError: 403 naming the role needed.
    """
    if principal.role not in ACCESS[access]:
        needed = " or ".join(ACCESS[access])
        raise OpsError(403, f"this needs the role {needed} (you are {principal.role})")


def owner_scope(principal: Principal) -> str | None:
    """The owner filter of a listing: None (everything) for reviewers and admins."""
    return None if principal.role in ("reviewer", "admin") else principal.user_id


def require_visible(principal: Principal, owner: str | None, what: str) -> None:
    """Refuse (404, as if absent) a thread or entry the caller may not see.

    Raises:
        OpsError: 404 naming `what` (the same answer as for an id that does not exist).
    """
    scope = owner_scope(principal)
    if scope is not None and owner != scope:
        raise OpsError(404, f"{what} not found")


def may_act_on(principal: Principal, owner: str | None) -> bool:
    """Whether the caller may retry this owner's run (its owner or an admin)."""
    return principal.role == "admin" or (owner is not None and owner == principal.user_id)


def require_action(principal: Principal, owner: str | None, what: str) -> None:
    """Refuse a retry of a run the caller does not own: 404 if unseen, else 403.

    Raises:
        OpsError: 404 when the caller may not even see it, 403 when they may only see it.
    """
    require_visible(principal, owner, what)
    if not may_act_on(principal, owner):
        raise OpsError(403, f"only the owner of {what} or an admin may retry it")
