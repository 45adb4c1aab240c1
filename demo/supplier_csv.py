"""The loop pattern's supplier-CSV scenario: a messy sample, tools and offline stand-ins.

"Profile this supplier CSV sample and propose a cleaning plan." The request carries the sample
(`SAMPLE_CSV`, in `SUPPLIER_REQUEST`). The body (`csv_repair_body`) profiles it with two
read-only tools that take the sample's text: `column_stats` (per column: empty, padded,
lower-case, non-numeric or negative, badly formed values) and `invalid_rows` (row-level rules:
repeated ``supplier_id``, dates not in ISO 8601). A judge checks the plan against every problem
the sample really has (`find_problems`).

Offline, on the demo model (keyword heuristics, not an LLM), both roles are played by the
stand-ins here, registered by role (`register_stand_ins`, which the served graph's wiring
calls), from their declared inputs (`state.loop.BodyInputs`, `state.loop.JudgeInputs`), never
from the prompt's text:

- the body's first round runs only `column_stats` (a quick profile) and proposes fixes for what
  it shows; once the judge names remaining issues, it also runs `invalid_rows` and adds those
  fixes. So the default request fails round 1 (duplicates and dates missing) and passes round 2;
- the judge passes a plan when it addresses every problem `find_problems` finds (each problem
  has a keyword the plan must mention); each remaining issue names the rows concerned.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from models.offline import register_offline
from models.scripted import ScriptedChatModel
from state.agent_spec import AgentSpec
from state.loop import LoopVerdict, body_role, judge_role
from tools.registry import agent_tool

__all__ = [
    "BODY_INSTRUCTIONS",
    "BODY_NAME",
    "SAMPLE_CSV",
    "SUPPLIER_REQUEST",
    "Problem",
    "column_stats",
    "csv_repair_body",
    "demo_body",
    "demo_judge",
    "extract_csv",
    "find_problems",
    "invalid_rows",
    "register_stand_ins",
    "review_plan",
    "supplier_tools",
]

SAMPLE_CSV = """\
supplier_id,supplier_name,country,email,unit_price,last_delivery
S-101,Acme Metals,DE,orders@acme.example,12.50,2024-03-01
S-102, Borealis Parts ,se,sales@borealis.example,8.00,2024-03-04
S-103,Cobalt & Co,FR,,15.75,05/03/2024
S-104,Delta Fasteners,IT,info@delta.example,-3.20,2024-03-06
S-102, Borealis Parts ,se,sales@borealis.example,8.00,2024-03-04
S-105,Eagle Supply,de,contact(at)eagle.example,n/a,2024-03-08
S-106,Fjord Tools,NO,hello@fjord.example,22.00,09/03/2024
"""
"""A messy supplier sample: padded names, lower-case countries, a missing and a malformed
e-mail, a negative and a non-numeric price, a repeated supplier and two non-ISO dates."""

SUPPLIER_REQUEST = (
    "Our supplier master-data import keeps rejecting rows. Profile this supplier CSV sample "
    "and propose a cleaning plan:\n\n" + SAMPLE_CSV
)

BODY_INSTRUCTIONS = (
    "You are a data-quality analyst. Profile the CSV sample in the request with your tools "
    "(pass the sample's text, header included), then propose a numbered cleaning plan: one "
    "step per problem, naming the column, the rows and the exact fix. When you get a previous "
    "plan and remaining issues, return the complete revised plan fixing every issue."
)

BODY_NAME = "csv_profiler"
"""The body's name; its offline stand-in plays ``loop.body.csv_profiler`` only."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SampleArgs(BaseModel):
    """Arguments of the profiling tools."""

    sample: str = Field(min_length=1, description="The CSV sample's text, header line first.")


def _rows(sample: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(sample.strip())))


def _price_problem(value: str) -> str | None:
    try:
        return "negative" if float(value) < 0 else None
    except ValueError:
        return "non-numeric"


def _column_report(rows: list[dict[str, str]], column: str) -> dict[str, Any]:
    """What is wrong with one column's values (row numbers count data rows from 1)."""
    values = [(n, (row.get(column) or "")) for n, row in enumerate(rows, start=1)]
    report: dict[str, Any] = {
        "empty": [n for n, v in values if not v.strip()],
        "padded": [n for n, v in values if v and v != v.strip()],
        "distinct": len({v.strip() for _, v in values}),
    }
    if column == "country":
        report["lower_case"] = [n for n, v in values if v.strip() and v.strip() != v.upper()]
    if column == "email":
        report["malformed"] = [n for n, v in values if v.strip() and not _EMAIL.match(v.strip())]
    if column == "unit_price":
        report["bad_price"] = {n: p for n, v in values if (p := _price_problem(v.strip()))}
    return report


@agent_tool(args_schema=SampleArgs, side_effects=False)
def column_stats(sample: str) -> dict[str, Any]:
    """Per-column profile of a CSV sample: empty, padded, lower-case and malformed values."""
    rows = _rows(sample)
    columns = list(rows[0]) if rows else []
    return {"rows": len(rows), "columns": {c: _column_report(rows, c) for c in columns}}


@agent_tool(args_schema=SampleArgs, side_effects=False)
def invalid_rows(sample: str) -> dict[str, Any]:
    """Rows of a CSV sample that break row-level rules: repeated supplier_id, non-ISO dates."""
    rows, found = _rows(sample), []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        key = (row.get("supplier_id") or "").strip()
        if key in seen:
            found.append({"row": number, "rule": "duplicate", "first": seen[key], "id": key})
        seen.setdefault(key, number)
        date = (row.get("last_delivery") or "").strip()
        if date and not _ISO_DATE.match(date):
            found.append({"row": number, "rule": "date", "value": date})
    return {"rows": len(rows), "invalid": found}


@dataclass(frozen=True)
class Problem:
    """A data-quality problem of a sample, the fix a plan needs and how the judge spots it.

    Attributes:
        key: short name.
        found_by: the tool that reveals it.
        keyword: what a plan addressing it must mention (lower case).
        issue: the judge's remaining issue when a plan misses it.
        fix: the plan step that addresses it.
    """

    key: str
    found_by: str
    keyword: str
    issue: str
    fix: str


def _rows_text(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _column_problems(columns: dict[str, Any]) -> list[Problem]:
    found = []
    padded = columns.get("supplier_name", {}).get("padded", [])
    if padded:
        rows = _rows_text(padded)
        found.append(
            Problem(
                "padding",
                "column_stats",
                "trim",
                f"supplier_name has surrounding spaces (rows {rows}).",
                f"Trim surrounding spaces from supplier_name (rows {rows}).",
            )
        )
    lower = columns.get("country", {}).get("lower_case", [])
    if lower:
        rows = _rows_text(lower)
        found.append(
            Problem(
                "country",
                "column_stats",
                "upper-case",
                f"country codes are not upper-case (rows {rows}).",
                f"Upper-case the ISO country codes (rows {rows}).",
            )
        )
    email = columns.get("email", {})
    bad = sorted([*email.get("empty", []), *email.get("malformed", [])])
    if bad:
        rows = _rows_text(bad)
        found.append(
            Problem(
                "email",
                "column_stats",
                "email",
                f"email is missing or malformed (rows {rows}).",
                f"Fix or request the missing/malformed email (rows {rows}); "
                "quarantine the row until it is valid.",
            )
        )
    prices = columns.get("unit_price", {}).get("bad_price", {})
    if prices:
        rows = _rows_text(sorted(prices))
        found.append(
            Problem(
                "price",
                "column_stats",
                "unit_price",
                f"unit_price is negative or non-numeric (rows {rows}).",
                f"Reject rows whose unit_price is negative or "
                f"non-numeric (rows {rows}) and ask the supplier for the price.",
            )
        )
    return found


def _row_problems(invalid: list[dict[str, Any]]) -> list[Problem]:
    found = []
    duplicates = [r for r in invalid if r["rule"] == "duplicate"]
    if duplicates:
        rows = "; ".join(
            f"row {r['row']} repeats {r['id']} of row {r['first']}" for r in duplicates
        )
        found.append(
            Problem(
                "duplicates",
                "invalid_rows",
                "duplicate",
                f"duplicate suppliers: {rows}.",
                f"Drop duplicate rows by supplier_id, keeping the first ({rows}).",
            )
        )
    dates = [r for r in invalid if r["rule"] == "date"]
    if dates:
        rows = _rows_text([r["row"] for r in dates])
        found.append(
            Problem(
                "dates",
                "invalid_rows",
                "iso 8601",
                f"last_delivery is not ISO 8601 (rows {rows}).",
                f"Convert last_delivery from DD/MM/YYYY to ISO 8601 (YYYY-MM-DD) (rows {rows}).",
            )
        )
    return found


def find_problems(sample: str) -> list[Problem]:
    """Every problem of the sample the two tools reveal, column problems first."""
    if not sample.strip():
        return []
    stats = column_stats.invoke({"sample": sample})
    rows = invalid_rows.invoke({"sample": sample})
    return [*_column_problems(stats["columns"]), *_row_problems(rows["invalid"])]


def extract_csv(request: str) -> str:
    """The CSV sample in a request: the first block of lines with at least two commas."""
    block: list[str] = []
    for line in request.splitlines():
        if line.count(",") >= 2:
            block.append(line)
        elif block:
            break
    return "\n".join(block) + "\n" if len(block) >= 2 else ""


def review_plan(request: str, plan: str) -> LoopVerdict:
    """The judge's verdict: the plan must address every problem of the request's sample."""
    sample = extract_csv(request)
    if not sample:
        return LoopVerdict(passes=True, reason="the request carries no CSV sample to check")
    missing = [p for p in find_problems(sample) if p.keyword not in plan.lower()]
    if not missing:
        return LoopVerdict(passes=True, reason="the plan addresses every problem in the sample")
    reason = f"the plan misses {len(missing)} problem(s) of the sample"
    return LoopVerdict(passes=False, reason=reason, remaining_issues=[p.issue for p in missing])


def csv_repair_body() -> AgentSpec:
    """The body of the served loop: a tool agent profiling the sample and proposing a plan."""
    return AgentSpec(
        BODY_NAME,
        "Profiles a supplier CSV sample and proposes a cleaning plan.",
        instructions=BODY_INSTRUCTIONS,
        tools=[column_stats, invalid_rows],
    )


def _plan_text(sample: str, tools_run: Sequence[str]) -> str:
    problems = [p for p in find_problems(sample) if p.found_by in tools_run]
    steps = [f"{n}. {p.fix}" for n, p in enumerate(problems, start=1)]
    steps.append(f"{len(steps) + 1}. Re-run the profile on the cleaned file before the import.")
    return "Cleaning plan for the supplier sample:\n" + "\n".join(steps)


def demo_body(
    *, request: str = "", round: int = 1, issues: Sequence[str] = (), **_: Any
) -> ScriptedChatModel:
    """The body: profile (`invalid_rows` too once issues come back), then write the plan.

    The plan has one step per problem the tools it ran reveal, in `find_problems`'s order.

    Args:
        request: the request carrying the sample (`state.loop.BodyInputs`).
        round: the round's number (part of the tool calls' ids).
        issues: the judge's remaining issues; any makes the body run `invalid_rows` too.
        **_: other inputs, ignored.
    """
    sample = extract_csv(request)
    wanted = ["column_stats", "invalid_rows"] if issues else ["column_stats"]

    def play(messages: list[BaseMessage]) -> AIMessage | str:
        if not sample:
            return "No CSV sample found in the request: paste the rows, header line first."
        done = [m.name or "" for m in messages if isinstance(m, ToolMessage)]
        pending = [tool for tool in wanted if tool not in done]
        if not pending:
            return _plan_text(sample, done)
        seed = json.dumps({"round": round, "tool": pending[0], "sample": sample})
        call_id = "call_" + hashlib.sha256(seed.encode()).hexdigest()[:12]
        call = ToolCall(name=pending[0], args={"sample": sample}, id=call_id)
        return AIMessage(content="", tool_calls=[call])

    return ScriptedChatModel(replies=[play], cycle=True)


def demo_judge(*, request: str = "", output: str = "", **_: Any) -> ScriptedChatModel:
    """The judge: `review_plan` of `output` against the request's sample, as a `LoopVerdict`.

    Args:
        request: the request carrying the sample (`state.loop.JudgeInputs`).
        output: the plan to check.
        **_: other inputs, ignored.
    """
    return ScriptedChatModel(replies=[review_plan(request, output)], cycle=True)


def supplier_tools() -> list[BaseTool]:
    """The scenario's read-only profiling tools."""
    return [column_stats, invalid_rows]


def register_stand_ins() -> None:
    """Register the body and the judge as the loop's offline stand-ins (by role)."""
    register_offline(body_role(BODY_NAME), demo_body)
    register_offline(judge_role(BODY_NAME), demo_judge)
