"""Offline stand-ins by role: what a run on the demo model plays instead of an LLM.

The demo model (`models.heuristic.HeuristicDemoModel`) is keyword heuristics, not an LLM: it can
pick tools and fill a schema, but it cannot plan, judge or write code. A pattern whose roles
need an LLM registers an offline stand-in per role (a factory of a chat model, usually a
`ScriptedChatModel` playing that role), and asks for its model by role
(`nodes.model_call.resolve_model(..., role=...)`). Only a run on the demo model gets the
stand-in; any other model (a real LLM, a `ScriptedChatModel` in a test) is used as given.

This module is the one place that tells the demo model apart from other models
(`is_offline_demo`); patterns never check a model's class.

Example:
    >>> from models.heuristic import HeuristicDemoModel
    >>> from models.scripted import ScriptedChatModel
    >>> register_offline("example.greeter", lambda **_: ScriptedChatModel(replies=["Hi!"]))
    >>> offline_stand_in(HeuristicDemoModel(), "example.greeter").invoke("hello").text
    'Hi!'
    >>> offline_stand_in(ScriptedChatModel(replies=[]), "example.greeter") is None
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

from models.heuristic import HeuristicDemoModel

__all__ = [
    "OfflineFactory",
    "build_stand_in",
    "is_offline_demo",
    "offline_roles",
    "offline_stand_in",
    "plays_offline",
    "register_offline",
]

OfflineFactory = Callable[..., BaseChatModel]
"""Builds a role's stand-in; called with the inputs the pattern passes for that role."""

_REGISTRY: dict[str, OfflineFactory] = {}


def register_offline(role: str, factory: OfflineFactory) -> None:
    """Register (or replace) the offline stand-in for `role`.

    Args:
        role: the role's name, namespaced by pattern (``"critique.judge"``).
        factory: builds the stand-in; it receives the keyword inputs the pattern passes
            with the role (``resolve_model(..., inputs=...)``), so it should accept
            ``**kwargs`` it does not need.
    """
    _REGISTRY[role] = factory


def build_stand_in(role: str, **inputs: Any) -> BaseChatModel:
    """A fresh stand-in for `role`, whatever the run's model (for wiring built ahead of a run).

    Raises:
        KeyError: no stand-in is registered for `role`.
    """
    return _REGISTRY[role](**inputs)


def offline_roles() -> list[str]:
    """The roles that have a registered stand-in, sorted."""
    return sorted(_REGISTRY)


def is_offline_demo(model: BaseChatModel) -> bool:
    """Whether `model` is the offline demo model (keyword heuristics, not an LLM)."""
    return isinstance(model, HeuristicDemoModel)


def plays_offline(model: BaseChatModel, role: str | None) -> bool:
    """Whether a call for `role` on `model` is played by a registered stand-in."""
    return role is not None and role in _REGISTRY and is_offline_demo(model)


def offline_stand_in(model: BaseChatModel, role: str | None, **inputs: Any) -> BaseChatModel | None:
    """The stand-in that plays `role` when `model` is the demo model, else None.

    Args:
        model: the model the run resolved to.
        role: the role the call plays; None (no role) never has a stand-in.
        **inputs: passed to the role's factory (what the stand-in needs to play it).

    Returns:
        A fresh stand-in from the role's factory, or None: use `model` itself.
    """
    if not plays_offline(model, role):
        return None
    assert role is not None  # plays_offline checked it
    return _REGISTRY[role](**inputs)
