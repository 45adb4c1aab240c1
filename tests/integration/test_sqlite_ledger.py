"""A SQLite checkpointer's ledger lives in the same file, so decisions and effects survive.

Before, SQLite threads survived a restart but their ledger (in memory) did not: a decision
bound just before a restart was lost (the refund then failed safe, "not run") and a refund
cut short could not be recognised. A "restart" here is a new saver and an emptied cache of
shared ledgers, as in a new process.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolCall
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from checkpointers import open_checkpointer
from checkpointers.ledger import _shared_ledgers, default_ledger
from checkpointers.ledger_sqlite import SqliteLedger
from demo.effects import read_effects
from demo.orders import order_tools
from graphs.react import build_react_graph
from models import ScriptedChatModel

REFUND = {"order_id": "A-1001", "amount": 10.0, "reason": "arrived broken"}


def _model() -> ScriptedChatModel:
    call = ToolCall(name="issue_refund", args=REFUND, id="call-1", type="tool_call")
    return ScriptedChatModel(
        replies=[AIMessage(content="", tool_calls=[call]), "Refunded."], index_by="turn"
    )


def _restart() -> None:
    for ledger in _shared_ledgers.values():
        if isinstance(ledger, SqliteLedger):
            ledger.close()
    _shared_ledgers.clear()


def test_a_decision_bound_before_a_restart_still_runs_the_refund_once(
    tmp_path: Path, effects_log: Path
) -> None:
    url = f"sqlite:///{tmp_path}/threads.sqlite"
    config: Any = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}
    with open_checkpointer(url) as saver:
        graph = build_react_graph(tools=order_tools(), model=_model(), checkpointer=saver)
        assert isinstance(default_ledger(saver), SqliteLedger)
        graph.invoke({"messages": [HumanMessage("refund A-1001")]}, config)
        graph.invoke(Command(resume="accept"), config, interrupt_after=["approval_gate"])
        assert graph.get_state(config).next == ("run_tools",)
        assert read_effects("refund") == []
    _restart()

    with open_checkpointer(url) as saver:
        graph = build_react_graph(tools=order_tools(), model=_model(), checkpointer=saver)
        result = graph.invoke(None, config)
        replay = graph.invoke(None, {**config})  # nothing left to run: no second refund
        entries = default_ledger(saver).entries(config["configurable"]["thread_id"])
    _restart()

    assert [r["order_id"] for r in read_effects("refund")] == ["A-1001"]
    assert result["messages"][-1].text == "Refunded." and replay is not None
    assert [(e.tool, e.status, e.attempts) for e in entries] == [("issue_refund", "completed", 1)]


def test_graphs_built_without_a_checkpointer_use_the_ledger_of_the_runs_saver(
    tmp_path: Path, effects_log: Path
) -> None:
    url = f"sqlite:///{tmp_path}/served.sqlite"
    config: Any = {"configurable": {"thread_id": "served-1"}}
    served = build_react_graph(
        tools=order_tools(), model=_model()
    )  # like the module-level graph the server copies
    with open_checkpointer(url) as saver:
        graph = served.copy(update={"checkpointer": saver})
        graph.invoke({"messages": [HumanMessage("refund A-1001")]}, config)
        graph.invoke(Command(resume="accept"), config)
        decisions = default_ledger(saver).decisions("served-1")
    _restart()
    assert [d["decision"] for d in decisions] == ["accept"]
    assert len(read_effects("refund")) == 1


@pytest.mark.parametrize("text", ["a\x00b", "lone \ud800 surrogate"])
def test_any_text_is_stored(tmp_path: Path, text: str) -> None:
    ledger = SqliteLedger(str(tmp_path / "ledger.sqlite"))
    try:
        ledger.begin("t", "c", "tool", {"reason": text})
        ledger.finish("t", "c", f"result {text}", "success", "completed")
        [entry] = ledger.entries("t")
        assert entry.args == {"reason": text} and entry.status == "completed"
    finally:
        ledger.close()


def test_a_server_wrapped_saver_uses_the_wrapped_savers_ledger(tmp_path: Path) -> None:
    """LangGraph's server wraps its checkpointer in an adapter (``_inner``)."""

    class Adapter(InMemorySaver):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self._inner = inner

    with open_checkpointer(f"sqlite:///{tmp_path}/wrapped.sqlite") as saver:
        assert default_ledger(Adapter(saver)) is default_ledger(saver)
        assert isinstance(default_ledger(saver), SqliteLedger)
    _restart()
