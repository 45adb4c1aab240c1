"""Who is running: the identity the LangGraph server's auth handler established.

Every node that needs a user (whose memories, whose lessons, who decided an approval) asks
here. On a server with authentication the identity comes from the auth handler and nothing a
client sends (a context field, a ``reviewer`` in a resume value) can override it: LangGraph
writes these keys into the run's configurable after the client's own keys, and refuses
client-supplied values for them. Outside a server (Python, the CLI) there is no authenticated
user and callers fall back to what they were given explicitly.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config

__all__ = ["authenticated_permissions", "authenticated_user_id", "current_thread_id"]


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    if config is None:
        try:
            config = get_config()
        except RuntimeError:  # called outside a runnable context
            return {}
    return dict(config.get("configurable") or {})


def authenticated_user_id(config: RunnableConfig | None = None) -> str | None:
    """The server's authenticated user id for this run, or None outside an authenticated run.

    Args:
        config: the run's config; None reads the current runnable context.
    """
    user = _configurable(config).get("langgraph_auth_user_id")
    return str(user) if user else None


def authenticated_permissions(config: RunnableConfig | None = None) -> list[str]:
    """The permissions the auth handler granted this run (empty outside a server).

    Args:
        config: the run's config; None reads the current runnable context.
    """
    permissions = _configurable(config).get("langgraph_auth_permissions") or []
    return [str(p) for p in permissions]


def current_thread_id(config: RunnableConfig | None = None) -> str | None:
    """The thread this run belongs to (subgraphs share their parent's), or None.

    Args:
        config: the run's config; None reads the current runnable context.
    """
    thread = _configurable(config).get("thread_id")
    return str(thread) if thread else None
