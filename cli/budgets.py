"""``agent-patterns budgets show|set``: caps per user, team and project, and what was spent.

- ``budgets show [--user U | --team T] [--checkpointer URL]``: each scope's caps and its
  spend today and this month (UTC); "no cap" where none is set, calls without a price noted;
- ``budgets set (--user U | --team T | --project) [--daily-usd X] [--monthly-usd Y]
  [--daily-tokens N] [--monthly-tokens N] [--members a,b,c] [--clear FIELD ...]``: set some
  caps (the others are kept), declare a team's members, or remove caps.

Caps live beside the checkpoints (`checkpointers.budget_caps`); see docs/budgets.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from checkpointers.budget_caps import (
    CAP_FIELDS,
    PROJECT_SCOPE,
    Caps,
    parse_scope,
    team_scope,
    user_scope,
)
from checkpointers.factory import DEFAULT_CHECKPOINTER_URL, open_checkpointer
from cli.errors import CliError
from cli.threads import open_existing_checkpointer
from nodes.budget_caps import Budgets, Spend, format_tokens, format_usd

__all__ = ["add_budget_commands", "run_budget_command"]

_OPTIONS = {name: "--" + name.replace("_", "-") for name in CAP_FIELDS}
_HEADER = ("scope", "period", "cost cap", "cost spent", "token cap", "tokens spent")


def _usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a non-negative amount of US dollars: {text!r}")
    return value


def _tokens(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a non-negative whole number of tokens: {text!r}")
    return value


def _parsed(args: argparse.Namespace, name: str) -> Any:
    """A cap option's value, checked (argparse leaves them as text so errors are one line)."""
    text = getattr(args, name)
    if text is None:
        return None
    try:
        return (_tokens if name.endswith("_tokens") else _usd)(text)
    except argparse.ArgumentTypeError as exc:
        raise CliError(f"{_OPTIONS[name]}: {exc}") from None


def _scope(args: argparse.Namespace) -> str:
    try:
        if args.user is not None:
            scope = user_scope(args.user)
        elif args.team is not None:
            scope = team_scope(args.team)
        else:
            scope = PROJECT_SCOPE
        parse_scope(scope)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return scope


def _members(args: argparse.Namespace, scope: str) -> list[str] | None:
    if args.members is None:
        return None
    if not scope.startswith("team:"):
        raise CliError("--members goes with --team (a team's members are users)")
    members = [m.strip() for m in args.members.split(",") if m.strip()]
    if not members:
        raise CliError("--members needs at least one user id (a,b,c)")
    return members


def _caps_text(caps: Caps | None) -> str:
    if caps is None or caps.empty:
        return "no caps"
    parts = []
    for name in CAP_FIELDS:
        value = getattr(caps, name)
        shown = "no cap" if value is None else _money_or_tokens(name, value)
        parts.append(f"{name.replace('_', ' ')} {shown}")
    return ", ".join(parts)


def _money_or_tokens(name: str, value: float) -> str:
    return format_tokens(value) if name.endswith("_tokens") else format_usd(value)


def _set(args: argparse.Namespace, out: TextIO) -> int:
    scope = _scope(args)
    values = {name: _parsed(args, name) for name in CAP_FIELDS}
    clear = [c.replace("-", "_") for c in args.clear or []]
    members = _members(args, scope)
    if all(v is None for v in values.values()) and not clear and members is None:
        raise CliError(
            "budgets set needs at least one of --daily-usd, --monthly-usd, --daily-tokens, "
            "--monthly-tokens, --clear (or --members for a team)"
        )
    both = [name for name in clear if values.get(name) is not None]
    if both:
        raise CliError(f"{_OPTIONS[both[0]]} is both set and cleared: choose one")
    with open_checkpointer(args.checkpointer) as saver:
        budgets = Budgets.for_checkpointer(saver)
        if members is not None:
            budgets.set_team(scope, members)
            out.write(f"members of {scope}: {', '.join(sorted(set(members)))}\n")
        if clear:
            budgets.clear_caps(scope, clear)
        if any(v is not None for v in values.values()):
            budgets.set_caps(scope, **values, by=args.by)
        out.write(f"caps of {scope}: {_caps_text(budgets.caps(scope))}\n")
    return 0


def _cell(cap: float | None, spent: float, name: str) -> tuple[str, str]:
    shown = _money_or_tokens(name, spent)
    if cap is None:
        return "no cap", shown
    return _money_or_tokens(name, cap), shown + (" REACHED" if spent >= cap else "")


def _rows(scope: str, caps: Caps | None, spend: Spend) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for period, label in (("daily", "today"), ("monthly", "this month")):
        usd, tokens = (
            _cell(getattr(caps, name, None), getattr(spend, name), name)
            for name in (f"{period}_usd", f"{period}_tokens")
        )
        rows.append((scope if period == "daily" else "", label, *usd, *tokens))
    return rows


def _show(args: argparse.Namespace, out: TextIO) -> int:
    if args.user is not None and args.team is not None:
        raise CliError("give --user or --team, not both")
    with open_existing_checkpointer(args.checkpointer) as saver:
        budgets = Budgets.for_checkpointer(saver)
        shown = budgets.show(args.user, team=args.team)
        teams = {s: budgets.store.members(s) for s, _, _ in shown if s.startswith("team:")}
    out.write(f"spend today and this month, UTC (now {datetime.now(UTC):%Y-%m-%d %H:%M})\n")
    table: list[tuple[str, ...]] = [_HEADER]
    for scope, caps, spend in shown:
        table.extend(_rows(scope, caps, spend))
    widths = [max(len(row[i]) for row in table) for i in range(len(_HEADER))]
    for row in table:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")
    for team, members in teams.items():
        out.write(f"members of {team}: {', '.join(members) or 'none declared'}\n")
    unpriced = {s.scope: s.monthly_unpriced for _, _, s in shown if s.monthly_unpriced}
    for scope, count in unpriced.items():
        out.write(
            f"note: {count} call(s) of {scope} this month had no price: their tokens count, "
            "their cost is unknown (counted as $0)\n"
        )
    return 0


def add_budget_commands(commands: Any) -> None:
    """Register ``budgets show`` and ``budgets set`` on the CLI's subparsers."""
    checkpointer_help = (
        f"checkpointer URL (default: $CHECKPOINTER_URL or {DEFAULT_CHECKPOINTER_URL})"
    )
    budgets = commands.add_parser("budgets", help="caps per user, team and project; spend")
    verbs = budgets.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("show", help="caps and spend today and this month (UTC)")
    show.add_argument("--user", help="the caps that apply to this user (own, teams, project)")
    show.add_argument("--team", help="this team's caps and the project's")
    show.add_argument("--checkpointer", help=checkpointer_help)
    show.set_defaults(run=_show)
    put = verbs.add_parser("set", help="set caps (others are kept), members, or clear caps")
    whose = put.add_mutually_exclusive_group(required=True)
    whose.add_argument("--user", help="a user's caps")
    whose.add_argument("--team", help="a team's caps (its members' calls together)")
    whose.add_argument("--project", action="store_true", help="the caps of every call")
    for name, option in _OPTIONS.items():
        unit = "whole tokens" if name.endswith("_tokens") else "US dollars"
        put.add_argument(option, dest=name, metavar="N", help=f"{name} cap ({unit}, >= 0)")
    put.add_argument("--members", metavar="A,B,C", help="a team's members (replaces them)")
    put.add_argument(
        "--clear",
        nargs="+",
        metavar="FIELD",
        choices=[option[2:] for option in _OPTIONS.values()],
        help="remove these caps: daily-usd, monthly-usd, daily-tokens, monthly-tokens",
    )
    put.add_argument("--by", default="operator", help="who sets them (recorded)")
    put.add_argument("--checkpointer", help=checkpointer_help)
    put.set_defaults(run=_set)


def run_budget_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the command `add_budget_commands` registered."""
    return int(args.run(args, out or sys.stdout))
