"""Config keys only the operator sets: a client's value for one is dropped at the boundary.

A pattern's build-time settings (`nodes.controls.Controls`, the guardrails) reach its nodes in
the run config under a private key, set by ``with_config`` when the graph is compiled
(`graphs._compile.compile_pattern`). A run's own config is merged over that, so a server
client sending ``configurable={"__agent_patterns_controls": "x"}`` would replace the
operator's object with a string, and the nodes would fall back to the defaults (no run
limits). A value a client can send is JSON; the operator's is a Python object of the setting's
type. `without_forged_keys` drops a protected key whose value is not of its type, so the
graph's own value applies; an in-process caller passing a real object is trusted (it owns the
process).

Example:
    >>> protect_config_key("__example_setting", frozenset)
    >>> without_forged_keys({"configurable": {"__example_setting": "forged", "thread_id": "t"}})
    {'configurable': {'thread_id': 't'}}
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

__all__ = ["protect_config_key", "protected_keys", "without_forged_keys"]

_PROTECTED: dict[str, type] = {}


def protect_config_key(key: str, kind: type) -> None:
    """Declare `key` operator-only: a run's value for it must be a `kind` instance."""
    _PROTECTED[key] = kind


def protected_keys() -> dict[str, type]:
    """The protected keys and the type each value must have."""
    return dict(_PROTECTED)


def without_forged_keys(config: RunnableConfig | None) -> RunnableConfig | None:
    """`config` without any protected key whose value is not of the protected type."""
    if not config:
        return config
    configurable: dict[str, Any] = dict(config.get("configurable") or {})
    forged = [
        key
        for key, kind in _PROTECTED.items()
        if key in configurable and not isinstance(configurable[key], kind)
    ]
    if not forged:
        return config
    for key in forged:
        del configurable[key]
    return {**config, "configurable": configurable}
