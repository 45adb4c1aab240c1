"""An offline stand-in for a parallel branch: call every tool, report what they said.

On the demo model (keyword heuristics, not an LLM) a branch built from a spec plays the
stand-in registered for its role (`state.parallel.branch_role`). A scenario registers this one
for its investigating branches (`demo.incident` does for its three specialists): given the
branch's declared inputs (`state.parallel.BranchInputs`), it calls
each of the branch's tools once with no arguments (read-only investigation tools with
defaults, like the incident specialists' in `demo.incident`), then answers with what they
returned. A branch without tools answers that it has nothing to investigate with.
Deterministic: the call ids derive from the branch and the tool names, so a resumed run
repeats exactly what an uninterrupted one does.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool

from models.scripted import ScriptedChatModel

__all__ = ["tool_caller_model"]


def _call_id(branch: str, tool: str) -> str:
    return "call_" + hashlib.sha256(f"{branch}/{tool}".encode()).hexdigest()[:12]


def _report(branch: str, messages: Sequence[BaseMessage]) -> str:
    """The branch's answer: each tool's result since the request, in call order."""
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
    results = [m for m in messages[start:] if isinstance(m, ToolMessage)]
    lines = [f"{branch} findings:"]
    lines += [f"- {m.name}: {m.text}" for m in results]
    return "\n".join(lines)


def tool_caller_model(
    *, branch: str, tools: Sequence[BaseTool], delay_s: float = 0.0, **_: Any
) -> ScriptedChatModel:
    """A branch's offline model: call each tool once without arguments, then report.

    Args:
        branch: the branch's name (part of the call ids and the answer's heading).
        tools: the branch's tools.
        delay_s: seconds to sleep on every call, to simulate model latency (benchmarks).
    """

    def play(messages: list[BaseMessage]) -> AIMessage | str:
        if delay_s:
            time.sleep(delay_s)
        if isinstance(messages[-1], ToolMessage):
            return _report(branch, messages)
        if not tools:
            return f"{branch}: no tools to investigate with, so no findings."
        calls = [ToolCall(name=t.name, args={}, id=_call_id(branch, t.name)) for t in tools]
        return AIMessage(content="", tool_calls=calls)

    return ScriptedChatModel(replies=[play], cycle=True)
