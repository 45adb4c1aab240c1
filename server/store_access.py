"""Who may touch which store namespaces: ``(<root>, <own label>, ...)`` only, except admins.

The graphs keep per-user data in ``("memories", label)`` and ``("lessons", label)``, where
``label = memory.namespaces.namespace_label(user_id)``. A non-admin (``user`` or ``reviewer``)
may put, get, delete and search only in namespaces whose second label is their own, and may
list only namespaces under such a prefix: ``("memories",)`` or an empty prefix would span
users and is refused (403) rather than silently narrowed. Admins reach every namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph_sdk import Auth

from memory.namespaces import namespace_label
from server.caller import Caller, forbidden

__all__ = ["store_handler"]


def _require_own(caller: Caller, namespace: Sequence[str] | None, action: str) -> None:
    own = namespace_label(caller.user_id)
    labels = tuple(namespace or ())
    if len(labels) < 2 or labels[1] != own:
        shown = "(" + ", ".join(repr(label) for label in labels) + ")"
        raise forbidden(
            f"store {action} on namespace {shown} refused: you may only use namespaces "
            f"(<root>, {own!r}, ...)"
        )


async def store_handler(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Authorize a store operation (put, get, delete, search, list_namespaces)."""
    caller = Caller.of(ctx)
    if caller.is_admin:
        return None
    _require_own(caller, value.get("namespace"), ctx.action)
    return None
