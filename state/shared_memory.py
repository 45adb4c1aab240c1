"""Shared memory across agents: which memory a multi-agent run uses, and who may write it.

The supervisor and the swarm give their agents one memory they all read (`nodes.shared_memory`):
the notes agents recorded, in the graph's store under ``("shared_memory", <scope label>)``.
An agent reads it, or reads and writes it, as its `AgentSpec.shared_memory` declares; the run
chooses which memory (``shared_memory_scope``) through its context.

Example:
    >>> SharedMemoryContext(shared_memory_scope="team:ops").shared_memory_scope
    'team:ops'
    >>> SharedMemoryContext(shared_memory_scope="user:ana")
    Traceback (most recent call last):
    ...
    ValueError: shared_memory_scope must be 'project' or 'team:<id>', got 'user:ana'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from state.context import AgentContext

__all__ = [
    "SHARED_MEMORY_MODES",
    "SharedMemoryContext",
    "SharedMemoryMode",
    "check_shared_scope",
]

SharedMemoryMode = Literal["read", "write"]
"""What an agent does with the shared memory: read it (the default), or read and write it."""
SHARED_MEMORY_MODES: tuple[str, ...] = ("read", "write")

_SCOPE = re.compile(r"^(project|team:[A-Za-z0-9_][A-Za-z0-9_@.+-]{0,63})$")


def check_shared_scope(scope: str) -> str:
    """`scope` if it names a shared memory: ``"project"`` or ``"team:<id>"``.

    Raises:
        ValueError: any other value (a user's scope is not shared by agents of other users).
    """
    if not isinstance(scope, str) or not _SCOPE.match(scope):
        raise ValueError(f"shared_memory_scope must be 'project' or 'team:<id>', got {scope!r}")
    return scope


@dataclass(kw_only=True)
class SharedMemoryContext(AgentContext):
    """`AgentContext` plus the shared memory the run's agents read and write."""

    shared_memory_scope: str = field(
        default="project",
        metadata={
            "description": "Which shared memory the agents read and writer agents add to: "
            "'project' or 'team:<id>'. On a server it must be one the authenticated user "
            "belongs to (a team scope needs membership), and only admins' runs write the "
            "project's; a run naming another team's memory is refused."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_shared_scope(self.shared_memory_scope)
