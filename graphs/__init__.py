"""Agent patterns, one module each: `build_<pattern>_graph(...)` and a module-level `graph`.

Importing the package applies the observability settings of the environment once
(``AGENT_PATTERNS_LOG``, ``AGENT_PATTERNS_TRACING``; see `observability.setup`), so the CLI,
the server and notebooks log and trace alike.
"""

from observability.setup import configure_observability

configure_observability()
