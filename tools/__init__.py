"""Tool registry and contracts: side effects, idempotency, handoffs, the sandbox.

The demo shop's tools live in `demo` (`demo.orders`, `demo.fleet`), outside the framework.
"""

from tools.idempotency import idempotency_key, using_idempotency_key
from tools.registry import ToolRegistry, agent_tool, has_side_effects

__all__ = [
    "ToolRegistry",
    "agent_tool",
    "has_side_effects",
    "idempotency_key",
    "using_idempotency_key",
]
