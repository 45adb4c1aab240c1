"""``agent-patterns knowledge ingest|search|forget|sources`` on a store in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.__main__ import build_parser, main
from cli.knowledge import snippet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMORY_EMBEDDINGS", "hash")
    monkeypatch.setenv("MEMORY_STORE_URL", str(tmp_path / "store"))
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "api.md").write_text(
        "# API limits\n\nThe rate limit is 1000 requests per minute per project.\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "sub" / "refunds.html").write_text(
        "<title>Refund policy</title><h1>Refunds</h1><p>Refunds are paid within five days.</p>",
        encoding="utf-8",
    )
    (tmp_path / "bob.txt").write_text("Bob's refunds go to his voucher wallet.", encoding="utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["knowledge", *argv])
    return code, capsys.readouterr().out


def test_ingest_search_sources_forget(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "ingest", "docs")
    assert code == 0
    assert out.splitlines() == [
        "added     docs/api.md  (1 chunk, project)",
        "added     docs/sub/refunds.html  (1 chunk, project)",
    ]
    assert run(capsys, "ingest", "docs/api.md")[1].startswith("skipped   docs/api.md")
    (workdir / "docs" / "api.md").write_text("# API limits\n\nNow 2000 per minute.", "utf-8")
    assert run(capsys, "ingest", "docs/api.md")[1].startswith("replaced  docs/api.md")
    code, out = run(capsys, "ingest", "bob.txt", "--scope", "user:bob")
    assert (code, out) == (0, "added     bob.txt  (1 chunk, user:bob)\n")

    code, out = run(capsys, "search", "how fast are refunds paid", "--k", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1. docs/sub/refunds.html#0  score ")
    assert lines[0].endswith("[project]  Refund policy")
    assert lines[1] == "   # Refunds Refunds are paid within five days."
    assert len(lines) == 2
    code, out = run(capsys, "search", "refunds voucher", "--mode", "lexical")
    assert "bob.txt" not in out, "the user scope is not searched unless asked"
    out = run(capsys, "search", "voucher", "--scope", "user:bob", "--mode", "lexical")[1]
    assert out.startswith("1. bob.txt#0")
    assert run(capsys, "search", "zebra", "--mode", "lexical") == (
        1,
        "no passage found in project\n",
    )

    table = run(capsys, "sources")[1].splitlines()
    assert table[0].split() == ["scope", "source", "chunks", "ingested", "at", "by", "title"]
    assert [line.split()[:3] for line in table[1:]] == [
        ["project", "docs/api.md", "1"],
        ["project", "docs/sub/refunds.html", "1"],
        ["user:bob", "bob.txt", "1"],
    ]
    assert run(capsys, "forget", "--source", "bob.txt") == (1, "no chunk of bob.txt in project\n")
    assert run(capsys, "forget", "--source", "bob.txt", "--scope", "user:bob") == (
        0,
        "forgot bob.txt: 1 chunk deleted (user:bob)\n",
    )
    assert [line.split()[1] for line in run(capsys, "sources")[1].splitlines()[1:]] == [
        "docs/api.md",
        "docs/sub/refunds.html",
    ]
    code, out = run(capsys, "forget", "--source", "docs/api.md", "--every-scope")
    assert (code, out) == (0, "forgot docs/api.md: 1 chunk deleted (every scope)\n")


def test_mistakes_are_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knowledge", "ingest", "missing.md"]) == 2
    assert capsys.readouterr().err == "error: no such file or directory: missing.md\n"
    (workdir / "data.csv").write_text("a,b", encoding="utf-8")
    assert main(["knowledge", "ingest", "data.csv"]) == 2
    assert "cannot ingest 'data.csv'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["knowledge", "ingest", "docs", "--scope", "everyone"])
    assert "knowledge scope" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["knowledge", "search", "x", "--k", "0"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["knowledge", "forget", "--source", "x", "--scope", "project", "--every-scope"]
        )
    assert run(capsys, "sources") == (0, "no documents stored\n")


def test_snippet() -> None:
    assert snippet("short") == "short"
    assert snippet("word " * 100, 22) == "word word word word…"


def test_python_m_cli_runs(workdir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "knowledge", "ingest", "docs", "--store", "other"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "added     docs/api.md" in result.stdout
    assert (workdir / "other").is_dir()
