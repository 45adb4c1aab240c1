"""The offline demo model: deterministic keyword heuristics behind a chat-model interface.

This is **not a language model**. It lets every demo, notebook and server run work with no API
key and no network, and it behaves the same way every time:

- it picks a bound tool whose name and description share words with the user's request, reading
  tools (no declared side effects) before acting ones, each tool at most once per turn;
- it fills the tool's arguments from the request and from earlier tool results, guided by the
  tool's JSON schema (patterns, ids, numbers, enums, defaults), and skips a tool whose required
  arguments it cannot fill;
- when no further tool fits, it answers by restating what the tools returned (and any error or
  reviewer decision) in plain sentences;
- asked for structured output, it produces a value that validates against the schema.

It understands nothing. With a real model (`openai:<model>`) the same graphs reason properly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage

from models.base import OfflineChatModel
from tools.handoff import HANDOFF_PREFIX

__all__ = ["HeuristicDemoModel", "fill_from_schema"]

_STOPWORDS = frozenset(
    "a an and are as at be but by can could did do does for from get got has have how i if in "
    "into is it its me my no not of on or our out please so that the their them then there this "
    "to was we what when where which who why will with would you your yes am been being any "
    "some when while about tell know need want like just also".split()
)
_ID_TOKEN = re.compile(r"\b[A-Z]{1,4}-\d{2,}\b")
_MONEY = re.compile(
    r"(?:\$|usd\s*|eur\s*|€)\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:\$|usd|dollars|eur|euros)\b",
    re.I,
)
_NUMBER = re.compile(r"(?<![\w-])(\d+(?:\.\d+)?)(?![\w-])")
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "amount": ("amount", "total", "price"),
    "order_id": ("order_id",),
}


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z][a-z0-9]+", text.lower().replace("_", " "))
    return {w[:5] for w in words if w not in _STOPWORDS and len(w) > 2}


class HeuristicDemoModel(OfflineChatModel):
    """Offline stand-in for a chat model, driven by keyword heuristics (not an LLM).

    Example:
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def lookup_order(order_id: str) -> str:
        ...     \"\"\"Look up an order by its id.\"\"\"
        ...     return order_id
        >>> model = HeuristicDemoModel().bind_tools([lookup_order])
        >>> model.invoke("Where is my order A-1002?").tool_calls[0]["args"]
        {'order_id': 'A-1002'}
    """

    @property
    def _llm_type(self) -> str:
        return "offline-heuristic-demo"

    def _reply(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]],
        forced_tool: str | None,
        **kwargs: Any,
    ) -> AIMessage:
        turn = _current_turn(messages)
        request = turn[0].text if turn and isinstance(turn[0], HumanMessage) else ""
        results = _tool_results(turn)
        if forced_tool:
            schema = next(
                t["function"].get("parameters", {})
                for t in tools
                if t["function"]["name"] == forced_tool
            )
            context = "\n".join(m.text for m in messages if m.text and m.type != "system")
            args = fill_from_schema(schema, context, results)
            return AIMessage(
                content="",
                id=_stable_id("demo-msg", messages, forced_tool),
                tool_calls=[_tool_call(forced_tool, args, messages)],
            )
        if not _last_tool_round_failed(turn):
            for tool in _rank_tools(tools, request, turn):
                parameters = tool["function"].get("parameters", {})
                args = fill_arguments(parameters, request, results)
                if args is not None:
                    return AIMessage(
                        content="",
                        id=_stable_id("demo-msg", messages, tool["function"]["name"]),
                        tool_calls=[_tool_call(tool["function"]["name"], args, messages)],
                    )
        return AIMessage(
            content=_compose_answer(request, turn, tools),
            id=_stable_id("demo-msg", messages, "answer"),
        )


# -- choosing a tool -------------------------------------------------------------------------


def _current_turn(messages: list[BaseMessage]) -> list[BaseMessage]:
    """Messages from the latest human message on."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index:]
    return []


def _called_tools(turn: list[BaseMessage]) -> set[str]:
    return {c["name"] for m in turn if isinstance(m, AIMessage) for c in m.tool_calls}


def _tool_results(turn: list[BaseMessage]) -> list[dict[str, Any]]:
    """JSON objects returned by successful tool calls in this turn (lists flattened)."""
    found: list[dict[str, Any]] = []
    for message in turn:
        if isinstance(message, ToolMessage) and message.status != "error":
            value = _json_or_none(message.text)
            items = value if isinstance(value, list) else [value]
            found.extend(item for item in items if isinstance(item, dict))
    return found


def _last_tool_round_failed(turn: list[BaseMessage]) -> bool:
    """Whether the most recent tool results include an error or a reviewer's refusal."""
    last: list[ToolMessage] = []
    for message in reversed(turn):
        if isinstance(message, ToolMessage):
            last.append(message)
        elif last:
            break
    return any(m.status == "error" for m in last)


def _side_effects(tool: dict[str, Any]) -> bool:
    declared = tool["function"].get("side_effects")
    if declared is not None:
        return bool(declared)
    name = tool["function"]["name"].lower()
    reading = ("look", "search", "get", "fetch", "find", "list", "read", "check")
    return not name.startswith(reading)


def _rank_tools(
    tools: list[dict[str, Any]], request: str, turn: list[BaseMessage]
) -> list[dict[str, Any]]:
    """Tools worth calling for the request, reading ones first, then by word overlap."""
    wanted = _stems(request)
    called = _called_tools(turn)
    scored = []
    for position, tool in enumerate(tools):
        function = tool["function"]
        if function["name"] in called:
            continue
        overlap = len(wanted & _stems(f"{function['name']} {function.get('description', '')}"))
        if overlap:
            scored.append((_side_effects(tool), -overlap, position, tool))
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored]


# -- filling arguments -----------------------------------------------------------------------


def fill_arguments(
    parameters: dict[str, Any], request: str, results: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Arguments for a tool call, or None when a required argument cannot be found."""
    properties: dict[str, Any] = parameters.get("properties", {})
    required = set(parameters.get("required", []))
    args: dict[str, Any] = {}
    for name, spec in properties.items():
        value = _value_for(name, _resolve(spec, parameters), request, results)
        if value is not None:
            args[name] = value
        elif name in required:
            return None
    return args


def _resolve(spec: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = spec.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {})
        return dict(node)
    for key in ("anyOf", "oneOf"):
        options = [o for o in spec.get(key, []) if o.get("type") != "null"]
        if options:
            return {**_resolve(options[0], root), **{k: v for k, v in spec.items() if k != key}}
    return spec


def _from_results(name: str, results: list[dict[str, Any]]) -> Any:
    for key in _SYNONYMS.get(name, (name,)):
        for result in reversed(results):
            if key in result and result[key] is not None:
                return result[key]
    return None


def _value_for(name: str, spec: dict[str, Any], request: str, results: list[dict[str, Any]]) -> Any:
    kind = spec.get("type")
    if "enum" in spec:
        lowered = request.lower()
        return next((v for v in spec["enum"] if str(v).lower() in lowered), spec["enum"][0])
    if kind in ("number", "integer"):
        money = _MONEY.search(request)
        found: Any = None
        if money:
            found = float(money.group(1) or money.group(2))
        elif name in _SYNONYMS:
            found = _from_results(name, results)
        if found is None and "default" in spec:
            found = spec["default"]
        if found is None:
            return None
        return int(found) if kind == "integer" else float(found)
    if kind == "boolean":
        return spec.get("default", False)
    if kind == "array":
        return spec.get("default", [])
    if kind == "object":
        return spec.get("default", {})
    # strings
    pattern = spec.get("pattern")
    if pattern:
        match = re.search(pattern.strip("^$"), request)
        if match:
            return match.group(0)
        from_results = _from_results(name, results)
        return from_results if from_results is not None else spec.get("default")
    if name.endswith("id") or name.endswith("_ids"):
        match = _ID_TOKEN.search(request)
        if match:
            return match.group(0)
        from_results = _from_results(name, results)
        return from_results if from_results is not None else spec.get("default")
    text = " ".join(request.split())
    if text:
        return text[:300]
    return spec.get("default")


# -- structured output -----------------------------------------------------------------------


def fill_from_schema(
    schema: dict[str, Any], text: str, results: Iterable[dict[str, Any]] = ()
) -> Any:
    """A value that validates against a JSON schema, filled from `text` where it can be.

    Strings take the text (or an enum value it mentions), numbers the first number in the text
    within the schema's bounds, arrays one item, objects every property.
    """
    return _fill(schema, schema, text, list(results), depth=0)


def _fill(
    spec: dict[str, Any], root: dict[str, Any], text: str, results: list[dict[str, Any]], depth: int
) -> Any:
    spec = _resolve(spec, root)
    if "const" in spec:
        return spec["const"]
    if "enum" in spec:
        lowered = text.lower()
        return next((v for v in spec["enum"] if str(v).lower() in lowered), spec["enum"][0])
    kind = spec.get("type")
    if kind == "object" or "properties" in spec:
        return {
            name: _fill(sub, root, text, results, depth + 1)
            for name, sub in spec.get("properties", {}).items()
        }
    if kind == "array":
        if depth > 4:
            return []
        count = max(int(spec.get("minItems", 1)), 1)
        return [_fill(spec.get("items", {}), root, text, results, depth + 1) for _ in range(count)]
    if kind in ("number", "integer"):
        low = spec.get("minimum", spec.get("exclusiveMinimum"))
        high = spec.get("maximum", spec.get("exclusiveMaximum"))
        candidates = [float(n) for n in _NUMBER.findall(text)]
        value = next(
            (n for n in candidates if (low is None or n >= low) and (high is None or n <= high)),
            None,
        )
        if value is None:
            value = spec.get("default", low if low is not None else 0)
            if "exclusiveMinimum" in spec and value <= spec["exclusiveMinimum"]:
                value = spec["exclusiveMinimum"] + 1
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return bool(spec.get("default", False))
    if kind == "null":
        return None
    if "default" in spec and spec["default"] is not None:
        return spec["default"]
    min_length = int(spec.get("minLength", 0))
    return _first_sentence(text).ljust(min_length, ".")


def _first_sentence(text: str) -> str:
    """The first line of prose in `text`: not a label ("Order context:") nor JSON."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.endswith(":") or line[0] in '{["-':
            continue
        sentence = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
        return sentence[:160]
    return " ".join(text.split())[:160] or "n/a"


# -- answering -------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if isinstance(item, list):
                names = [i.get("name") or i.get("title") for i in item if isinstance(i, dict)]
                names = [n for n in names if n]
                if names:
                    parts.append(f"{key.replace('_', ' ')}: {', '.join(map(str, names))}")
            elif not isinstance(item, dict) and item is not None:
                parts.append(f"{key.replace('_', ' ')}: {item}")
        return "; ".join(parts[:8])
    if isinstance(value, list):
        described = [
            f"{item.get('title')}: {item.get('text')}"
            if isinstance(item, dict) and "title" in item
            else _describe(item)
            for item in value[:3]
        ]
        return " | ".join(described) if described else "nothing found"
    return str(value)


def _compose_answer(request: str, turn: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
    """Restate the turn's tool outcomes: what a person declined first, then failures, then facts."""
    names = {c["id"]: c["name"] for m in turn if isinstance(m, AIMessage) for c in m.tool_calls}
    declined, failed, facts = [], [], []
    for message in turn:
        if not isinstance(message, ToolMessage):
            continue
        name = names.get(message.tool_call_id) or message.name or "tool"
        if name.startswith(HANDOFF_PREFIX):
            continue  # a handoff acknowledgement is not a finding
        if message.text.startswith(("Rejected by", "Not run.")):
            declined.append(f"- {name}: {message.text}")
        elif message.status == "error":
            failed.append(f"- {name}: {message.text}")
        else:
            value = _json_or_none(message.text)
            facts.append(f"- {name}: {_describe(value) if value is not None else message.text}")
    sections = []
    if declined:
        sections.append(
            "A reviewer stopped part of this, so it was not done:\n" + "\n".join(declined)
        )
    if failed:
        sections.append("Some steps failed:\n" + "\n".join(failed))
    if facts:
        sections.append("What the tools returned:\n" + "\n".join(facts))
    if sections:
        return "\n\n".join(sections)
    bullets = [line.strip() for line in request.splitlines() if line.strip().startswith("- ")]
    if bullets and not tools:  # asked to write from given facts: restate them
        return "Here is where things stand:\n" + "\n".join(bullets)
    if tools and not _ID_TOKEN.search(request):
        return (
            "I am the offline demo model (keyword heuristics, not an LLM). I could not match "
            "your request to a tool I can call with what you wrote; mention an order id such "
            "as A-1001, or set OPENAI_API_KEY to use a real model."
        )
    return (
        "I am the offline demo model (keyword heuristics, not an LLM) and have nothing to add "
        "beyond what is above. Set OPENAI_API_KEY to use a real model."
    )


# -- helpers ---------------------------------------------------------------------------------


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _stable_id(prefix: str, messages: list[BaseMessage], salt: str) -> str:
    digest = hashlib.sha256()
    for message in messages:
        digest.update(message.type.encode())
        digest.update(message.text.encode())
    digest.update(salt.encode())
    return f"{prefix}-{digest.hexdigest()[:16]}"


def _tool_call(name: str, args: dict[str, Any], messages: list[BaseMessage]) -> ToolCall:
    return ToolCall(
        name=name,
        args=args,
        id=_stable_id("call", messages, name + json.dumps(args, sort_keys=True)),
        type="tool_call",
    )
