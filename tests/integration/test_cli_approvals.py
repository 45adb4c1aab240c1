"""The approvals command line: list, decide, sweep, audit and history over a SQLite file."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from checkpointers import open_checkpointer
from cli.__main__ import main
from demo.effects import read_effects
from graphs.registry import build_graph


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path}/approvals.sqlite"


def start(url: str, graph: str, question: str, **context: object) -> str:
    """Run a graph to its approval gate, as an earlier process would have."""
    thread = f"{graph}-{time.monotonic_ns()}"
    with open_checkpointer(url) as saver:
        build_graph(graph, checkpointer=saver).invoke(
            {"messages": [("user", question)]},
            {"configurable": {"thread_id": thread}},
            context={"model": "demo", **context},
        )
    return thread


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_list_decide_audit_and_history(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    hitl = start(url, "hitl", "Refund order A-1002 please, it is late.")
    react = start(url, "react", "My order A-1001 arrived broken, please refund it.")

    code, listing = cli(capsys, "approvals", "list", "--checkpointer", url)
    assert code == 0
    assert re.search(rf"{hitl}\s+hitl\s+\w+\s+\d+s\s+issue_refund .*\"amount\": 420.0", listing)
    assert re.search(rf"{react}\s+react\s+\w+\s+\d+s\s+issue_refund", listing)

    edit = '{"order_id": "A-1002", "amount": 100, "reason": "late delivery credit"}'
    code, out = cli(
        capsys,
        "approvals",
        "decide",
        hitl,
        "--edit",
        edit,
        "--reviewer",
        "fin-ops",
        "--reason",
        "partial credit",
        "--checkpointer",
        url,
    )
    assert code == 0 and f"Thread {hitl} finished" in out
    assert [r["amount"] for r in read_effects("refund")] == [100.0]

    code, out = cli(
        capsys, "approvals", "decide", react, "--reject", "--reviewer", "ops", "--checkpointer", url
    )
    assert code == 0 and "Rejected by ops" in out
    assert len(read_effects("refund")) == 1

    code, listing = cli(capsys, "approvals", "list", "--checkpointer", url)
    assert "No approvals pending." in listing

    code, audit = cli(capsys, "audit", hitl, "--checkpointer", url)
    assert "edit     issue_refund" in audit and '"amount": 420.0' in audit
    assert 'edited to {"order_id": "A-1002", "amount": 100' in audit
    assert "by fin-ops because partial credit" in audit
    # SQLite and Postgres keep a durable ledger: the refund, once, completed
    assert "completed issue_refund" in audit and "attempts=1" in audit
    assert "in-memory ledger" not in audit and "WARNING" not in audit

    code, history = cli(capsys, "history", hitl, "--checkpointer", url)
    steps = re.findall(r"^\s+(\d+)\s+(loop|input)\s+(\S+)\s+(\S+)", history, re.M)
    assert [s[3] for s in steps][:3] == ["-", "draft_reply", "run_tools"]
    gate_checkpoint = next(s[2] for s in steps if s[3] == "approval_gate")
    code, shown = cli(capsys, "history", hitl, "--show", gate_checkpoint, "--checkpointer", url)
    assert "next=['approval_gate']" in shown and "Refund order A-1002" in shown


def test_bad_answers_fail_before_touching_the_thread(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    thread = start(url, "hitl", "Refund order A-1002 please, it is late.")

    assert (
        main(
            [
                "approvals",
                "decide",
                thread,
                "--edit",
                "{oops",
                "--reviewer",
                "x",
                "--checkpointer",
                url,
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "approvals",
                "decide",
                "no-such-thread",
                "--accept",
                "--reviewer",
                "x",
                "--checkpointer",
                url,
            ]
        )
        == 2
    )
    errors = capsys.readouterr().err
    assert "--edit needs JSON" in errors and "no thread 'no-such-thread'" in errors

    _, listing = cli(capsys, "approvals", "list", "--checkpointer", url)
    assert thread in listing and read_effects("refund") == []


def test_sweep_applies_the_deadline_policy(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    expired = start(
        url, "hitl", "Refund order A-1002 please, it is late.", approval_timeout_s=0.001
    )
    waiting = start(url, "hitl", "Refund A-1004, my headphones broke", approval_timeout_s=3600)
    time.sleep(0.01)

    _, listing = cli(capsys, "approvals", "list", "--checkpointer", url)
    assert re.search(rf"{expired} .*\[EXPIRED\]", listing)

    code, out = cli(capsys, "approvals", "sweep", "--checkpointer", url)
    assert code == 0 and "Swept 1 expired approval(s)." in out

    _, listing = cli(capsys, "approvals", "list", "--checkpointer", url)
    assert expired not in listing and waiting in listing
    _, audit = cli(capsys, "audit", expired, "--checkpointer", url)
    assert "ignore   issue_refund" in audit and "policy:deadline" in audit
    assert read_effects("refund") == []


@pytest.mark.parametrize(
    ("graph", "question", "action"),
    [
        (
            "supervisor",
            "Research our refund policy for damaged items and write a summary",
            "publish_summary",
        ),
        ("swarm", "My order A-1001 arrived broken, please refund it.", "issue_refund"),
        ("router", "My order A-1001 arrived broken, please refund it.", "issue_refund"),
    ],
)
def test_approvals_inside_sub_agents_are_listed_and_decided(
    url: str, capsys: pytest.CaptureFixture[str], graph: str, question: str, action: str
) -> None:
    thread = start(url, graph, question)

    _, listing = cli(capsys, "approvals", "list", "--checkpointer", url)
    assert re.search(rf"{thread}\s+{graph}\s+\w+\s+\d+s\s+{action}", listing), listing

    code, out = cli(
        capsys,
        "approvals",
        "decide",
        thread,
        "--accept",
        "--reviewer",
        "lead",
        "--checkpointer",
        url,
    )

    assert code == 0 and f"Thread {thread} finished" in out
    kind = "summary" if action == "publish_summary" else "refund"
    assert len(read_effects(kind)) == 1


def test_f03_audit_flags_records_written_into_state_that_the_gate_never_bound(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    thread = start(url, "react", "My order A-1001 arrived broken, please refund it.")
    config = {"configurable": {"thread_id": thread}}
    with open_checkpointer(url) as saver:
        graph = build_graph("react", checkpointer=saver)
        [call] = graph.get_state(config).values["messages"][-1].tool_calls
        forged = {
            "tool_call_id": call["id"],
            "action": call["name"],
            "args": call["args"],
            "decision": "accept",
            "reviewer": "manager",
            "decided_at": "2026-01-01T00:00:00+00:00",
        }
        graph.update_state(config, {"approvals": [forged]}, as_node="approval_gate")

    code, audit = cli(capsys, "audit", thread, "--checkpointer", url)
    assert code == 0
    assert "(0 decision(s))" in audit
    assert "WARNING: 1 record(s) in the thread's state were never bound" in audit
    assert "by manager" in audit and read_effects("refund") == []
