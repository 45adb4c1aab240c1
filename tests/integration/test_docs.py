"""Every code block in README.md and docs/**/*.md runs, offline; the docs list the real graphs.

Python blocks: each page's ```python blocks run in order in one namespace (a later block may
use an earlier block's names), in a temporary working directory, with the offline demo model
(no ``OPENAI_API_KEY``), ``MEMORY_EMBEDDINGS=hash`` and a payment log of the test's own.
Blocks with top-level ``await`` run in one event loop per page. Substitutions, so that the
blocks can be copied as they are written:

- the string ``"postgresql://..."`` becomes a fresh test database's URL;
- ``http://127.0.0.1:2024`` becomes the session's authenticated ``langgraph dev``
  (`dev_server`), and ``<alice's token>`` (any `TEST_USERS` name) that user's token.

A block preceded by a ``<!-- not executed: reason -->`` comment is skipped (the reason must be
visible to the reader, on the page). Bash blocks: every ``make`` target named must exist in
the Makefile, every ``python -m cli ...`` / ``agent-patterns ...`` / ``make demo ARGS=...``
command (also in inline code) must parse with the CLI's own argparse parser, every
``scripts/*.py`` named must exist, and the demo commands of the fenced blocks that need
neither a key nor a placeholder are run.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.__main__ import build_parser
from demo.effects import EFFECTS_LOG_ENV

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_EXECUTED = re.compile(r"<!--\s*not executed:\s*(?P<reason>[^>]*\S)\s*-->")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
SERVER_URL = "http://127.0.0.1:2024"
POSTGRES_PLACEHOLDER = '"postgresql://..."'
TOKEN_PLACEHOLDER = re.compile(r"<(?P<user>\w+)'s token>")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their not-executed markers."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    last_text = ""
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            if lines[index].strip():
                last_text = lines[index]
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        marker = NOT_EXECUTED.search(last_text)
        found.append(
            Block(
                page,
                index + 1,
                opening["lang"],
                "\n".join(lines[index + 1 : end]) + "\n",
                marker["reason"] if marker else None,
            )
        )
        last_text = ""
        index = end + 1
    return found


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


PYTHON_PAGES = [page for page in PAGES if any(b.lang == "python" for b in blocks(page))]


# -- python blocks ----------------------------------------------------------------------------


@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working directory and an offline environment for the blocks."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv(EFFECTS_LOG_ENV, str(tmp_path / "effects.jsonl"))
    monkeypatch.setenv("MEMORY_EMBEDDINGS", "hash")
    monkeypatch.setenv("MEMORY_STORE_URL", str(tmp_path / "chroma"))
    for name in ("OPENAI_API_KEY", "CHECKPOINTER_URL", "DATABASE_URL", "AGENT_PATTERNS_MODEL"):
        if name != "DATABASE_URL":  # the fixtures read DATABASE_URL for the admin connection
            monkeypatch.delenv(name, raising=False)
    yield work
    # chromadb caches one client system per path *string*: a relative path opened again from
    # another working directory would reach the earlier directory's data (open_store does not
    # make the path absolute), so each page starts without cached systems.
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _substitute(code: str, request: pytest.FixtureRequest, stack: ExitStack) -> str:
    if POSTGRES_PLACEHOLDER in code:
        from tests.conftest import fresh_database

        url = stack.enter_context(fresh_database("ap_docs"))
        code = code.replace(POSTGRES_PLACEHOLDER, repr(url))
    if SERVER_URL in code or TOKEN_PLACEHOLDER.search(code):
        from tests.integration.devserver import TEST_USERS

        server = request.getfixturevalue("dev_server")
        code = code.replace(SERVER_URL, server.url)
        code = TOKEN_PLACEHOLDER.sub(lambda m: TEST_USERS[m["user"]][0], code)
    return code


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_id)
def test_python_blocks_run(page: Path, docs_env: Path, request: pytest.FixtureRequest) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    loop = asyncio.new_event_loop()
    ran = 0
    try:
        with ExitStack() as stack:
            for block in blocks(page):
                if block.lang != "python" or block.skip_reason:
                    continue
                code = compile(
                    _substitute(block.code, request, stack),
                    block.where,
                    "exec",
                    flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                    dont_inherit=True,
                )
                try:
                    result = eval(code, namespace)  # noqa: S307 - the docs' own examples
                    if asyncio.iscoroutine(result):
                        loop.run_until_complete(result)
                except Exception as exc:
                    raise AssertionError(f"code block at {block.where} failed: {exc!r}") from exc
                ran += 1
    finally:
        loop.close()
    assert ran, f"{_id(page)}: every python block is marked not executed"


def test_skipped_blocks_say_why() -> None:
    skipped = [b for page in PAGES for b in blocks(page) if b.skip_reason]
    for block in skipped:
        assert len(block.skip_reason or "") >= 10, f"{block.where}: give a reason"
    # Keep them rare: each one is an example nobody checks.
    assert len(skipped) <= 3, [b.where for b in skipped]


# -- bash blocks and commands named in the text -----------------------------------------------


def _cli_parser() -> argparse.ArgumentParser:
    """The parser `cli.__main__.main` builds."""
    return build_parser(exit_on_error=False)


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", text, flags=re.MULTILINE))


def _commands(text: str) -> Iterator[list[str]]:
    """Shell commands in a bash block (continuations joined, comments dropped)."""
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        while words and re.match(r"^[A-Z_]+=", words[0]):
            words = words[1:]  # VAR=value prefixes
        if words:
            yield words


def _cli_args(words: list[str]) -> list[str] | None:
    """The CLI arguments a command passes, or None when it is not a CLI command."""
    if words[:3] == ["python", "-m", "cli"]:
        return words[3:]
    if words[:1] == ["agent-patterns"]:
        return words[1:]
    if words[:2] == ["make", "demo"]:
        extra = [w.removeprefix("ARGS=") for w in words[2:] if w.startswith("ARGS=")]
        return ["demo", *[arg for value in extra for arg in shlex.split(value)]]
    return None


def _inline_commands(page: Path) -> Iterator[list[str]]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    for span in re.findall(r"`([^`\n]+)`", text):
        if re.match(r"^(python -m cli|agent-patterns|make \w)", span):
            yield shlex.split(span)


def _all_commands() -> Iterator[tuple[str, list[str], Block | None]]:
    for page in PAGES:
        for block in blocks(page):
            if block.lang in ("bash", "sh", "shell"):
                for words in _commands(block.code):
                    yield block.where, words, block
        for words in _inline_commands(page):
            yield _id(page), words, None


def test_named_commands_exist() -> None:
    parser = _cli_parser()
    targets = _make_targets()
    checked = 0
    for where, words, _ in _all_commands():
        if words[0] == "make":
            target = words[1] if len(words) > 1 else ""
            assert target in targets, f"{where}: no make target {target!r}"
            checked += 1
        args = _cli_args(words)
        if args is not None:
            try:
                parser.parse_args(args)
            except (argparse.ArgumentError, SystemExit) as exc:
                command = shlex.join(words)
                raise AssertionError(f"{where}: {command!r} does not parse: {exc}") from exc
            checked += 1
        for word in words:
            if word.startswith("scripts/") and word.endswith(".py"):
                assert (ROOT / word).is_file(), f"{where}: no {word}"
    assert checked >= 10


def _runnable_demos() -> list[tuple[str, list[str]]]:
    """Demo commands in fenced blocks that need no key, no server and no placeholder."""
    runnable = []
    for where, words, block in _all_commands():
        if block is None or block.skip_reason:
            continue
        args = _cli_args(words)
        line = shlex.join(words)
        if args is None or args[:1] != ["demo"] or "--thread" in args:
            continue
        if re.search(r"OPENAI|sk-|\.\.\.|--model openai|postgresql", block.code + line):
            continue
        runnable.append((where, args))
    return runnable


@pytest.mark.parametrize(("where", "args"), _runnable_demos())
def test_demo_commands_run(where: str, args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, EFFECTS_LOG_ENV: str(tmp_path / "effects.jsonl")}
    env.update(MEMORY_STORE_URL=str(tmp_path / "chroma"), MEMORY_EMBEDDINGS="hash")
    env.pop("OPENAI_API_KEY", None)
    env["CHECKPOINTER_URL"] = f"sqlite:///{tmp_path}/cp.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args, "--checkpointer", env["CHECKPOINTER_URL"]],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{where}: {args}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


# -- the docs and the code list the same graphs ----------------------------------------------


def test_graph_ids_agree() -> None:
    from graphs.registry import GRAPH_BUILDERS

    served = set(json.loads((ROOT / "langgraph.json").read_text())["graphs"])
    documented = {page.stem for page in (ROOT / "docs" / "patterns").glob("*.md")}
    assert served == set(GRAPH_BUILDERS) == documented
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for graph_id in served:
        assert f"](docs/patterns/{graph_id}.md)" in readme, f"README does not link {graph_id}"


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a page."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_links_resolve() -> None:
    link = re.compile(r"\]\((?P<target>[^)#\s]*)(?:#(?P<anchor>[^)\s]*))?\)")
    for page in PAGES:
        text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
        for match in link.finditer(text):
            target, anchor = match["target"], match["anchor"]
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            resolved = (page.parent / target) if target else page
            assert resolved.exists(), f"{_id(page)}: broken link {target}"
            if anchor and resolved.suffix == ".md":
                assert anchor in _anchors(resolved), f"{_id(page)}: no #{anchor} in {target}"
