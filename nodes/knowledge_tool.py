"""The ``search_knowledge`` tool: a read-only search of the knowledge base by the model.

The model chooses the query and how many passages (``k``); **whose** knowledge it searches is
not an argument. The tool reads the caller from its runtime, like the retrieval node
(`nodes.knowledge.knowledge_scopes`): the authenticated user on a server, else the context's
``user_id``, with their teams, so a model (or a prompt injected into it) cannot widen the
search to another user's or team's scope. It returns passages as JSON, each with the citation
an answer uses; an answer citing them passes the citation check (`nodes.grounding`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from langchain_core.tools import BaseTool, StructuredTool
from langgraph.prebuilt import ToolRuntime
from pydantic import Field

from nodes.grounding import SEARCH_TOOL_NAME
from nodes.knowledge import knowledge_context, knowledge_scopes, search_passages

__all__ = ["MAX_K", "make_search_knowledge_tool"]

MAX_K = 10
"""Most passages one call may ask for."""

_DESCRIPTION = (
    "Search the knowledge base for passages about a topic; returns each passage with the "
    "citation tag to quote after what you take from it."
)
"""Few words a request would share (the offline demo model picks tools by shared words)."""


def search_knowledge(
    query: Annotated[str, Field(min_length=1, max_length=500, description="What to look up.")],
    runtime: ToolRuntime[Any, Any],
    k: Annotated[int, Field(ge=1, le=MAX_K, description="How many passages at most.")] = 4,
) -> str:
    """Search the knowledge base the caller may read; JSON list of passages with citations."""
    if runtime.store is None:
        return json.dumps({"error": "this graph has no store, so no knowledge base"})
    scopes = knowledge_scopes(runtime, runtime.config)  # type: ignore[arg-type]
    found = search_passages(
        runtime.store,
        query,
        scopes,
        k=k,
        min_score=knowledge_context(runtime).knowledge_min_score,  # type: ignore[arg-type]
    )
    keep = ("citation", "title", "text", "scope", "relevance")
    return json.dumps([{key: passage[key] for key in keep} for passage in found])


def make_search_knowledge_tool() -> BaseTool:
    """The read-only ``search_knowledge`` tool (declares no side effects: it runs ungated).

    Returns:
        A tool taking ``query`` and ``k``; its runtime (store, config, context) is injected
        by the tool node, never filled by the model.
    """
    return StructuredTool.from_function(
        func=search_knowledge,
        name=SEARCH_TOOL_NAME,
        description=_DESCRIPTION,
        metadata={"side_effects": False, "idempotent": True, "timeout_s": None},
    )
