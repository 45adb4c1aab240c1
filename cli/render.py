"""Turning graph stream events into lines a person can follow in a terminal."""

from __future__ import annotations

import json
import textwrap
from typing import Any, TextIO

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langgraph.types import StreamMode

__all__ = ["STREAM_MODES", "StepPrinter", "describe_interrupt"]

STREAM_MODES: list[StreamMode] = ["updates", "messages", "tasks"]
"""What `StepPrinter` reads: node updates, model tokens, and task starts (to name plan steps)."""


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pretty_args(args: Any) -> list[str]:
    """Arguments on one line when short, else indented JSON (a plan is long)."""
    flat = json.dumps(args, ensure_ascii=False)
    if len(flat) <= 100:
        return [f"  args:   {flat}"]
    nested = json.dumps(args, ensure_ascii=False, indent=2).splitlines()
    return ["  args:", *(f"    {line}" for line in nested)]


def describe_interrupt(value: Any) -> str:
    """The whole approval request (Agent Inbox payload), readably: action, args, evidence.

    The description is everything the gate shows a reviewer (what the call does, the
    pattern's note: a model's recommendation, the policy's reasons), wrapped and indented.
    """
    requests = value if isinstance(value, list) else [value]
    lines = []
    for request in requests:
        if isinstance(request, dict) and "action_request" in request:
            action = request["action_request"]
            lines.append(f"  action: {action['action']}")
            lines.extend(_pretty_args(action["args"]))
            for paragraph in str(request.get("description", "")).split("\n\n")[1:]:
                for line in paragraph.splitlines():
                    wrapped = textwrap.wrap(line, width=96) or [""]
                    lines.extend(f"  {part}" for part in wrapped)
        else:
            lines.append(f"  {_short(request, 400)}")
    return "\n".join(lines)


class StepPrinter:
    """Print `stream_mode=["updates", "messages"]` events (sub-agents included) as they arrive."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._streaming: tuple[str, ...] | None = None
        self._inner: set[str] = set()
        self._names: dict[str, str] = {}
        self._shown: set[str] = set()  # ids of messages whose text is on the screen
        self._interrupts: set[str] = set()  # interrupts already shown

    def showed(self, message: BaseMessage) -> bool:
        """Whether `message`'s text was already printed (streamed, or shown in an update)."""
        return bool(message.id) and message.id in self._shown

    def _end_text(self) -> None:
        if self._streaming is not None:
            self.out.write("\n")
            self._streaming = None

    def _remember_task(self, task: dict[str, Any]) -> None:
        """Name a plan step's task after its step: ``execute_step[resize]``."""
        args = task.get("input")
        first = args[0][0] if isinstance(args, tuple) and args and args[0] else None
        step = first.get("step") if isinstance(first, dict) else None
        if isinstance(step, dict) and "id" in step:
            self._names[f"{task['name']}:{task['id']}"] = f"{task['name']}[{step['id']}]"

    def on_event(self, mode: str, payload: Any, namespace: tuple[str, ...] = ()) -> None:
        """Handle one event from `graph.stream` (with `subgraphs=True`, pass its namespace).

        Steps inside a sub-agent are labelled with its path (``billing/run_tools``); the parent's
        summary update for that sub-agent is then not repeated, and an interrupt is shown once.
        """
        path = [self._names.get(part, part.split(":", 1)[0]) for part in namespace]
        if path:
            self._inner.add(path[0])
        if mode == "tasks":
            if isinstance(payload, dict) and "input" in payload:
                self._remember_task(payload)
            return
        if mode == "messages":
            chunk, metadata = payload
            if isinstance(chunk, AIMessageChunk) and chunk.text:
                source = (*namespace, metadata.get("langgraph_node", "model"))
                if self._streaming != source:  # concurrent steps: one labelled line each
                    self._end_text()
                    label = "/".join([*path, metadata.get("langgraph_node", "model")])
                    self.out.write(f"[{label}] answer: ")
                    self._streaming = source
                self.out.write(chunk.text)
                self.out.flush()
                if chunk.id:
                    self._shown.add(chunk.id)
            return
        if mode != "updates":
            return
        for node, update in payload.items():
            if node == "__interrupt__":
                self._show_interrupts(path, update)
                continue
            self._end_text()
            if not path and node in self._inner:
                self.out.write(f"[{node}] done\n")
                continue
            step = (update or {}).get("step") if isinstance(update, dict) else None
            label = "/".join([*path, f"{node}[{step}]" if isinstance(step, str) else node])
            for line in self._describe_update(node, update or {}):
                self.out.write(f"[{label}] {line}\n")
        self.out.flush()

    def _show_interrupts(self, path: list[str], interrupts: Any) -> None:
        """Each waiting request once, labelled with the agent it waits in (``billing/...``)."""
        self._end_text()
        label = "/".join([*path, "approval_gate"])
        for item in interrupts:
            if item.id in self._interrupts:
                continue  # a sub-agent's interrupt reaches the top-level thread too
            self._interrupts.add(item.id)
            self.out.write(f"[{label}] waiting for a person (interrupt {item.id})\n")
            self.out.write(describe_interrupt(item.value) + "\n")

    def _describe_update(self, node: str, update: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for message in update.get("messages", []):
            lines.extend(self._describe_message(message))
        for record in update.get("approvals", []):
            who = record.get("reviewer")
            reason = f" ({record['reason']})" if record.get("reason") else ""
            lines.append(f"{record['decision']} by {who}{reason}: {record['action']}")
        lines.extend(_describe_pattern_fields(update))
        return lines or ["done"]

    def _describe_message(self, message: BaseMessage) -> list[str]:
        if isinstance(message, AIMessage) and message.tool_calls:
            return [f"calls {c['name']}({_short(c['args'])})" for c in message.tool_calls]
        if isinstance(message, ToolMessage):
            status = "error" if message.status == "error" else "result"
            return [f"{message.name or 'tool'} {status}: {_short(message.text)}"]
        if isinstance(message, AIMessage):
            if not message.text:
                return ["(empty reply)"]
            if self.showed(message):
                return ["answered (streamed above)"]
            if message.id:
                self._shown.add(message.id)
            return ["answered:", *(f"  {line}" for line in message.text.splitlines())]
        return [_short(message.text)]


def _describe_pattern_fields(update: dict[str, Any]) -> list[str]:
    """Lines for the state the patterns add: step outcomes, memories, routes, handoffs..."""
    lines = []
    result = update.get("result")
    if isinstance(result, dict) and "status" in result:  # a plan step's outcome
        detail = result.get("error") or result.get("output") or ""
        lines.append(f"{result['status']}" + (f": {_short(detail)}" if detail else ""))
    verdicts = update.get("verdicts")
    if isinstance(verdicts, list) and verdicts:  # critique: the judge's latest verdict
        verdict = verdicts[-1]
        judged = "passed" if verdict.get("passed") else "not passed"
        lines.append(
            f"round {verdict.get('round')}: score {float(verdict.get('score', 0)):.2f}, {judged}"
        )
        lines.extend(f"  issue: {_short(issue)}" for issue in verdict.get("issues", []))
    evaluations = update.get("evaluations")
    if isinstance(evaluations, list) and evaluations:  # reflexion: the latest test run
        latest = evaluations[-1]
        lines.append(f"attempt {latest.get('trial')}: {_short(latest.get('summary', ''), 300)}")
    recalled = update.get("recalled_memories")
    if recalled is not None:
        texts = [str(m.get("text")) for m in recalled]
        noun = "memory" if len(texts) == 1 else "memories"
        lines.append(f"recalled {len(texts)} {noun}" + (f": {'; '.join(texts)}" if texts else ""))
    for record in update.get("remembered", []):
        if record.get("status") == "stored":
            lines.append(f"remembered: {record.get('text')}")
        else:
            lines.append(f"could not extract facts: {_short(record.get('error', ''))}")
    route = update.get("route")
    if isinstance(route, dict) and route.get("routed_to"):
        lines.append(
            f"routed to {route['routed_to']} ({route.get('strategy')}, "
            f"confidence {float(route.get('confidence') or 0):.2f})"
        )
    for handoff in update.get("handoffs", []):
        lines.append(f"handoff {handoff.get('from')} -> {handoff.get('to')}")
    for delegation in update.get("delegations", []):
        lines.append(
            f"delegated to {delegation.get('worker')}: {_short(delegation.get('task', ''))}"
        )
    return lines
