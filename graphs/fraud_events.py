"""Event-driven fraud agent: one transaction event in, one durable decision out.

    enrich ─┬─(not an event)──────────────────────────────────────────────► END
            └─► decide ─┬─(allow / flag)──────────────────────────────────► finish ─► END
                        ├─(block, approval_policy asks)─► approval_gate ─► run_tools ─► finish
                        └─(block, approval_policy never)────────────────► run_tools ─► finish

The input is one `state.fraud_events.TransactionEvent` as the JSON text of the human
message (every graph of the project takes ``{"messages": [...]}``); the thread id is the
event id (`workers.events` delivers events from RabbitMQ that way). ``enrich`` calls the
read-only enrichment tools with the event's fields (each tool receives the fields its
schema names; results are kept by tool name) and derives the evidence signals in code
(`evidence_signals`). ``decide`` asks the decider (role `DECIDER_ROLE`) for a
`FraudDecision` through `nodes.ask.ask_structured`.

**Only block on strong evidence**, checked in code on the model's answer: a ``block`` needs
at least ``context.min_block_signals`` (default 2) strong signals; with fewer it is
downgraded to ``flag`` and the decision records ``model_action="block"`` and
``downgraded``. A decider that stays invalid after the re-ask falls back to ``flag`` (a person
looks at the payment; never an automatic block or allow), recorded in ``invalid_output``.

**Block is a side effect behind the approval gate** (`nodes.approval_gate`): ``decide``
writes an AI message calling ``block_card`` (call id derived from the event id) and, under
``approval_policy="side-effects"`` (the default), the call waits for a person (accept, edit
the reason, respond, or reject); the tool node (`nodes.tool_execution`) runs it exactly once
through the effect ledger. An operator who trusts the rule for automation sets
``approval_policy="never"``. The decision itself is durable as soon as ``decide``'s step is
checkpointed (outcome ``awaiting_approval`` while the gate waits).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send
from pydantic import ValidationError

from graphs._compile import compile_pattern
from nodes.approval_gate import gate_sends, make_approval_gate, needs_approval
from nodes.ask import InvalidOutput, ask_structured, describe_error
from nodes.context import AgentNode, context_as
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.retry import MODEL_RETRY
from nodes.runtime import PatternRuntime
from nodes.tool_execution import make_run_tools
from state.agent import AgentInput, AgentOutput
from state.fraud_events import (
    DECIDER_ROLE,
    DeciderInputs,
    FraudDecision,
    FraudEventsContext,
    FraudEventsState,
    TransactionEvent,
)

__all__ = [
    "DECIDER_ROLE",
    "DEFAULT_RECURSION_LIMIT",
    "block_call_id",
    "build_fraud_events_graph",
    "evidence_signals",
    "graph",
    "parse_event",
]

DEFAULT_RECURSION_LIMIT = 20
"""Super-steps per run: enrich, decide, the gate, the tool node, finish; ample headroom."""

DECIDER_PROMPT = (
    "You decide card transactions: block (block the card), flag (let it through, an analyst "
    "reviews it) or allow. Only block on strong evidence: at least {needed} of the strong "
    "signals listed. Weaker signals justify a flag. Give your reasoning citing the signals."
)

FraudEventsGraph = CompiledStateGraph[FraudEventsState, FraudEventsContext, AgentInput, AgentOutput]


def parse_event(text: str) -> TransactionEvent | str:
    """The event in a message's text, or why there is none (one line)."""
    try:
        return TransactionEvent.model_validate_json(text)
    except ValidationError as exc:
        return describe_error(exc)


def block_call_id(event_id: str) -> str:
    """The ``block_card`` call id of an event: stable, so a replay is the same call."""
    return f"block_{event_id}"[:64]


def evidence_signals(
    event: TransactionEvent, enrichment: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str], list[str]]:
    """The strong and the medium evidence of fraud in an event and its enrichment.

    Strong: the network's risk score at or above 0.8; a merchant with reputation at most 0.2;
    an unknown device paying from abroad; an amount over five times the user's usual (and
    over 500). Medium: risk score from 0.5; reputation below 0.6; an unknown device or a
    payment abroad; an amount over three times the usual; an unknown card holder.
    """
    history = enrichment.get("user_history", {})
    merchant = enrichment.get("merchant_reputation", {})
    device = enrichment.get("device_signals", {})
    strong: list[str] = []
    medium: list[str] = []
    if event.risk_signal >= 0.8:
        strong.append(f"network risk score {event.risk_signal:.2f}")
    elif event.risk_signal >= 0.5:
        medium.append(f"network risk score {event.risk_signal:.2f}")
    reputation = merchant.get("reputation")
    if isinstance(reputation, int | float) and reputation <= 0.2:
        strong.append(f"merchant reputation {reputation:.2f}")
    elif isinstance(reputation, int | float) and reputation < 0.6:
        medium.append(f"merchant reputation {reputation:.2f}")
    unknown_device = device.get("device_id") is not None and not device.get("known_device")
    if unknown_device and device.get("abroad"):
        strong.append(f"unknown device paying from {device.get('country')}")
    elif unknown_device or device.get("abroad"):
        medium.append("unknown device" if unknown_device else f"paying from {device['country']}")
    usual = history.get("avg_amount")
    if isinstance(usual, int | float) and usual > 0:
        if event.amount > 5 * usual and event.amount > 500:
            strong.append(f"amount {event.amount / usual:.0f}x the usual {usual:.2f}")
        elif event.amount > 3 * usual:
            medium.append(f"amount {event.amount / usual:.0f}x the usual {usual:.2f}")
    if history and not history.get("known", True):
        medium.append("unknown card holder")
    return strong, medium


def _call(tool: BaseTool, event: Mapping[str, Any]) -> Any:
    """Invoke a read-only enrichment tool with the event fields its schema names."""
    return tool.invoke({name: event[name] for name in tool.args if name in event})


def make_enrich(tools: Sequence[BaseTool], *, name: str) -> AgentNode:
    """Build the node that parses the event and enriches it with the read-only tools."""

    def enrich(state: FraudEventsState) -> dict[str, Any]:
        """Parse the latest human message as an event; call every enrichment tool on it.

        A tool that raises fails the step (and the run): the caller retries the event
        (`workers.events` counts the attempts, then dead-letters it).
        """
        parsed = parse_event(latest_human_text(state["messages"]))
        if isinstance(parsed, str):
            text = f"Not a valid transaction event, nothing was decided: {parsed}"
            return {"status": "invalid", "messages": [AIMessage(text, name=name)]}
        event = parsed.model_dump(mode="json")
        enrichment = {tool.name: _call(tool, event) for tool in tools}
        return {"event": event, "enrichment": enrichment, "decision": None, "status": "enriched"}

    return enrich


def _checked(
    answer: FraudDecision, strong: list[str], needed: int
) -> tuple[FraudDecision, str | None]:
    """Apply the rule: a block needs `needed` strong signals, else it becomes a flag."""
    if answer.action != "block" or len(strong) >= needed:
        return answer, None
    why = f"a block needs {needed} strong signals, found {len(strong)}"
    reasoning = f"{answer.reasoning} (Downgraded from block: {why}.)"
    return answer.model_copy(update={"action": "flag", "reasoning": reasoning}), why


def _ask(
    chat_model: BaseChatModel, event: TransactionEvent, inputs: DeciderInputs, needed: int
) -> FraudDecision | InvalidOutput[FraudDecision]:
    report = json.dumps(
        {
            "event": event.model_dump(mode="json"),
            "enrichment": inputs["enrichment"],
            "strong_signals": inputs["strong_signals"],
            "medium_signals": inputs["medium_signals"],
        },
        sort_keys=True,
    )
    prompt = [SystemMessage(DECIDER_PROMPT.format(needed=needed)), HumanMessage(report)]
    fallback = FraudDecision(
        action="flag", reasoning="The decider gave no valid decision; flagged for an analyst."
    )
    return ask_structured(
        chat_model,
        prompt,
        FraudDecision,
        role="decider",
        label="decision",
        on_invalid="fallback",
        fallback=fallback,
    )


def make_decide(model: BaseChatModel | None, block_tool: BaseTool, *, name: str) -> AgentNode:
    """Build the node where the decider decides, under the strong-evidence rule."""

    def decide(state: FraudEventsState, *, runtime: Runtime[FraudEventsContext]) -> dict[str, Any]:
        """Ask for a `FraudDecision`; check it; a block becomes a ``block_card`` call."""
        context = context_as(runtime, FraudEventsContext)
        event = TransactionEvent.model_validate(state["event"])
        enrichment = dict(state.get("enrichment") or {})
        strong, medium = evidence_signals(event, enrichment)
        inputs = DeciderInputs(
            event=event, enrichment=enrichment, strong_signals=strong, medium_signals=medium
        )
        chat_model = resolve_model(model, context.model, role=DECIDER_ROLE, inputs=inputs)
        answer = _ask(chat_model, event, inputs, context.min_block_signals)
        invalid = answer.record() if isinstance(answer, InvalidOutput) else None
        said = answer.use_fallback() if isinstance(answer, InvalidOutput) else answer
        checked, downgraded = _checked(said, strong, context.min_block_signals)
        decision = {
            "event_id": event.event_id,
            "action": checked.action,
            "model_action": said.action,
            "reasoning": checked.reasoning,
            "evidence": checked.evidence,
            "strong_signals": strong,
            "downgraded": downgraded,
            "outcome": {"allow": "allowed", "flag": "flagged"}.get(checked.action, "blocking"),
        }
        update: dict[str, Any] = {"status": "decided", "decisions_made": 1}
        if checked.action == "block":
            call = {
                "name": block_tool.name,
                "args": {"user_id": event.user_id, "event_id": event.event_id,
                         "reason": checked.reasoning[:500]},
                "id": block_call_id(event.event_id),
                "type": "tool_call",
            }  # fmt: skip
            tools = {block_tool.name: block_tool}
            if needs_approval(call, tools, context.approval_policy):  # type: ignore[arg-type]
                decision["outcome"] = "awaiting_approval"
            text = f"Blocking the card of {event.user_id}: {checked.reasoning}"
            update["messages"] = [AIMessage(text, name=name, tool_calls=[call])]
        return {**update, "decision": decision, "invalid_output": invalid}

    return decide


def make_route_after_decide(block_tool: BaseTool) -> Any:
    """Build the router after ``decide``: finish, or the block through the gate or not."""
    tools = {block_tool.name: block_tool}

    def route_after_decide(
        state: FraudEventsState, runtime: Runtime[FraudEventsContext]
    ) -> str | list[Send]:
        """Finish an allow or flag; send a block to the gate when the policy asks."""
        decision = state.get("decision") or {}
        last = state["messages"][-1]
        if decision.get("action") != "block" or not isinstance(last, AIMessage):
            return "finish"
        context = context_as(runtime, FraudEventsContext)
        pending = [c for c in last.tool_calls if needs_approval(c, tools, context.approval_policy)]
        return gate_sends(pending, context) if pending else "run_tools"

    return route_after_decide


def _block_result(messages: Sequence[Any], event_id: str) -> ToolMessage | None:
    call_id = block_call_id(event_id)
    found = [m for m in messages if isinstance(m, ToolMessage) and m.tool_call_id == call_id]
    return found[-1] if found else None


def make_finish(*, name: str) -> AgentNode:
    """Build the node that writes the decision's outcome and the final answer."""

    def finish(state: FraudEventsState) -> dict[str, Any]:
        """Say what was decided and what became of a block."""
        decision = dict(state["decision"] or {})
        event_id = decision["event_id"]
        head = f"Event {event_id}: {decision['action'].upper()}. {decision['reasoning']}"
        if decision["action"] == "block":
            result = _block_result(state["messages"], event_id)
            done = result is not None and result.status != "error"
            decision["outcome"] = "card_blocked" if done else "block_not_run"
            detail = result.text if result is not None else "the block was not run"
            head += f"\nCard block: {'done' if done else 'not done'} ({detail})"
        return {
            "decision": decision,
            "status": "finished",
            "messages": [AIMessage(head, name=name)],
        }

    return finish


def build_fraud_events_graph(
    enrichment_tools: Sequence[BaseTool] = (),
    block_tool: BaseTool | None = None,
    *,
    model: BaseChatModel | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "fraud_events",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> FraudEventsGraph:
    """Build the event-driven fraud agent.

    Args:
        enrichment_tools: read-only tools called on every event (each gets the event fields
            its schema names); their results are kept by tool name. `evidence_signals` reads
            ``user_history`` (``avg_amount``, ``known``), ``merchant_reputation``
            (``reputation``) and ``device_signals`` (``device_id``, ``known_device``,
            ``abroad``, ``country``).
        block_tool: the side-effecting tool that blocks a card, called with ``user_id``,
            ``event_id`` and ``reason``.
        model: the decider's chat model; None resolves ``context.model`` per run (the
            offline stand-in on the demo model).
        runtime: checkpointer, store, ledger and tool timeout (`PatternRuntime`).
        checkpointer: shorthand for the runtime's saver.
        store: shorthand for the runtime's store.
        name: graph name.
        recursion_limit: hard cap on super-steps per run.

    Returns:
        The compiled graph. Input ``{"messages": [<the event as JSON text>]}``; context
        `FraudEventsContext`; the decision in ``decision``, the answer in the last message.

    Raises:
        ValueError: no block tool, or one without side effects declared.
    """
    if block_tool is None:
        raise ValueError("the fraud agent needs a block_tool (a tool with side effects)")
    pattern = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    tools_by_name = {block_tool.name: block_tool}
    builder = StateGraph(
        FraudEventsState,
        context_schema=FraudEventsContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    builder.add_node("enrich", make_enrich(enrichment_tools, name=name))
    builder.add_node("decide", make_decide(model, block_tool, name=name), retry_policy=MODEL_RETRY)
    builder.add_node("approval_gate", make_approval_gate(tools_by_name, ledger=pattern.ledger))
    builder.add_node(
        "run_tools",
        make_run_tools(tools_by_name, ledger=pattern.ledger, timeout_s=pattern.tool_timeout_s),
    )
    builder.add_node("finish", make_finish(name=name))
    builder.add_edge(START, "enrich")
    builder.add_conditional_edges(
        "enrich",
        lambda state: END if state.get("status") == "invalid" else "decide",
        ["decide", END],
    )
    builder.add_conditional_edges(
        "decide", make_route_after_decide(block_tool), ["approval_gate", "run_tools", "finish"]
    )
    builder.add_edge("approval_gate", "run_tools")
    builder.add_edge("run_tools", "finish")
    builder.add_edge("finish", END)
    return compile_pattern(
        builder,
        runtime=pattern,
        name=name,
        recursion_limit=recursion_limit,
        tools=[*enrichment_tools, block_tool],
    )


from demo.fraud import block_card, card_desk_tools, register_stand_ins  # noqa: E402  (the served graph's wiring only)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "enrichment_tools": card_desk_tools(),
    "block_tool": block_card,
}
"""The demo card desk's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_fraud_events_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves; compiled without a checkpointer (the server brings one)."""
