"""`AgentSpec`: one description of an agent for every multi-agent pattern.

Router, supervisor and swarm (and the patterns to come) take their members as a list of
`AgentSpec`, always as the first argument: ``build_<pattern>_graph(agents, *, model=None,
...)``. A spec either describes a tool-calling agent the pattern builds (instructions, tools,
optionally its own model) or hands over a compiled graph that brings its own prompt, tools and
model. What a pattern needs beyond the spec (a router's rules and examples) is passed to that
pattern separately, so one spec serves every pattern.

Example:
    >>> spec = AgentSpec("billing", "refunds and invoices", instructions="You handle money.")
    >>> spec.name, spec.tools, spec.graph is None
    ('billing', (), True)
    >>> AgentSpec("not a name", "x")
    Traceback (most recent call last):
    ...
    ValueError: AgentSpec name 'not a name' must be a Python identifier (letters, digits, _)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.pregel import Pregel

from state.shared_memory import SHARED_MEMORY_MODES, SharedMemoryMode

__all__ = ["AgentSpec", "check_agent_names"]


@dataclass(frozen=True)
class AgentSpec:
    """An agent of a multi-agent pattern.

    Attributes:
        name: node name, handoff / delegation target and the name its replies carry;
            letters, digits and ``_``.
        description: what it handles, in a sentence: the model that routes, delegates or
            hands off reads it when choosing this agent.
        instructions: its system prompt (in place of ``context.system_prompt``); empty keeps
            the run's ``context.system_prompt``.
        tools: the tools of its ReAct loop; side-effecting ones pass its approval gate.
        model: its chat model; None uses the pattern's model (or the run's
            ``context.model``).
        graph: a compiled graph taking ``{"messages": [...]}`` to use as this agent instead of
            building one; it brings its own prompt, tools and model, so those must be empty.
            Compile it without a checkpointer: it checkpoints into the parent's thread.
        shared_memory: what the agent does with the team's shared memory in patterns that
            have one (supervisor, swarm; `nodes.shared_memory`): ``"read"`` (the default:
            the relevant notes are in its system prompt) or ``"write"`` (also a
            ``remember_shared(note)`` tool, notes saved under its name). Other patterns
            ignore it; an agent given as a compiled graph brings its own prompt and tools, so
            it neither reads nor writes the shared memory.
    """

    name: str
    description: str
    instructions: str = ""
    tools: Sequence[BaseTool] = field(default=())
    model: BaseChatModel | None = None
    graph: Pregel[Any, Any, Any, Any] | None = field(default=None, compare=False)
    shared_memory: SharedMemoryMode = "read"

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(
                f"AgentSpec name {self.name!r} must be a Python identifier (letters, digits, _)"
            )
        if not self.description.strip():
            raise ValueError(f"AgentSpec {self.name!r} needs a description (others read it)")
        object.__setattr__(self, "tools", tuple(self.tools))
        if self.graph is not None and (self.tools or self.model or self.instructions):
            raise ValueError(
                f"AgentSpec {self.name!r} has a graph, which brings its own prompt, tools and "
                "model: leave instructions, tools and model empty."
            )
        if self.shared_memory not in SHARED_MEMORY_MODES:
            raise ValueError(
                f"AgentSpec {self.name!r}: shared_memory must be 'read' or 'write', "
                f"got {self.shared_memory!r}"
            )
        if self.graph is not None and self.shared_memory == "write":
            raise ValueError(
                f"AgentSpec {self.name!r} has a graph, so no remember_shared tool can be added "
                "to it: leave shared_memory 'read', or describe the agent with instructions."
            )


def check_agent_names(agents: Iterable[AgentSpec], *, reserved: Iterable[str] = ()) -> list[str]:
    """The agents' names, after checking there is at least one and none is repeated or reserved.

    Args:
        agents: the pattern's members.
        reserved: node names the pattern uses itself.

    Raises:
        ValueError: no agents, a repeated name or a reserved one.
    """
    names = [agent.name for agent in agents]
    if not names:
        raise ValueError("At least one agent is needed.")
    if len(set(names)) != len(names):
        raise ValueError(f"Agent names must be unique, got {names}")
    if clash := sorted(set(names) & set(reserved)):
        raise ValueError(f"Agent names {clash} are reserved by this pattern's own nodes.")
    return names
