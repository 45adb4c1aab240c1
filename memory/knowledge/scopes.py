"""Knowledge scopes: who reads and who writes ``project``, ``team:<id>`` and ``user:<id>``.

A scope is a plain string. Every user reads the project's knowledge, their teams' and their
own; writing is narrower (`check_writable`): an admin writes anywhere, a user writes their
own scope, a reviewer or admin writes the scopes of the teams they belong to, and only an
admin writes the project's. Outside a server there is no authenticated user (``user_id``
None): the operator at their own CLI writes every scope.

Team membership is not decided here: callers pass the teams a user belongs to (the server
reads them from the budget tables' team list, ``CapStore.team_of``).
"""

from __future__ import annotations

from collections.abc import Sequence

from memory.namespaces import namespace_label

__all__ = [
    "PROJECT",
    "WRITER_ROLES",
    "Scope",
    "check_writable",
    "parse_scope",
    "readable_scopes",
    "scope_label",
    "team_id",
]

Scope = str
"""``"project"``, ``"team:<id>"`` or ``"user:<id>"``."""

PROJECT: Scope = "project"
WRITER_ROLES = ("reviewer", "admin")
"""Roles that may write the scope of a team they belong to."""


def parse_scope(text: str) -> Scope:
    """Check a scope and return it.

    Raises:
        ValueError: not ``"project"``, ``"team:<id>"`` or ``"user:<id>"`` with a non-empty
            id without surrounding spaces.

    Example:
        >>> parse_scope("team:ops"), parse_scope("project")
        ('team:ops', 'project')
    """
    if text == PROJECT:
        return text
    kind, _, ident = text.partition(":")
    if kind not in ("team", "user") or not ident.strip() or ident != ident.strip():
        raise ValueError(
            f"a knowledge scope is 'project', 'team:<id>' or 'user:<id>', got {text!r}"
        )
    return text


def team_id(team: str) -> str:
    """A team's id, from an id or a team scope (``"ops"`` and ``"team:ops"`` give ``"ops"``)."""
    return team.removeprefix("team:")


def scope_label(scope: Scope) -> str:
    """The store namespace label of a scope (``.`` and ``%`` escaped, see `namespace_label`)."""
    return namespace_label(parse_scope(scope))


def readable_scopes(user_id: str | None, teams: Sequence[str]) -> list[Scope]:
    """The scopes a user reads: the project, each of their teams, their own.

    Args:
        user_id: the authenticated user; None reads the project only.
        teams: the user's teams, as ids or ``team:<id>`` scopes.

    Example:
        >>> readable_scopes("ana", ["team:ops", "sales"])
        ['project', 'team:ops', 'team:sales', 'user:ana']
        >>> readable_scopes(None, ["ops"])
        ['project']
    """
    if user_id is None:
        return [PROJECT]
    scopes = [PROJECT, *(f"team:{team_id(t)}" for t in dict.fromkeys(teams))]
    return [parse_scope(s) for s in [*dict.fromkeys(scopes), f"user:{user_id}"]]


def check_writable(scope: Scope, *, user_id: str | None, role: str, teams: Sequence[str]) -> None:
    """Refuse a write the caller's identity does not allow.

    Args:
        scope: where the write goes.
        user_id: the authenticated user; None is the operator outside a server (allowed).
        role: the caller's role (``user``, ``reviewer`` or ``admin``).
        teams: the caller's teams, as ids or ``team:<id>`` scopes.

    Raises:
        ValueError: an invalid scope.
        PermissionError: the caller may not write `scope`.
    """
    kind, _, ident = parse_scope(scope).partition(":")
    if user_id is None or role == "admin":
        return
    if kind == "user" and ident == user_id:
        return
    if kind == "team":
        if ident in {team_id(t) for t in teams} and role in WRITER_ROLES:
            return
        raise PermissionError(
            f"{user_id!r} ({role}) may not write {scope!r}: only a member of the team with "
            "the reviewer or admin role may"
        )
    if kind == "user":
        raise PermissionError(f"{user_id!r} may not write {scope!r}: only its own user may")
    raise PermissionError(f"{user_id!r} may not write {scope!r}: only an admin may")
