"""Retention policies per graph: how many checkpoints a thread keeps, when a finished one goes.

A policy has three settings:

- ``keep_last`` (default 20): the latest checkpoints kept per thread (and per subgraph
  namespace). Checkpoints an approval needs are kept besides (see `ops.retention`);
- ``finished_after`` (default none: never): a thread that finished (no step left, no pending
  approval) and whose latest checkpoint is older than this is deleted whole;
- ``archive_dir`` (default none): where rows are written (JSONL.gz, `ops.archive`) before
  they are deleted.

They come from ``AGENT_PATTERNS_RETENTION``: a JSON object, or the path of a JSON file holding
one, with a ``default`` policy and per-graph ones that override it field by field::

    {"default": {"keep_last": 20, "finished_after": "90d"},
     "graphs": {"hitl": {"keep_last": 50, "finished_after": "365d", "archive_dir": "/srv/arch"}}}

Ages are ``<number><unit>`` with unit ``s``, ``m``, ``h``, ``d`` or ``w`` (``30d``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_KEEP_LAST",
    "RETENTION_ENV",
    "RetentionConfig",
    "RetentionPolicy",
    "load_retention_config",
    "parse_age",
]

RETENTION_ENV = "AGENT_PATTERNS_RETENTION"
DEFAULT_KEEP_LAST = 20
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """An age such as ``30d``, ``12h`` or ``2w``.

    Raises:
        ValueError: not a number followed by one of s, m, h, d, w.

    Example:
        >>> parse_age("30d"), parse_age("90m")
        (datetime.timedelta(days=30), datetime.timedelta(seconds=5400))
    """
    match = _AGE.match(str(text))
    if not match:
        raise ValueError(f"an age is a number and a unit (s, m, h, d, w), e.g. 30d; got {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@dataclass(frozen=True)
class RetentionPolicy:
    """One graph's retention (see the module docs).

    Raises:
        ValueError: ``keep_last`` below 1 (the latest checkpoint is always kept).
    """

    keep_last: int = DEFAULT_KEEP_LAST
    finished_after: timedelta | None = None
    archive_dir: Path | None = None

    def __post_init__(self) -> None:
        if isinstance(self.keep_last, bool) or not isinstance(self.keep_last, int):
            raise ValueError(f"keep_last must be a whole number, got {self.keep_last!r}")
        if self.keep_last < 1:
            raise ValueError(f"keep_last must be at least 1 (the latest), got {self.keep_last}")
        if self.finished_after is not None and self.finished_after <= timedelta(0):
            raise ValueError("finished_after must be a positive age")

    def overridden(self, values: Mapping[str, Any]) -> RetentionPolicy:
        """This policy with the set fields of `values` (as in the config file) replacing it.

        Raises:
            ValueError: an unknown field or a bad value.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown retention setting {unknown[0]!r}; settings: {sorted(known)}")
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                changes[name] = None
            elif name == "finished_after":
                changes[name] = value if isinstance(value, timedelta) else parse_age(value)
            elif name == "archive_dir":
                changes[name] = Path(value).expanduser()
            else:
                changes[name] = value
        return replace(self, **changes)


@dataclass(frozen=True)
class RetentionConfig:
    """The default policy and the graphs' own."""

    default: RetentionPolicy = field(default_factory=RetentionPolicy)
    graphs: Mapping[str, RetentionPolicy] = field(default_factory=dict)

    def policy_for(self, graph_id: str | None) -> RetentionPolicy:
        """The policy of `graph_id` (the default for an unknown or untagged graph)."""
        return self.graphs.get(graph_id or "", self.default)

    def overridden(self, values: Mapping[str, Any]) -> RetentionConfig:
        """Every policy with `values` (the CLI's flags) replacing its settings."""
        if not values:
            return self
        graphs = {name: policy.overridden(values) for name, policy in self.graphs.items()}
        return RetentionConfig(self.default.overridden(values), graphs)


def _config_from(data: Any) -> RetentionConfig:
    if not isinstance(data, dict):
        raise ValueError("the retention config is a JSON object with 'default' and 'graphs'")
    unknown = sorted(set(data) - {"default", "graphs"})
    if unknown:
        raise ValueError(f"unknown retention config key {unknown[0]!r}: use default and graphs")
    default = RetentionPolicy().overridden(data.get("default") or {})
    graphs = data.get("graphs") or {}
    if not isinstance(graphs, dict):
        raise ValueError("'graphs' maps graph ids to policies")
    return RetentionConfig(default, {g: default.overridden(p or {}) for g, p in graphs.items()})


def load_retention_config(source: str | None = None) -> RetentionConfig:
    """The retention config from `source` (default ``$AGENT_PATTERNS_RETENTION``).

    Args:
        source: inline JSON (starting with ``{``) or a JSON file's path; empty: the defaults.

    Raises:
        ValueError: unreadable JSON, a missing file, unknown keys or bad values.
    """
    text = (source if source is not None else os.environ.get(RETENTION_ENV, "")).strip()
    if not text:
        return RetentionConfig()
    if not text.startswith("{"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError(f"{RETENTION_ENV}: no retention config file at {path}")
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{RETENTION_ENV}: not valid JSON ({exc})") from exc
    return _config_from(data)
