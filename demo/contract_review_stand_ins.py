"""Offline stand-ins for the contract-intake pipeline's stages on the demo model.

The demo model (`models.heuristic.HeuristicDemoModel`) is keyword heuristics, not an LLM: it
cannot read a contract. So that ``langgraph dev``, the CLI and Studio show the pipeline
offline, a run on the demo model plays these deterministic stages instead, built from the
inputs the pipeline declares for every stage (`state.pipeline.StageInputs`):

- ``extract_obligations`` calls ``find_clauses("shall, must, payment, notice")`` on the
  contract in its task, then lists the clauses it returned as obligations;
- ``assess_risks`` checks the contract's clauses against fixed risk rules (`RISK_RULES`:
  auto-renewal, one-sided liability, price increases, exit fees, subcontracting, interest)
  and lists each risk with a severity;
- ``draft_review_packet`` writes the packet: the parties, the key obligations (clauses with
  "shall"), the risks exactly as it received them (a reviewer's edit shows), and one
  question for counsel per High or Medium risk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage

from models.scripted import ScriptedChatModel

__all__ = [
    "OBLIGATION_QUERY",
    "RISK_RULES",
    "STAND_INS",
    "assess_risks",
    "clause_line",
    "clauses",
    "draft_packet",
    "extractor",
]

OBLIGATION_QUERY = "shall, must, payment, notice"
"""What the offline extractor searches the contract for."""

RISK_RULES: tuple[tuple[str, str, str], ...] = (
    ("renews automatically", "High", "auto-renewal: missing the notice window locks in a term"),
    (
        "liability is unlimited",
        "High",
        "one-sided liability: ours is unlimited, the vendor's capped",
    ),
    ("increase the fees", "Medium", "price escalation during the term"),
    ("termination fee", "Medium", "exit cost: leaving early costs a fee"),
    ("without customer's consent", "Medium", "subcontracting without our consent (data, quality)"),
    ("interest", "Low", "late-payment interest"),
)
"""(phrase in a clause, severity, the risk) — the offline risk reviewer's rules."""

_CLAUSE = re.compile(r"^\s*(\d+)\.\s+([^.]+)\.\s*(.+)$")
_RISK_LINE = re.compile(r"^- \[(High|Medium|Low)\] Clause (\d+) \(([^)]*)\): (.+)$")


def clauses(text: str) -> list[tuple[str, str, str]]:
    """The numbered clauses in `text` as ``(number, title, body)``, in order."""
    found = []
    for line in text.splitlines():
        match = _CLAUSE.match(line)
        if match:
            found.append((match.group(1), match.group(2).strip(), match.group(3).strip()))
    return found


def clause_line(clause: tuple[str, str, str]) -> str:
    """One clause as a line: ``Clause <n> (<title>): <body>``."""
    number, title, body = clause
    return f"Clause {number} ({title}): {body}"


def extractor(*, request: str, task: str, **_: Any) -> BaseChatModel:
    """The ``extract_obligations`` stand-in: search the contract, list what was found."""
    call_id = "call_" + hashlib.sha256(task.encode()).hexdigest()[:12]

    def extract(messages: list[BaseMessage]) -> AIMessage | str:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            if last.status == "error":
                return f"Could not search the contract: {last.text}"
            lines = [f"- {line}" for line in last.text.splitlines() if line.startswith("Clause")]
            return "Obligations:\n" + ("\n".join(lines) or "- none found")
        args = {"query": OBLIGATION_QUERY}
        return AIMessage("", tool_calls=[ToolCall(name="find_clauses", args=args, id=call_id)])

    return ScriptedChatModel(replies=[extract], cycle=True)


def assess_risks(request: str) -> str:
    """The offline risk review of the contract in `request`: one line per rule that matches."""
    lines = []
    for number, title, body in clauses(request):
        for phrase, severity, risk in RISK_RULES:
            if phrase in body.lower():
                lines.append(f"- [{severity}] Clause {number} ({title}): {risk}")
    order = {"High": 0, "Medium": 1, "Low": 2}
    lines.sort(key=lambda line: order[line[3 : line.index("]")]])
    return "Risks:\n" + ("\n".join(lines) or "- no risk found by the offline rules")


def _questions(risks: str) -> list[str]:
    questions = []
    for line in risks.splitlines():
        match = _RISK_LINE.match(line.strip())
        if match and match.group(1) in {"High", "Medium"}:
            number, risk = match.group(2), match.group(4)
            questions.append(f"- Clause {number}: can we negotiate this ({risk})?")
    return questions


def draft_packet(request: str, risks: str) -> str:
    """The offline review packet from the contract in `request` and the `risks` it received."""
    found = clauses(request)
    parties = next((body for _, title, body in found if title.lower() == "parties"), "unknown")
    obligations = [f"- {clause_line(c)}" for c in found if "shall" in c[2]]
    questions = _questions(risks) or ["- none: no High or Medium risk was reported"]
    return "\n".join(
        [
            "Contract review packet for the procurement manager",
            f"Parties: {parties}",
            "",
            "Key obligations:",
            *(obligations or ["- none found"]),
            "",
            risks.strip(),
            "",
            "Questions for counsel:",
            *questions,
        ]
    )


def _answering(text: str) -> BaseChatModel:
    return ScriptedChatModel(replies=[text], cycle=True)


def _risk_reviewer(*, request: str, **_: Any) -> BaseChatModel:
    """The ``assess_risks`` stand-in."""
    return _answering(assess_risks(request))


def _packet_writer(*, request: str, previous: str | None, **_: Any) -> BaseChatModel:
    """The ``draft_review_packet`` stand-in."""
    return _answering(draft_packet(request, previous or ""))


STAND_INS: dict[str, Callable[..., BaseChatModel]] = {
    "extract_obligations": extractor,
    "assess_risks": _risk_reviewer,
    "draft_review_packet": _packet_writer,
}
"""Stage name → its stand-in factory (given `state.pipeline.StageInputs`)."""
