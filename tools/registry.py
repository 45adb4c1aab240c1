"""A small tool registry: tools by name, each declaring whether it has side effects.

A tool declares its side effects in its LangChain metadata (``{"side_effects": True}``); the
``agent_tool`` decorator sets it. A tool that declares nothing is treated as side-effecting:
under the default approval policy an undeclared tool waits for a person instead of running
unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from tools.compensation import COMPENSATION_KEY, Compensation

__all__ = [
    "ToolRegistry",
    "agent_tool",
    "has_side_effects",
    "injected_args",
    "is_idempotent",
    "locked_args",
]

SIDE_EFFECTS_KEY = "side_effects"
IDEMPOTENT_KEY = "idempotent"
LOCKED_ARGS_KEY = "locked_args"
F = TypeVar("F", bound=Callable[..., Any])


def agent_tool(
    *,
    args_schema: type[BaseModel],
    side_effects: bool,
    idempotent: bool = False,
    timeout_s: float | None = None,
    name: str | None = None,
    locked_args: tuple[str, ...] = (),
    compensation: Compensation | None = None,
) -> Callable[[Callable[..., Any]], BaseTool]:
    """Turn a function into a tool whose arguments are validated by a pydantic schema.

    Args:
        args_schema: pydantic model of the arguments; the model sees its JSON schema and every
            call is validated against it before the function runs.
        side_effects: whether calling the tool changes something outside the graph (money
            moves, a ticket is filed, a message is sent). Such calls pass the approval gate
            under the default policy.
        idempotent: the tool passes `tools.idempotency.idempotency_key()` to the system it calls,
            which de-duplicates on it; such a call may safely be repeated after a crash (see
            `checkpointers.ledger`). Read-only tools are idempotent by nature.
        timeout_s: give up waiting for the tool after this many seconds (None: the tool
            node's default).
        name: tool name; defaults to the function name.
        locked_args: arguments a reviewer's edit may not change (e.g. which order a refund
            goes to: a reviewer may lower the amount, not move the money elsewhere).
        compensation: how a saga undoes this tool's effect when the run fails later
            (`tools.compensation.Compensation`); only side-effecting tools may declare one.

    Returns:
        A decorator producing a `StructuredTool`. The function's docstring is the description.
    """
    if compensation is not None and not side_effects:
        raise ValueError("only a tool with side effects can declare a compensation")

    def decorate(func: Callable[..., Any]) -> BaseTool:
        if not func.__doc__:
            raise ValueError(f"Tool {func.__name__} needs a docstring: it is the description.")
        metadata: dict[str, Any] = {
            SIDE_EFFECTS_KEY: side_effects,
            IDEMPOTENT_KEY: idempotent or not side_effects,
            "timeout_s": timeout_s,
        }
        if locked_args:
            metadata[LOCKED_ARGS_KEY] = list(locked_args)
        if compensation is not None:
            metadata[COMPENSATION_KEY] = compensation
        return StructuredTool.from_function(
            func=func,
            name=name or func.__name__,
            description=func.__doc__.strip(),
            args_schema=args_schema,
            metadata=metadata,
        )

    return decorate


def has_side_effects(tool: BaseTool | None) -> bool:
    """Whether a tool has side effects; undeclared (or unknown) tools count as having them."""
    if tool is None:
        return True
    return bool((tool.metadata or {}).get(SIDE_EFFECTS_KEY, True))


def is_idempotent(tool: BaseTool | None) -> bool:
    """Whether repeating a call of this tool cannot repeat its effect."""
    if tool is None:
        return False
    metadata = tool.metadata or {}
    return bool(metadata.get(IDEMPOTENT_KEY, not has_side_effects(tool)))


def locked_args(tool: BaseTool | None) -> list[str]:
    """Arguments of the tool that a reviewer's edit may not change."""
    if tool is None:
        return []
    return [str(name) for name in (tool.metadata or {}).get(LOCKED_ARGS_KEY) or []]


def _field_names(schema: Any) -> set[str]:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return set(schema.model_fields)
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return set(schema["properties"])
    return set()


def injected_args(tool: BaseTool | None) -> list[str]:
    """Arguments the graph supplies at call time, never the model nor a reviewer.

    They are the tool's input fields its model-facing schema (``tool_call_schema``) leaves
    out: ``Annotated[..., InjectedState]``, ``InjectedStore()``, ``ToolRuntime``,
    ``InjectedToolCallId``. The tool node injects them (LangGraph's `ToolNode` does the
    injection and drops any value a call carries for them); an edit may not set them.

    Example:
        >>> from typing import Annotated
        >>> from langchain_core.tools import tool
        >>> from langgraph.prebuilt import InjectedState
        >>> @tool
        ... def count_messages(prefix: str, state: Annotated[dict, InjectedState]) -> str:
        ...     \"\"\"Count the conversation's messages.\"\"\"
        ...     return f"{prefix}{len(state['messages'])}"
        >>> injected_args(count_messages)
        ['state']
    """
    if tool is None:
        return []
    return sorted(_field_names(tool.get_input_schema()) - _field_names(tool.tool_call_schema))


class ToolRegistry:
    """Tools by name.

    Example:
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def send_invoice(order_id: str) -> str:
        ...     \"\"\"Send the invoice of an order.\"\"\"
        ...     return order_id
        >>> @tool
        ... def read_invoice(order_id: str) -> str:
        ...     \"\"\"Read the invoice of an order.\"\"\"
        ...     return order_id
        >>> send_invoice.metadata = {"side_effects": True}
        >>> read_invoice.metadata = {"side_effects": False}
        >>> registry = ToolRegistry([send_invoice, read_invoice])
        >>> [t.name for t in registry.side_effecting()], registry.names()
        (['send_invoice'], ['send_invoice', 'read_invoice'])
    """

    def __init__(self, tools: Iterable[BaseTool] = ()) -> None:
        self._tools: dict[str, BaseTool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: BaseTool) -> BaseTool:
        """Add a tool; a second tool with the same name is an error, not a silent override."""
        if not isinstance(tool, BaseTool):
            raise TypeError(f"Expected a LangChain BaseTool, got {type(tool).__name__}")
        if tool.name in self._tools:
            raise ValueError(f"A tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        return tool

    def get(self, name: str) -> BaseTool | None:
        """The tool with that name, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Registered tool names, in registration order."""
        return list(self._tools)

    def side_effecting(self) -> list[BaseTool]:
        """Tools that need approval under the default policy."""
        return [t for t in self._tools.values() if has_side_effects(t)]

    def read_only(self) -> list[BaseTool]:
        """Tools that only read."""
        return [t for t in self._tools.values() if not has_side_effects(t)]

    def __iter__(self) -> Iterator[BaseTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools
