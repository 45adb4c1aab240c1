"""The real ``agent-patterns worker`` whose OpenAI endpoint answers nothing (connection refused).

Usage: python -m tests.integration.unreachable_model_worker [worker options]

``UNREACHABLE_OPENAI_BASE_URL`` names a local port nothing listens on; a dummy key makes the
``openai:`` model buildable, so a run on it fails with a retriable connection error, retries,
and gives up: the worker's failed-run path (and its dead letter) is exercised offline.
"""

from __future__ import annotations

import os
import sys


def _unreachable_openai_environment() -> None:
    """Point the ``openai:`` model at the dead port (only in the worker's own process).

    Done in `main`, not at import: the test suite imports every module for its doctests, and
    this must neither need the variable nor change the test process's environment.
    """
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    os.environ["LANGSMITH_TRACING"] = "false"
    os.environ["OPENAI_API_KEY"] = "sk-test-unreachable"
    os.environ["OPENAI_BASE_URL"] = os.environ["UNREACHABLE_OPENAI_BASE_URL"]
    os.environ["OPENAI_TIMEOUT"] = "5"
    os.environ.pop("AGENT_PATTERNS_MODEL", None)


def main(argv: list[str]) -> int:
    """Run the worker until it stops."""
    _unreachable_openai_environment()
    from cli.workers import main as workers_main

    return workers_main(["worker", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
