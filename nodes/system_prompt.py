"""Adding a section to a model call's system prompt, for nodes that wrap the model node.

Nodes that put retrieved material in front of the model (recalled memories, knowledge
passages) add it to the **system prompt** of that call rather than as a message in the
conversation: the thread's history stays the conversation itself, the model sees the material
once next to its instructions, and what was added stays inspectable in state. The model node
reads its prompt from ``context.system_prompt`` (when built without instructions of its own),
so a wrapper passes the node a runtime whose context carries the extended prompt.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from state.context import DEFAULT_SYSTEM_PROMPT, AgentContext

__all__ = ["with_system_prompt"]


def with_system_prompt(
    runtime: Runtime[Any], section: str, *, instructions: str = ""
) -> Runtime[Any]:
    r"""`runtime` with ``context.system_prompt`` set to the base prompt plus `section`.

    Args:
        runtime: the run's runtime (a run without a context gets `AgentContext` defaults).
        section: text appended after a blank line ("" appends nothing).
        instructions: the agent's own prompt; empty keeps ``context.system_prompt``.

    Returns:
        `runtime` itself when the prompt does not change, else an overridden copy (the
        context is copied, never mutated).

    Example:
        >>> runtime = Runtime(context=AgentContext(system_prompt="Be brief."))
        >>> with_system_prompt(runtime, "Facts: none.").context.system_prompt
        'Be brief.\n\nFacts: none.'
    """
    context: Any = runtime.context if runtime.context is not None else AgentContext()
    base = context.get("system_prompt") if isinstance(context, dict) else context.system_prompt
    prompt = instructions or base or DEFAULT_SYSTEM_PROMPT
    if section:
        prompt = f"{prompt}\n\n{section}"
    if prompt == base and runtime.context is not None:
        return runtime
    if isinstance(context, dict):
        return runtime.override(context={**context, "system_prompt": prompt})
    return runtime.override(context=replace(context, system_prompt=prompt))
