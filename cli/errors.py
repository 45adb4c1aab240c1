"""What a newcomer's likely mistakes look like on the command line: one line, no traceback.

`explain` walks an exception and what caused it (``__cause__``, ``__context__``, exception
groups) and returns a one-line explanation for the failures a user can fix (no API key, an
unreachable model endpoint, a Postgres server or database that is not there, a SQLite file
that cannot be opened, a thread that does not exist, a bad setting). Anything else is a bug
and keeps its traceback.

Example:
    >>> explain(ValueError("max_steps must be between 1 and 100, got 0"))
    'max_steps must be between 1 and 100, got 0'
    >>> explain(RuntimeError("a bug")) is None
    True
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator

__all__ = ["CliError", "explain"]


class CliError(Exception):
    """A mistake in how the command was used; its message is the whole explanation."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it was raised from or during, each once."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(getattr(current, "exceptions", ()))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def _without_password(text: str) -> str:
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]+):[^@\s]+@", r"\1:***@", text)


def _openai(exc: BaseException) -> str | None:
    name = type(exc).__name__
    module = type(exc).__module__
    if not (module.startswith("openai") or module.startswith("langchain_openai")):
        return None
    endpoint = os.environ.get("OPENAI_BASE_URL") or "the OpenAI API"
    if "Connection" in name or "Timeout" in name:
        return (
            f"cannot reach the model endpoint ({endpoint}): {_first_line(str(exc))} Check "
            "OPENAI_BASE_URL and that the server runs, or use --model demo (offline)."
        )
    if "Authentication" in name or "PermissionDenied" in name:
        return f"the model endpoint ({endpoint}) refused the API key: check OPENAI_API_KEY."
    if "NotFound" in name:
        return f"the model endpoint ({endpoint}) does not know that model: check --model."
    if "credentials" in str(exc).lower() or "api_key" in str(exc):
        return (
            "an openai: model needs OPENAI_API_KEY (and OPENAI_BASE_URL for an "
            "OpenAI-compatible server); without one, use --model demo (offline)."
        )
    return f"the model call failed: {_first_line(str(exc))}"


def _postgres(exc: BaseException) -> str | None:
    module = type(exc).__module__
    if not (module.startswith("psycopg") or module.startswith("psycopg_pool")):
        return None
    if type(exc).__name__ == "PoolTimeout":
        return "cannot connect to Postgres (the connection pool timed out): is the server up?"
    if type(exc).__name__ != "OperationalError":
        return None
    detail = _first_line(str(exc)).removeprefix("connection failed: ")
    return f"cannot use the Postgres checkpointer: {_without_password(detail)}"


def _sqlite(exc: BaseException) -> str | None:
    if isinstance(exc, sqlite3.OperationalError):
        return f"cannot use the SQLite checkpointer: {exc}"
    return None


def _project(exc: BaseException) -> str | None:
    from graphs.errors import InvalidInputError, PendingApprovalError, UnknownThreadError
    from state.approval import InvalidDecisionError
    from tools.sandbox import SandboxUnavailableError

    known = (
        CliError,
        InvalidInputError,
        PendingApprovalError,
        UnknownThreadError,
        InvalidDecisionError,
        SandboxUnavailableError,
        ValueError,
    )
    return _first_line(str(exc)) if isinstance(exc, known) else None


_EXPLAINERS: tuple[Callable[[BaseException], str | None], ...] = (
    _openai,
    _postgres,
    _sqlite,
    _project,
)


def explain(exc: BaseException) -> str | None:
    """One line for a failure the user can fix, or None for a bug (keep its traceback)."""
    for link in _chain(exc):
        for explainer in _EXPLAINERS:
            if (message := explainer(link)) is not None:
                return message
    return None
