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
from collections.abc import Mapping
from typing import Any

__all__ = ["WORKER_MODEL_ENV", "run_context"]

WORKER_MODEL_ENV = "AGENT_PATTERNS_WORKER_MODEL"


def run_context(
    context: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The context a worker runs a run with: the run's own, plus the worker's model override.

    Args:
        context: the context the run was submitted with.
        environ: the worker's environment (default ``os.environ``).

    Returns:
        A new dict; ``model`` is the worker's override when set and the run names none.
    """
    result = dict(context or {})
    override = (environ if environ is not None else os.environ).get(WORKER_MODEL_ENV, "")
    if override.strip() and not result.get("model"):
        result["model"] = override.strip()
    return result
