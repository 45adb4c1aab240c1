"""Answers from retrieved knowledge: passages in the prompt, citations checked, grounded mode.

`make_call_model_with_knowledge` wraps a pattern's model node (`nodes.model_call.make_call_model`
or `nodes.memory.make_call_model_with_memories`, built without instructions of their own):

1. it puts this turn's passages (``state["retrieved_knowledge"]``, `nodes.knowledge`) into the
   call's system prompt, each with its citation (`nodes.system_prompt.with_system_prompt`);
2. **grounded mode** with no relevant passage: the agent answers that it does not know and
   **the model is not called**. We chose that over an instruction the model should follow:
   nothing to ignore, nothing to pay for, the same answer from every model, and the answer
   cites nothing. Tools are not called either: a grounded agent answers from the knowledge
   base or not at all;
3. on a final answer (no tool calls) it checks the citations (`check_citations`): every
   ``[<source>#<position>]`` in the answer must be one of this turn's passages (retrieved
   before the call, or returned by the ``search_knowledge`` tool in this turn), and records
   the result in ``state["knowledge_check"]``. In grounded mode an answer that cites an unknown
   passage, or uses passages without citing any, is asked for once more with the problem
   stated; a second failure is replaced by a refusal (status ``refused``). Outside grounded
   mode the check is recorded and the answer stands.

Grounded mode is on when the run's context asks for it (``context.grounded``) or the operator
turned it on (the factory's ``grounded=True``, or ``AGENT_PATTERNS_GROUNDED=true`` in the
server's environment); a client can turn it on, never off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime

from nodes.context import AgentNode
from nodes.knowledge import GROUNDED_ENV, knowledge_context, operator_grounded, render_knowledge
from nodes.system_prompt import with_system_prompt

__all__ = [
    "DECLINE_ANSWER",
    "GROUNDED_ENV",
    "SEARCH_TOOL_NAME",
    "available_citations",
    "check_citations",
    "citations_in",
    "make_call_model_with_knowledge",
    "operator_grounded",
]

SEARCH_TOOL_NAME = "search_knowledge"
DECLINE_ANSWER = (
    "I do not know. The knowledge base has nothing relevant to this question, and in grounded "
    "mode I answer only from it."
)
_CITATION = re.compile(r"\[([^\[\]\s#][^\[\]#\n]*#\d+)\]")


def citations_in(text: str) -> list[str]:
    """The citations an answer makes, in order, each once.

    Example:
        >>> citations_in("1000/min [api.md#0], see [api.md#0] and [faq.md#3]. [not a cite]")
        ['[api.md#0]', '[faq.md#3]']
    """
    return [f"[{found}]" for found in dict.fromkeys(_CITATION.findall(text))]


def _current_turn(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return list(messages[index:])
    return list(messages)


def available_citations(state: dict[str, Any]) -> list[str]:
    """What an answer may cite: this turn's passages and ``search_knowledge`` results."""
    found = [str(p["citation"]) for p in state.get("retrieved_knowledge") or []]
    for message in _current_turn(state.get("messages") or []):
        if not isinstance(message, ToolMessage) or message.name != SEARCH_TOOL_NAME:
            continue
        try:
            value = json.loads(message.text)
        except ValueError:
            continue
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict) and item.get("citation"):
                found.append(str(item["citation"]))
    return list(dict.fromkeys(found))


def check_citations(answer: str, available: Sequence[str]) -> dict[str, Any]:
    """How an answer cites the passages it had.

    Returns:
        ``{status, cited, unknown, available}``; status ``unknown_citations`` (it cites
        something that is not an available passage), ``cited``, ``uncited`` (passages were
        available, none cited) or ``no_knowledge`` (none available, none cited).

    Example:
        >>> check_citations("1000 [api.md#0]", ["[api.md#0]"])["status"]
        'cited'
        >>> check_citations("1000 [made-up.md#9]", ["[api.md#0]"])["unknown"]
        ['[made-up.md#9]']
    """
    cited = citations_in(answer)
    unknown = [c for c in cited if c not in available]
    if unknown:
        status = "unknown_citations"
    elif cited:
        status = "cited"
    else:
        status = "uncited" if available else "no_knowledge"
    return {"status": status, "cited": cited, "unknown": unknown, "available": list(available)}


def _problem(check: dict[str, Any]) -> str:
    if check["unknown"]:
        return (
            f"your draft cited {', '.join(check['unknown'])}, which is not one of the passages "
            f"({', '.join(check['available'])})"
        )
    return "your draft cited none of the passages"


def _final(update: dict[str, Any]) -> AIMessage | None:
    """The answer in a model node's update, when it is a final one (no tool calls)."""
    replies = update.get("messages") or []
    reply = replies[-1] if replies else None
    if isinstance(reply, AIMessage) and not reply.tool_calls:
        return reply
    return None


def make_call_model_with_knowledge(
    call_model: AgentNode, *, instructions: str = "", grounded: bool | None = None
) -> AgentNode:
    """Wrap a model node: passages in its prompt, grounded mode, citations checked.

    Args:
        call_model: the model node, built without instructions of its own (it reads
            ``context.system_prompt``, which this wrapper extends).
        instructions: the agent's system prompt; empty uses ``context.system_prompt``.
        grounded: the operator's grounded mode; None reads ``AGENT_PATTERNS_GROUNDED``.

    Returns:
        A node ``call_model(state, runtime) -> {"messages": [...], "knowledge_check": ...}``.
    """

    def call_model_with_knowledge(
        state: dict[str, Any], *, runtime: Runtime[Any]
    ) -> dict[str, Any]:
        """Ask the model with the passages in its prompt; decline or check its citations."""
        passages = state.get("retrieved_knowledge") or []
        is_grounded = operator_grounded(grounded) or knowledge_context(runtime).grounded
        available = available_citations(state)
        if is_grounded and not available:
            check = check_citations("", [])
            return {
                "messages": [AIMessage(DECLINE_ANSWER)],
                "knowledge_check": {**check, "status": "declined", "grounded": True},
            }
        section = render_knowledge(passages, grounded=is_grounded)
        update = call_model(
            state, runtime=with_system_prompt(runtime, section, instructions=instructions)
        )
        reply = _final(update)
        if reply is None:
            return update
        check = check_citations(reply.text, available)
        asked_again = False
        if is_grounded and check["status"] in ("unknown_citations", "uncited"):
            asked_again = True
            retry = f"{section}\n\nAnswer again: {_problem(check)}. Cite only those passages."
            update = call_model(
                state, runtime=with_system_prompt(runtime, retry, instructions=instructions)
            )
            reply = _final(update)
            check = check_citations(reply.text if reply else "", available)
            if reply is not None and check["status"] in ("unknown_citations", "uncited"):
                refusal = (
                    "I could not give an answer grounded in the knowledge base "
                    f"({_problem(check).replace('your draft', 'the draft')}), so I will not guess."
                )
                update = {**update, "messages": [AIMessage(refusal, id=reply.id)]}
                check = {**check, "status": "refused"}
        return {
            **update,
            "knowledge_check": {**check, "grounded": is_grounded, "asked_again": asked_again},
        }

    return call_model_with_knowledge
