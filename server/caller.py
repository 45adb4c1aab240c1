"""The caller of an authorization handler: identity and role, read from LangGraph's context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth

from server.tokens import ROLES, Principal, Role

__all__ = ["Caller", "forbidden"]


def forbidden(detail: str, status_code: int = 403) -> Auth.exceptions.HTTPException:
    """An HTTP error an auth handler raises (LangGraph returns it as is)."""
    return Auth.exceptions.HTTPException(status_code=status_code, detail=detail)


@dataclass(frozen=True)
class Caller(Principal):
    """The authenticated caller of a handler (a `Principal` read back from the auth context)."""

    @classmethod
    def of(cls, ctx: Auth.types.AuthContext) -> Caller:
        """The caller the auth context describes; its role comes from the ``role:`` permission.

        Raises:
            HTTPException: 403 when the context carries no known role (never happens for a
                user our ``@auth.authenticate`` accepted).
        """
        roles = [p.removeprefix("role:") for p in ctx.permissions if p.startswith("role:")]
        role: Any = roles[0] if len(roles) == 1 else None
        if role not in ROLES or not ctx.user.identity:
            raise forbidden("no role for this caller")
        typed: Role = role
        return cls(str(ctx.user.identity), typed)

    @property
    def is_admin(self) -> bool:
        """Admins see and change everything."""
        return self.role == "admin"

    @property
    def may_decide(self) -> bool:
        """Reviewers and admins decide approvals."""
        return self.role in ("reviewer", "admin")

    def stamp_owner(self, value: dict[str, Any]) -> None:
        """Set ``value["metadata"]["owner"]`` to this caller; refuse a claim to another owner."""
        metadata = value.get("metadata")
        if metadata is None:
            metadata = value["metadata"] = {}
        claimed = metadata.get("owner")
        if claimed is not None and claimed != self.user_id and not self.is_admin:
            raise forbidden(f"metadata.owner must be your own user id ({self.user_id!r})")
        if claimed is None:
            metadata["owner"] = self.user_id

    def owned(self) -> dict[str, str]:
        """The metadata filter that keeps what this caller owns."""
        return {"owner": self.user_id}
