"""``agent-patterns knowledge ingest|search|forget|sources``: the operator's knowledge base.

- ``knowledge ingest PATH... [--scope S]``: ingest files or directories (``.txt``, ``.md``,
  ``.html``, ``.pdf``); prints added / replaced / skipped per source;
- ``knowledge search "QUERY" [--k N] [--scope S ...] [--mode hybrid|lexical|vector]``: each
  hit's citation (source and position), score, scope, title and a snippet;
- ``knowledge forget --source SOURCE [--scope S | --every-scope]``: delete a source's chunks;
- ``knowledge sources [--scope S ...]``: what is stored, per scope.

The store is the memory store the rest of the project uses (``--store``, else
``MEMORY_STORE_URL``, else ``.agent-patterns/chroma``), with the embedding
``MEMORY_EMBEDDINGS`` names. There is no authenticated user at the CLI: the operator writes
every scope. ``--scope`` is ``project`` unless given. See docs/knowledge.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from cli.errors import CliError
from memory.chroma_store import DEFAULT_STORE_PATH, STORE_URL_ENV, open_store
from memory.knowledge import PROJECT, KnowledgeBase, parse_scope

__all__ = ["add_knowledge_commands", "run_knowledge_command"]

SNIPPET_CHARS = 160


def _scope(text: str) -> str:
    try:
        return parse_scope(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return value


def _knowledge_base(args: argparse.Namespace) -> KnowledgeBase:
    return KnowledgeBase(open_store(args.store))


def snippet(text: str, size: int = SNIPPET_CHARS) -> str:
    r"""`text` on one line, cut at a word to about `size` characters.

    Example:
        >>> snippet("The rate limit\n\nis 1000 requests per minute.", 24)
        'The rate limit is 1000…'
    """
    flat = " ".join(text.split())
    if len(flat) <= size:
        return flat
    return flat[:size].rsplit(" ", 1)[0] + "…"


def _chunks(count: int) -> str:
    return f"{count} chunk" if count == 1 else f"{count} chunks"


def _ingest(args: argparse.Namespace, out: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise CliError(f"no such file or directory: {missing[0]}")
    kb = _knowledge_base(args)
    total = 0
    for path in args.paths:
        try:
            reports = kb.ingest_path(Path(path), scope=args.scope, actor=args.by)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if not reports:
            out.write(f"nothing to ingest in {path} (no .txt, .md, .html or .pdf file)\n")
        for report in reports:
            out.write(
                f"{report.status:<8}  {report.source}  ({_chunks(report.chunks)}, {report.scope})\n"
            )
        total += len(reports)
    return 0 if total else 1


def _search(args: argparse.Namespace, out: TextIO) -> int:
    scopes = args.scope or [PROJECT]
    try:
        hits = _knowledge_base(args).search(args.query, scopes=scopes, k=args.k, mode=args.mode)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not hits:
        out.write(f"no passage found in {', '.join(scopes)}\n")
        return 1
    for rank, hit in enumerate(hits, start=1):
        out.write(
            f"{rank}. {hit.source}#{hit.position}  score {hit.score:.4f}  [{hit.scope}]  "
            f"{hit.title}\n   {snippet(hit.text)}\n"
        )
    return 0


def _forget(args: argparse.Namespace, out: TextIO) -> int:
    scope = None if args.every_scope else (args.scope or PROJECT)
    deleted = _knowledge_base(args).forget(args.source, scope=scope)
    where = "every scope" if scope is None else scope
    if not deleted:
        out.write(f"no chunk of {args.source} in {where}\n")
        return 1
    out.write(f"forgot {args.source}: {_chunks(deleted)} deleted ({where})\n")
    return 0


def _sources(args: argparse.Namespace, out: TextIO) -> int:
    kb = _knowledge_base(args)
    scopes = args.scope or kb.scopes()
    rows = [("scope", "source", "chunks", "ingested at", "by", "title")]
    for entry in kb.sources(scopes):
        rows.append(
            (
                entry["scope"],
                str(entry.get("source", "")),
                str(entry.get("chunks", 0)),
                str(entry.get("ingested_at", ""))[:19].replace("T", " "),
                str(entry.get("ingested_by", "")) or "-",
                str(entry.get("title", "")),
            )
        )
    if len(rows) == 1:
        out.write("no documents stored\n")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def add_knowledge_commands(commands: Any) -> None:
    """Register ``knowledge ingest|search|forget|sources`` on the CLI's subparsers."""
    store_help = (
        f"memory store path or Chroma URL (default: ${STORE_URL_ENV} or {DEFAULT_STORE_PATH})"
    )
    scope_help = "project, team:ID or user:ID (default: project)"
    knowledge = commands.add_parser("knowledge", help="ingest, search and forget documents")
    verbs = knowledge.add_subparsers(dest="verb", required=True)
    ingest = verbs.add_parser("ingest", help="ingest files or directories into a scope")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="a file or a directory")
    ingest.add_argument("--scope", type=_scope, default=PROJECT, help=scope_help)
    ingest.add_argument("--by", default="operator", help="who ingests (recorded)")
    ingest.set_defaults(run=_ingest)
    search = verbs.add_parser("search", help="the passages that best answer a query")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--k", type=_positive, default=5, help="how many passages (default 5)")
    search.add_argument(
        "--scope",
        type=_scope,
        action="append",
        help="a scope to search (repeatable; " + scope_help + ")",
    )
    search.add_argument("--mode", choices=("hybrid", "lexical", "vector"), default="hybrid")
    search.set_defaults(run=_search)
    forget = verbs.add_parser("forget", help="delete a source's chunks")
    forget.add_argument("--source", required=True, help="the source, as ingested")
    where = forget.add_mutually_exclusive_group()
    where.add_argument("--scope", type=_scope, help=scope_help)
    where.add_argument("--every-scope", action="store_true", help="delete it in every scope")
    forget.set_defaults(run=_forget)
    sources = verbs.add_parser("sources", help="the documents stored, per scope")
    sources.add_argument(
        "--scope", type=_scope, action="append", help="only this scope (repeatable; default: all)"
    )
    sources.set_defaults(run=_sources)
    for verb in (ingest, search, forget, sources):
        verb.add_argument("--store", help=store_help)


def run_knowledge_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the command `add_knowledge_commands` registered."""
    return int(args.run(args, out or sys.stdout))
