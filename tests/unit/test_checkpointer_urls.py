"""Parsing checkpointer URLs."""

from __future__ import annotations

import pytest

from checkpointers import DEFAULT_CHECKPOINTER_URL, parse_checkpointer_url


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("memory", "memory", ""),
        ("sqlite:///data/cp.sqlite", "sqlite", "data/cp.sqlite"),
        ("sqlite:////tmp/cp.sqlite", "sqlite", "/tmp/cp.sqlite"),
        ("sqlite:///:memory:", "sqlite", ":memory:"),
        ("postgresql://u@h:5432/db", "postgres", "postgresql://u@h:5432/db"),
        ("postgres://u@h/db", "postgres", "postgres://u@h/db"),
    ],
)
def test_supported_urls(url: str, kind: str, target: str) -> None:
    parsed = parse_checkpointer_url(url)
    assert (parsed.kind, parsed.target) == (kind, target)


def test_default_comes_from_the_environment_then_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKPOINTER_URL", raising=False)
    assert parse_checkpointer_url() == parse_checkpointer_url(DEFAULT_CHECKPOINTER_URL)
    monkeypatch.setenv("CHECKPOINTER_URL", "memory")
    assert parse_checkpointer_url().kind == "memory"


@pytest.mark.parametrize("url", ["redis://localhost", "sqlite:///", "mysql://x", "bogus"])
def test_unsupported_urls_say_what_is_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///|memory"):
        parse_checkpointer_url(url)
