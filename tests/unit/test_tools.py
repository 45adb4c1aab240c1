"""The tool registry and the demo order tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.tools import tool
from pydantic import ValidationError

from demo.effects import read_effects
from demo.orders import issue_refund, lookup_order, order_tools, search_help_docs
from tools import ToolRegistry, has_side_effects


def test_registry_by_name_and_side_effects() -> None:
    registry = ToolRegistry(order_tools())
    assert registry.names() == [
        "lookup_order",
        "search_help_docs",
        "create_support_ticket",
        "issue_refund",
    ]
    assert [t.name for t in registry.read_only()] == ["lookup_order", "search_help_docs"]
    assert "issue_refund" in registry and registry.get("nope") is None
    with pytest.raises(ValueError, match="already registered"):
        registry.register(lookup_order)
    with pytest.raises(TypeError):
        registry.register(lambda: None)  # type: ignore[arg-type]


def test_undeclared_tools_count_as_side_effecting() -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert has_side_effects(ping) and has_side_effects(None)
    assert not has_side_effects(lookup_order)


def test_arguments_are_validated_by_the_schema() -> None:
    with pytest.raises(ValidationError):
        lookup_order.invoke({"order_id": "1001"})
    with pytest.raises(ValidationError):
        issue_refund.invoke({"order_id": "A-1001", "amount": 0, "reason": "x y z"})


def test_refund_cannot_exceed_the_order_total_and_is_recorded(effects_log: Path) -> None:
    with pytest.raises(ValueError, match="exceeds the order total"):
        issue_refund.invoke({"order_id": "A-1001", "amount": 500, "reason": "broken"})
    assert read_effects() == []
    result = issue_refund.invoke({"order_id": "A-1001", "amount": 10, "reason": "broken"})
    assert result["status"] == "issued" and result["refund_id"].startswith("RF-")
    [line] = effects_log.read_text().splitlines()
    assert json.loads(line)["refund_id"] == result["refund_id"]


def test_help_search_ranks_matching_articles() -> None:
    hits = search_help_docs.invoke({"query": "broken item refund"})
    assert hits[0]["id"] == "damaged-items"
    assert search_help_docs.invoke({"query": "zzz qqq"}) == []
