"""``agent-patterns runs`` over a SQLite file: the human tables, the detail and the timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkpointers import open_checkpointer
from cli.__main__ import main
from graphs.registry import build_graph


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with a thread waiting for a refund approval and a finished one."""
    for name in ("CHECKPOINTER_URL", "DATABASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    found = f"sqlite:///{tmp_path}/runs.sqlite"
    with open_checkpointer(found) as saver:
        graph = build_graph("react", checkpointer=saver)
        for thread, question in (
            ("refund", "My order A-1001 arrived broken, please refund it."),
            ("lookup", "Where is my order A-1002?"),
        ):
            graph.invoke(
                {"messages": [("user", question)]},
                {"configurable": {"thread_id": thread}},
                context={"model": "demo"},
            )
    return found


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_show_and_timeline(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runs", "list", "--db", url)
    assert code == 0 and out.startswith("2 run(s): waiting 1, finished 1")
    refund = next(line for line in out.splitlines() if line.startswith("refund"))
    assert "waiting" in refund and 'issue_refund {"order_id": "A-1001"' in refund
    code, out, _ = run(capsys, "runs", "list", "--db", url, "--status", "finished", "--json")
    assert [r["thread_id"] for r in json.loads(out)["runs"]] == ["lookup"]
    code, out, _ = run(capsys, "runs", "list", "--db", url, "--since", "1h", "--limit", "1")
    assert "... 1 more: --offset 1" in out

    code, out, _ = run(capsys, "runs", "show", "refund", "--db", url)
    assert code == 0 and "status:      waiting" in out
    assert "pending:     issue_refund" in out and "deadline none" in out
    code, out, _ = run(capsys, "runs", "timeline", "refund", "--db", url)
    lines = out.splitlines()
    assert lines[0].startswith("Timeline of refund (react):")
    assert any(" step " in line and "call_model" in line for line in lines)
    assert any("model_call" in line for line in lines) and "interrupt" in lines[-1]


def test_mistakes_are_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "runs", "list", "--db", url, "--since", "yesterday")
    assert code == 2 and "is not a time" in err
    code, _, err = run(capsys, "runs", "retry", "lookup", "--db", url)
    assert code == 2 and "finished, not failed or stuck" in err
    code, _, err = run(
        capsys, "runs", "fork", "lookup", "--db", url, "--checkpoint", "x", "--set", "oops"
    )
    assert code == 2 and "--set needs key=json" in err
    code, out, _ = run(capsys, "runs", "show", "ghost", "--db", url)
    assert code == 1 and "No thread ghost" in out
    missing = url.replace("runs.sqlite", "absent.sqlite")
    code, _, err = run(capsys, "runs", "list", "--db", missing)
    assert code == 2 and "nothing was created" in err
