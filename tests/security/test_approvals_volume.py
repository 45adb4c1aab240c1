"""The approval queue at volume, with a bad thread, and for threads that do not exist (issue 11).

`approvals list|decide|sweep` must find a waiting approval however many newer checkpoints the
database holds (finding 13), keep working when one thread cannot be read (finding 9), and say
plainly when a thread does not exist instead of starting a new run (finding 14). Refunds are
counted from the payment log.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import empty_checkpoint

from checkpointers import open_checkpointer
from cli.__main__ import main
from cli.approvals import pending_approvals
from demo.effects import read_effects
from demo.orders import order_tools
from graphs.react import build_react_graph
from models import ScriptedChatModel, tool_calls_reply

REFUND = ("issue_refund", {"order_id": "A-1001", "amount": 89.99, "reason": "arrived broken"})


def start_waiting_refund(saver: Any, thread_id: str) -> None:
    model = ScriptedChatModel(replies=[tool_calls_reply(REFUND)])
    graph = build_react_graph(tools=order_tools(), model=model, checkpointer=saver)
    config = {"configurable": {"thread_id": thread_id}}
    graph.invoke({"messages": [HumanMessage("A-1001 broke")]}, config, durability="sync")
    assert graph.get_state(config).interrupts


def flood(saver: Any, count: int) -> None:
    """Write `count` checkpoints newer than everything before, one per new react thread."""
    for n in range(count):
        config = {"configurable": {"thread_id": f"noise-{n:05d}", "checkpoint_ns": ""}}
        metadata = {"graph_id": "react", "source": "input", "step": -1, "parents": {}}
        saver.put(config, empty_checkpoint(), metadata, {})


def cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.postgres
@pytest.mark.slow
def test_f13_an_approval_behind_5000_newer_checkpoints_is_listed_and_decided(
    postgres_url: str, effects_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_checkpointer(postgres_url) as saver:
        start_waiting_refund(saver, "old-refund")
        flood(saver, 5500)
        assert len(list(saver.list(None, limit=6000))) > 5500

    code, out, _ = cli("approvals", "list", "--checkpointer", postgres_url, capsys=capsys)
    assert code == 0 and "old-refund" in out and "issue_refund" in out

    code, out, _ = cli(
        "approvals", "decide", "old-refund", "--accept", "--reviewer", "rita",
        "--checkpointer", postgres_url, capsys=capsys,
    )  # fmt: skip
    assert code == 0, out
    assert len(read_effects("refund")) == 1

    code, out, _ = cli("approvals", "sweep", "--checkpointer", postgres_url, capsys=capsys)
    assert code == 0 and "Swept 0" in out
    code, out, _ = cli("approvals", "list", "--checkpointer", postgres_url, capsys=capsys)
    assert code == 0 and "No approvals pending" in out


def test_f13_sqlite_finds_an_approval_behind_thousands_of_newer_checkpoints(
    tmp_path: Path, effects_log: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    with open_checkpointer(url) as saver:
        start_waiting_refund(saver, "old-refund")
        flood(saver, 2500)

        [pending] = pending_approvals(saver)

    assert (pending.thread_id, pending.action, pending.args) == ("old-refund", *REFUND)


def corrupt_messages(postgres_url: str, thread_id: str) -> None:
    """Make the thread's stored conversation unreadable (as a poisoned or damaged row is).

    Messages are stored as deltas (`state.messages_channel`): each step's new messages are a
    write in ``checkpoint_writes``, and a snapshot (or a thread from before the deltas) a
    blob in ``checkpoint_blobs``. Both are damaged.
    """
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        changed = sum(
            conn.execute(
                f"UPDATE {table} SET blob = '\\xc1'::bytea "
                "WHERE thread_id = %s AND channel = 'messages'",
                (thread_id,),
            ).rowcount
            for table in ("checkpoint_blobs", "checkpoint_writes")
        )
    assert changed > 0


@pytest.mark.postgres
def test_f09_approvals_list_reports_an_unreadable_thread_and_lists_the_rest(
    postgres_url: str, effects_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_checkpointer(postgres_url) as saver:
        start_waiting_refund(saver, "good-thread")
        start_waiting_refund(saver, "bad-thread")
    corrupt_messages(postgres_url, "bad-thread")

    code, out, err = cli("approvals", "list", "--checkpointer", postgres_url, capsys=capsys)

    assert code == 0
    assert "good-thread" in out and "issue_refund" in out
    assert "bad-thread" in err and "could not be read" in err
    code, out, err = cli(
        "approvals", "decide", "good-thread", "--accept", "--reviewer", "rita",
        "--checkpointer", postgres_url, capsys=capsys,
    )  # fmt: skip
    assert code == 0 and len(read_effects("refund")) == 1


@pytest.mark.postgres
def test_f14_approvals_decide_on_an_unknown_thread_says_so_and_exits_non_zero(
    postgres_url: str, effects_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_checkpointer(postgres_url) as saver:
        start_waiting_refund(saver, "real-thread")

    code, out, err = cli(
        "approvals", "decide", "no-such-thread", "--accept", "--reviewer", "rita",
        "--checkpointer", postgres_url, capsys=capsys,
    )  # fmt: skip

    assert code != 0
    assert [line for line in (out + err).splitlines() if line] == [
        "error: no thread 'no-such-thread': there is nothing to resume"
    ]
    with open_checkpointer(postgres_url) as saver:
        assert saver.get_tuple({"configurable": {"thread_id": "no-such-thread"}}) is None
    assert read_effects("refund") == []


@pytest.mark.postgres
@pytest.mark.parametrize("question", [[], ["Where is my order A-1002?"]], ids=["resume", "ask"])
def test_f14_demo_on_an_unknown_thread_says_so_and_exits_non_zero(
    postgres_url: str, effects_log: Path, capsys: pytest.CaptureFixture[str], question: list[str]
) -> None:
    thread = f"demo-{uuid.uuid4().hex[:8]}"

    code, out, err = cli(
        "demo", *question, "--thread", thread, "--approve", "auto",
        "--checkpointer", postgres_url, capsys=capsys,
    )  # fmt: skip

    assert code != 0
    lines = [line for line in (out + err).splitlines() if line]
    assert len(lines) == 1 and thread in lines[0] and "no thread" in lines[0]
    with open_checkpointer(postgres_url) as saver:
        assert saver.get_tuple({"configurable": {"thread_id": thread}}) is None


@pytest.mark.postgres
def test_f10_demo_refuses_a_new_question_while_the_refund_waits_unless_cancelled(
    postgres_url: str, effects_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli("demo", "--checkpointer", postgres_url, capsys=capsys)
    assert code == 0 and "Stopped at the approval gate" in out
    thread = out.split("--thread ", 1)[1].split()[0]
    question = "Where is my order A-1002?"

    code, out, err = cli(
        "demo", question, "--thread", thread, "--checkpointer", postgres_url, capsys=capsys
    )
    assert code != 0 and "is waiting for approval of issue_refund" in err

    code, out, err = cli(
        "demo", question, "--thread", thread, "--cancel-pending",
        "--checkpointer", postgres_url, capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "audit: superseded issue_refund by caller" in out
    assert read_effects("refund") == []
