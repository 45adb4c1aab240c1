"""The real ``agent-patterns worker`` with the test-only hooks of `worker_pause` installed.

Usage: python -m tests.integration.pausing_worker [worker options, as ``agent-patterns worker``]

The hooks (a pause point, a step log: see `tests.integration.worker_pause`) are installed
before Celery starts its pool, so the pool's processes inherit them; nothing in the workers'
production code knows about them. Environment as for the real worker: ``DATABASE_URL``,
``AGENT_PATTERNS_BROKER_URL``, plus the hooks' variables.
"""

from __future__ import annotations

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
os.environ["LANGSMITH_TRACING"] = "false"
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("AGENT_PATTERNS_MODEL", None)

import sys  # noqa: E402

from tests.integration import worker_pause  # noqa: E402


def main(argv: list[str]) -> int:
    """Install the hooks, then run the worker until it stops (or is killed)."""
    worker_pause.install()
    from cli.workers import main as workers_main

    return workers_main(["worker", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
