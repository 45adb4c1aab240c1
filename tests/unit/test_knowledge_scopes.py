"""Who reads and who writes knowledge scopes."""

from __future__ import annotations

import pytest

from memory.knowledge import check_writable, parse_scope, readable_scopes, scope_label


@pytest.mark.parametrize("text", ["project", "team:ops", "user:ana@example.com"])
def test_valid_scopes(text: str) -> None:
    assert parse_scope(text) == text


@pytest.mark.parametrize("text", ["", "Project", "team:", "user: ana", "group:x", "team"])
def test_invalid_scopes(text: str) -> None:
    with pytest.raises(ValueError, match="knowledge scope"):
        parse_scope(text)


def test_scope_labels_escape_dots() -> None:
    assert scope_label("user:ana.b@x.com") == "user:ana%2Eb@x%2Ecom"
    assert scope_label("project") == "project"


def test_readable_scopes() -> None:
    assert readable_scopes("ana", ["team:ops", "sales", "ops"]) == [
        "project",
        "team:ops",
        "team:sales",
        "user:ana",
    ]
    assert readable_scopes("bob", []) == ["project", "user:bob"]
    assert readable_scopes(None, ["ops"]) == ["project"]


ALLOWED = [
    ("user:ana", "ana", "user", []),
    ("team:ops", "ana", "reviewer", ["team:ops"]),
    ("team:ops", "ana", "admin", []),
    ("project", "root", "admin", []),
    ("user:bob", "root", "admin", []),
    ("project", None, "user", []),  # the operator's own CLI
    ("team:ops", "ana", "reviewer", ["ops"]),
]
REFUSED = [
    ("user:bob", "ana", "user", []),
    ("user:bob", "ana", "reviewer", ["team:ops"]),
    ("team:ops", "ana", "user", ["team:ops"]),  # a member, but not a reviewer
    ("team:ops", "ana", "reviewer", ["team:sales"]),  # a reviewer, but not a member
    ("project", "ana", "reviewer", ["team:ops"]),
    ("project", "ana", "user", []),
]


@pytest.mark.parametrize(("scope", "user", "role", "teams"), ALLOWED)
def test_writes_allowed(scope: str, user: str | None, role: str, teams: list[str]) -> None:
    check_writable(scope, user_id=user, role=role, teams=teams)


@pytest.mark.parametrize(("scope", "user", "role", "teams"), REFUSED)
def test_writes_refused(scope: str, user: str | None, role: str, teams: list[str]) -> None:
    with pytest.raises(PermissionError, match="may not write"):
        check_writable(scope, user_id=user, role=role, teams=teams)


def test_an_invalid_scope_is_a_value_error_even_for_admins() -> None:
    with pytest.raises(ValueError):
        check_writable("everyone", user_id="root", role="admin", teams=[])
