"""Structured logs, switched on with one setting: ``AGENT_PATTERNS_LOG=off|human|json``.

Every event (`observability.events`: model and tool calls, approvals, budget stops, fallbacks,
breaker changes, nodes and runs finished, guardrail findings) becomes one line on stderr:

- ``json``: one JSON object per line, for log shippers. The seeds' fields first —
  ``timestamp``, ``action`` (the event kind), ``conversation_id`` (the thread), ``agent_id``,
  ``tool_name``, ``latency_s``, ``success`` — then ``run_id``, ``step``, ``graph_id``,
  ``user_id``, ``node`` and the kind's own fields;
- ``human``: the same facts as one readable line;
- ``off`` (the default): nothing.

Personal data is redacted from every line (`observability.redact`, with `guardrails.pii`: an
e-mail address becomes ``[email]``, a card number ``[card]``) before it is written. The graphs, the CLI and
the server install the log sink once per process at import (`observability.setup`).

Example:
    >>> from observability.events import Event
    >>> line = json_line(Event("tool_call", "2026-01-01T00:00:00.000Z",
    ...                        {"tool": "lookup", "thread_id": "t1", "success": True}))
    >>> line
    '{"timestamp": "2026-01-01T00:00:00.000Z", "action": "tool_call", "conversation_id": "t1", "tool_name": "lookup", "success": true}'
"""  # noqa: E501

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, Literal, cast, get_args

from observability.events import Event, add_sink
from observability.redact import redact_fields

__all__ = [
    "LOG_ENV",
    "LogMode",
    "human_line",
    "install_log_sink",
    "json_line",
    "log_mode",
    "log_record",
]

LOG_ENV = "AGENT_PATTERNS_LOG"
"""The environment variable that turns the structured logs on."""

LogMode = Literal["off", "human", "json"]
_MODES: tuple[str, ...] = get_args(LogMode)

_RENAMED = {
    "thread_id": "conversation_id",
    "agent": "agent_id",
    "tool": "tool_name",
}
_FIRST = ("conversation_id", "agent_id", "tool_name", "latency_s", "success")
_CONTEXT = ("run_id", "step", "graph_id", "user_id", "node")
_write_lock = threading.Lock()
_installed: dict[str, Callable[[], None]] = {}


def log_mode(environ: dict[str, str] | None = None) -> LogMode:
    """The log mode the environment asks for (default ``off``).

    Raises:
        ValueError: ``AGENT_PATTERNS_LOG`` holds something else than off, human or json.
    """
    env = os.environ if environ is None else environ
    raw = env.get(LOG_ENV, "").strip().lower() or "off"
    if raw not in _MODES:
        allowed = ", ".join(_MODES)
        raise ValueError(f"{LOG_ENV}={env.get(LOG_ENV)!r} is not one of {allowed}")
    return cast(LogMode, raw)


def log_record(event: Event) -> dict[str, Any]:
    """The event as the ordered, redacted record a log line shows (see the module docs)."""
    fields = {_RENAMED.get(key, key): value for key, value in event.fields.items()}
    record: dict[str, Any] = {"timestamp": event.at, "action": event.kind}
    for key in (*_FIRST, *_CONTEXT):
        if fields.get(key) is not None:
            record[key] = fields[key]
    for key, value in fields.items():
        if key not in record and value is not None:
            record[key] = value
    return redact_fields(record)


def json_line(event: Event) -> str:
    """One JSON object (no newline) for the event."""
    return json.dumps(log_record(event), ensure_ascii=False, default=str)


def human_line(event: Event) -> str:
    """One readable line for the event: time, action, the kind's facts, then the context."""
    record = log_record(event)
    parts = [str(record.pop("timestamp")), str(record.pop("action"))]
    if "success" in record:
        parts.append("ok" if record.pop("success") else "FAILED")
    if isinstance(record.get("latency_s"), int | float):
        parts.append(f"{record.pop('latency_s'):.3f}s")
    parts.extend(f"{key}={_short(value)}" for key, value in record.items())
    return " ".join(parts)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if " " not in text else json.dumps(text, ensure_ascii=False)


def _writer(render: Callable[[Event], str]) -> Callable[[Event], None]:
    def write(event: Event) -> None:
        line = render(event) + "\n"
        with _write_lock:
            sys.stderr.write(line)
            sys.stderr.flush()

    return write


def install_log_sink(mode: LogMode | None = None) -> Callable[[], None]:
    """Write every event to stderr in `mode` (default: ``AGENT_PATTERNS_LOG``), once.

    A second call for a mode already installed changes nothing. Returns the remover.

    Raises:
        ValueError: an invalid mode.
    """
    chosen = log_mode() if mode is None else mode
    if chosen not in _MODES:
        raise ValueError(f"log mode {chosen!r} is not one of {', '.join(_MODES)}")
    if chosen == "off":
        return lambda: None
    if chosen in _installed:
        return _installed[chosen]
    remove_sink = add_sink(_writer(json_line if chosen == "json" else human_line))

    def remove() -> None:
        remove_sink()
        _installed.pop(chosen, None)

    _installed[chosen] = remove
    return remove
