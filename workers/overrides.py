"""Per-worker model overrides, injected into each run's context when the worker runs it.

A pool of workers may use another model than the client knows of (a GPU pool's local model,
a region's endpoint): start its workers with ``AGENT_PATTERNS_WORKER_MODEL=<spec>`` (or
``agent-patterns worker --model <spec>``) and every run they take gets ``context["model"] =
<spec>``, unless the run names a model itself (the client's choice wins). Credentials stay in
the worker's environment (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``): they are read when the
model is created, at call time, in the worker process, and never travel through the broker.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

from state.policy import OperatorPolicy, PolicyError

__all__ = ["WORKER_MODEL_ENV", "context_fields", "run_context"]

WORKER_MODEL_ENV = "AGENT_PATTERNS_WORKER_MODEL"


def run_context(
    context: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None = None,
    *,
    fields: Collection[str] | None = None,
) -> dict[str, Any]:
    """The context a worker runs a run with: the run's own, plus the worker's model override.

    Args:
        context: the context the run was submitted with.
        environ: the worker's environment (default ``os.environ``).
        fields: the fields of the graph's context schema; the operator's stricter defaults
            are filled in for these only (None: all of them).

    Returns:
        A new dict: the run's values, the operator's stricter defaults where it named none,
        and ``model`` the worker's override when set and the run names none.

    Raises:
        PolicyError: the run asks for a looser safeguard than the operator's.
    """
    environ = environ if environ is not None else os.environ
    result = {k: v for k, v in (context or {}).items() if v is not None}
    policy = OperatorPolicy.from_env(environ)
    violations = policy.violations(result)
    if violations:
        reasons = "; ".join(str(v) for v in violations)
        raise PolicyError(f"refused by the operator's policy: {reasons}")
    for name, value in policy.tightened_defaults().items():
        if fields is None or name in fields:
            result.setdefault(name, value)
    override = environ.get(WORKER_MODEL_ENV, "")
    if override.strip() and not result.get("model"):
        result["model"] = override.strip()
    return result


def context_fields(graph: Any) -> set[str] | None:
    """The field names of a compiled graph's context schema (None when it has none)."""
    schema = getattr(getattr(graph, "builder", None), "context_schema", None)
    names = getattr(schema, "__dataclass_fields__", None)
    return set(names) if names else None
