"""Spying on offline stand-ins: which inputs a pattern hands each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from langchain_core.language_models import BaseChatModel

from models.offline import register_offline

__all__ = ["recording_stand_ins"]


@contextmanager
def recording_stand_ins(
    plays: Mapping[str, Callable[..., BaseChatModel]], restore: Callable[[], None]
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Register a recording wrapper around each role's stand-in; `restore` puts them back.

    Args:
        plays: role → the stand-in factory to wrap (it still plays the role).
        restore: re-registers the real stand-ins (the demo's ``register_stand_ins``).

    Yields:
        role → the keyword inputs of every stand-in built for it, in call order.
    """
    seen: dict[str, list[dict[str, Any]]] = {role: [] for role in plays}

    def recording(role: str, play: Callable[..., BaseChatModel]) -> Callable[..., BaseChatModel]:
        def factory(**inputs: Any) -> BaseChatModel:
            seen[role].append(inputs)
            return play(**inputs)

        return factory

    for role, play in plays.items():
        register_offline(role, recording(role, play))
    try:
        yield seen
    finally:
        restore()
