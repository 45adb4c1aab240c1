"""The offline demo model: deterministic keyword heuristics behind a chat-model interface.

This is **not a language model**. It lets every demo, notebook and server run work with no API
key and no network, and it behaves the same way every time:

- it reads what the request asks for through a small synonym table
  (`models.heuristic_intents`: "money back" is a refund, "it broke" a faulty product, "where
  is" a look-up, "raise a case" a support ticket, "charged twice" billing);
- in a swarm it first decides whether a peer's ``transfer_to_<agent>`` handoff fits the request
  better than its own tools (`models.heuristic_handoff`);
- it picks a bound tool whose name and description share words or concepts with the request,
  reading tools (no declared side effects) before acting ones, each tool at most once per turn;
  an acting tool only when the request names what it does (a refund for ``issue_refund``);
- it fills the tool's arguments from the request and from earlier tool results, guided by the
  tool's JSON schema: ids in any common form (``A-1001``, ``a1001``, ``#1001``, ``order 1001``)
  are normalised to the schema's pattern (`models.heuristic_ids`), and a tool whose required
  arguments it cannot fill is skipped;
- when no further tool fits, it answers by restating what the tools returned, what failed, what
  it could not do and what it would need for it, the knowledge-base passages in its system
  prompt that the request is about (quoted with their citations) and the recalled memories
  the request is about (`models.heuristic_answer`, `models.heuristic_knowledge`,
  `models.heuristic_memory`);
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
from models.heuristic_answer import Outcome, compose_answer, json_or_none
from models.heuristic_handoff import choose_handoff, is_handoff, name_stems, side_effects
from models.heuristic_ids import find_id, id_like
from models.heuristic_intents import concepts, stems
from models.heuristic_knowledge import knowledge_passages, quoted_passages
from models.heuristic_memory import recalled_memories, relevant_memories

__all__ = ["HeuristicDemoModel", "fill_from_schema"]

_MONEY = re.compile(
    r"(?:\$|usd\s*|eur\s*|€)\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:\$|usd|dollars|eur|euros)\b",
    re.I,
)
_NUMBER = re.compile(r"(?<![\w-])(\d+(?:\.\d+)?)(?![\w-])")
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "amount": ("amount", "total", "price"),
    "order_id": ("order_id",),
}


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
        failed = _last_tool_round_failed(turn)
        chosen = None if failed else _next_call(tools, request, turn, results)
        if chosen is not None:
            name, args = chosen
            return AIMessage(
                content="",
                id=_stable_id("demo-msg", messages, name),
                tool_calls=[_tool_call(name, args, messages)],
            )
        outcome = _outcome(messages, tools, request, turn, results, failed=failed)
        return AIMessage(
            content=compose_answer(request, turn, outcome),
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
            value = json_or_none(message.text)
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


def _next_call(
    tools: list[dict[str, Any]],
    request: str,
    turn: list[BaseMessage],
    results: list[dict[str, Any]],
) -> tuple[str, dict[str, Any]] | None:
    """The next tool call: a handoff when a peer fits better, else the best fillable tool."""
    handoff = choose_handoff(tools, request, turn)
    if handoff is not None:
        args = fill_arguments(handoff["function"].get("parameters", {}), request, results)
        return handoff["function"]["name"], args or {}
    for tool in _rank_tools(tools, request, turn):
        args = fill_arguments(tool["function"].get("parameters", {}), request, results)
        if args is not None:
            return tool["function"]["name"], args
    return None


def _request_concepts(tools: list[dict[str, Any]], request: str) -> set[str]:
    """The request's concepts, plus the entity of every id it holds ("A-1001" is an order)."""
    wanted = concepts(request)
    for tool in tools:
        parameters = tool["function"].get("parameters", {})
        for name, spec in parameters.get("properties", {}).items():
            spec = _resolve(spec, parameters)
            if spec.get("pattern") and id_like(name, spec) and find_id(spec, request):
                wanted |= stems(name) - {"id"}
    return wanted


def _rank_tools(
    tools: list[dict[str, Any]], request: str, turn: list[BaseMessage]
) -> list[dict[str, Any]]:
    """Tools worth calling for the request, reading ones first, then by word overlap.

    An acting tool counts only when the request names what it does (its name's words, through
    the synonym table): a question about an order never triggers a refund by accident.
    """
    wanted, literal = _request_concepts(tools, request), stems(request)
    called = _called_tools(turn)
    scored = []
    for position, tool in enumerate(tools):
        function = tool["function"]
        if function["name"] in called or is_handoff(tool):
            continue
        acting = side_effects(tool)
        if acting and not wanted & name_stems(tool):
            continue
        parameters = function.get("parameters", {})
        words = wanted if _takes_structured(parameters) else literal
        overlap = len(words & stems(f"{function['name']} {function.get('description', '')}"))
        if overlap:
            specific = _fills_id_from(parameters, request)
            scored.append((acting, not specific, -overlap, position, tool))
    scored.sort(key=lambda item: item[:4])
    return [item[4] for item in scored]


def _takes_structured(parameters: dict[str, Any]) -> bool:
    """Whether a tool needs more than free text (an id, a number, a choice).

    Free-text tools (a search) would fit any request, so they match on its own words only.
    """
    properties = parameters.get("properties", {})
    for name in parameters.get("required", []):
        spec = _resolve(properties.get(name, {}), parameters)
        if spec.get("type", "string") != "string" or id_like(name, spec) or "enum" in spec:
            return True
    return False


def _fills_id_from(parameters: dict[str, Any], request: str) -> bool:
    """Whether one of the tool's id arguments is written in the request itself."""
    for name, spec in parameters.get("properties", {}).items():
        spec = _resolve(spec, parameters)
        if spec.get("type", "string") == "string" and id_like(name, spec):
            if find_id(spec, request):
                return True
    return False


def _outcome(
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    request: str,
    turn: list[BaseMessage],
    results: list[dict[str, Any]],
    *,
    failed: bool,
) -> Outcome:
    """What the answer must say besides the tool results: gaps, stops and memories."""
    outcome = Outcome(tool_names=[t["function"]["name"] for t in tools if not is_handoff(t)])
    for tool in _rank_tools(tools, request, turn):
        parameters = tool["function"].get("parameters", {})
        if failed:
            outcome.stopped.append(tool["function"]["name"])
        elif missing := missing_arguments(parameters, request, results):
            outcome.missing[tool["function"]["name"]] = missing
    outcome.memories = relevant_memories(request, recalled_memories(messages))
    outcome.knowledge = quoted_passages(request, knowledge_passages(messages))
    return outcome


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


def missing_arguments(
    parameters: dict[str, Any], request: str, results: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """The required arguments `fill_arguments` cannot find, as ``(name, description)``."""
    properties: dict[str, Any] = parameters.get("properties", {})
    missing = []
    for name in parameters.get("required", []):
        spec = _resolve(properties.get(name, {}), parameters)
        if _value_for(name, spec, request, results) is None:
            missing.append((name, str(spec.get("description") or "")))
    return missing


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


def _number_for(
    name: str, spec: dict[str, Any], request: str, results: list[dict[str, Any]]
) -> Any:
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
    return int(found) if spec.get("type") == "integer" else float(found)


def _value_for(name: str, spec: dict[str, Any], request: str, results: list[dict[str, Any]]) -> Any:
    kind = spec.get("type")
    if "enum" in spec:
        lowered = request.lower()
        return next((v for v in spec["enum"] if str(v).lower() in lowered), spec["enum"][0])
    if kind in ("number", "integer"):
        return _number_for(name, spec, request, results)
    if kind == "boolean":
        return spec.get("default", False)
    if kind == "array":
        return spec.get("default", [])
    if kind == "object":
        return spec.get("default", {})
    # strings
    if id_like(name, spec):
        found = find_id(spec, request)
        if found is not None:
            return found
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


# -- helpers ---------------------------------------------------------------------------------


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
