"""A tool call's outcome in the effect ledger: how it is recorded, and replayed.

A side-effecting call's outcome is recorded once (`checkpointers.ledger`), so a replayed step
returns it instead of acting twice. One plain `ToolMessage` is stored as its text and status;
anything else (Commands, several messages) as ``result_status=COMMAND_RESULT`` with the
outputs in LangChain's ``dumpd`` JSON, revived by `decode` (messages only: nothing else is
constructed). Outputs that are not JSON-safe cannot be replayed exactly and are refused.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core._api import LangChainBetaWarning
from langchain_core.load import dumpd, load
from langchain_core.messages import ToolCall, ToolMessage, convert_to_messages
from langgraph.types import Command, Send

from checkpointers.ledger import LedgerEntry
from nodes.tool_failures import error_message

__all__ = ["COMMAND_RESULT", "ToolOutput", "answers", "decode", "encode", "record", "replay"]

COMMAND_RESULT = "command"
"""The ledger's ``result_status`` for an outcome recorded as Commands (see the module docs)."""

ToolOutput = ToolMessage | Command
"""What one tool call contributes: messages, and Commands when the tool returned them."""


def answers(output: ToolOutput) -> list[ToolMessage]:
    """The tool messages an output writes into this graph's conversation."""
    if isinstance(output, ToolMessage):
        return [output]
    if output.graph == Command.PARENT or not isinstance(output.update, dict):
        return []
    messages = convert_to_messages(output.update.get("messages") or [])
    return [m for m in messages if isinstance(m, ToolMessage)]


def encode(outputs: Sequence[ToolOutput]) -> str | None:
    """A call's outputs as ledger text, or None when they cannot be replayed exactly."""
    items: list[dict[str, Any]] = []
    for output in outputs:
        if isinstance(output, ToolMessage):
            items.append({"message": output})
            continue
        goto = output.goto if isinstance(output.goto, list | tuple) else [output.goto]
        targets = [
            {"send": t.node, "arg": t.arg} if isinstance(t, Send) else {"node": t}
            for t in goto
            if t
        ]
        command = {"graph": output.graph, "update": output.update, "resume": output.resume}
        items.append({"command": {**command, "goto": targets}})
    answer = next((m.text for o in outputs for m in answers(o)), "")
    try:
        text = json.dumps(dumpd({"answer": answer, "outputs": items}), ensure_ascii=True)
        decode(text)  # something dumpd could not serialise fails here
    except Exception:  # noqa: BLE001 - not JSON-safe: not replayable
        return None
    return text


def decode(text: str) -> list[ToolOutput]:
    """The outputs `encode` recorded (messages revived; nothing else is constructed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangChainBetaWarning)
        data = load(json.loads(text), allowed_objects="messages")
    outputs: list[ToolOutput] = []
    for item in data["outputs"]:
        if "message" in item:
            outputs.append(item["message"])
            continue
        spec = item["command"]
        goto = [Send(t["send"], t["arg"]) if "send" in t else t["node"] for t in spec["goto"]]
        outputs.append(
            Command(graph=spec["graph"], update=spec["update"], resume=spec["resume"], goto=goto)
        )
    return outputs


def replay(call: ToolCall, entry: LedgerEntry) -> list[ToolOutput]:
    """The outcome a completed entry recorded, as the first run returned it."""
    if entry.result_status == COMMAND_RESULT:
        try:
            return decode(entry.result or "")
        except Exception as exc:  # noqa: BLE001 - a damaged record must not crash the run
            return [
                error_message(
                    call,
                    f"Error: {call['name']} ran, but its recorded result is "
                    f"unreadable ({type(exc).__name__}); it was not run again.",
                )
            ]
    status = "error" if entry.result_status == "error" else "success"
    text = entry.result or ""
    return [
        ToolMessage(content=text, tool_call_id=call["id"] or "", name=call["name"], status=status)
    ]


def record(call: ToolCall, outputs: list[ToolOutput]) -> tuple[list[ToolOutput], str, str]:
    """What to return and store for an outcome: (outputs, result text, result status)."""
    if len(outputs) == 1 and isinstance(outputs[0], ToolMessage):
        return outputs, outputs[0].text, outputs[0].status
    encoded = encode(outputs)
    if encoded is not None:
        return outputs, encoded, COMMAND_RESULT
    message = error_message(
        call,
        f"Error: {call['name']} ran, but the Command it returned is not JSON-safe, so it "
        "cannot be recorded for replay; its update was not applied.",
    )
    return [message], message.text, "error"
