"""Tool registry and the demo order-support tools."""

from tools.orders import (
    create_support_ticket,
    issue_refund,
    lookup_order,
    order_tools,
    search_help_docs,
)
from tools.registry import ToolRegistry, agent_tool, has_side_effects

__all__ = [
    "ToolRegistry",
    "agent_tool",
    "create_support_ticket",
    "has_side_effects",
    "issue_refund",
    "lookup_order",
    "order_tools",
    "search_help_docs",
]
