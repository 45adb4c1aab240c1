"""Custom logic: a refund orchestrator whose routing is code and whose drafting is the model's.

A refund request is read in code (order id, requester). Two checks then run in the same
super-step: purchase verification (is the requester the purchaser?) and the refund policy
(window, fraud flag, manual review; the model only reads the claim: was damage reported?).
`state.orchestrator.choose_path` routes the result, in code, to one of five paths:

- **denied**: the requester is not the purchaser; nothing is paid;
- **fraud hold**: a fraud flag is active; a referral to the fraud team is recorded, nothing is
  paid;
- **manual review**: the model drafts a review packet; the refund waits at the shared approval
  gate (accept, edit the amount, reject) and runs through the shared tool node and ledger;
- **approved**: the refund runs at once (approval bound as ``policy:orchestrator``), then the
  model drafts an internal processing note;
- **store credit**: outside the refund window; the model drafts a store-credit offer.

    parse_request ─┬─► verify_purchase ─┬─► decide ─┬─(denied)──────► deny ──────────► END
                   └─► check_policy ────┘           ├─(fraud_hold)──► hold_for_fraud ► END
                                                    ├─(store_credit)► draft_offer ───► END
                                                    ├─(manual_review)► draft_review_packet ─┐
                                                    └─(approved)─────► propose_refund ◄─────┘
    propose_refund ─(approved)──────────────► run_tools ─► report_refund ─► END
                   └─(manual_review: Send)─► approval_gate ─┘

The payment happens only in ``run_tools``, on a decision bound in the ledger, exactly once.
The served graph is the demo shop's (`demo.refund_orchestrator`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import Send

from checkpointers.ledger import EffectLedger
from graphs._compile import compile_pattern
from graphs._saga import COMPENSATE, add_saga, saga_started
from nodes.approval_gate import gate_sends, make_approval_gate
from nodes.ask import InvalidOutput, ask_structured, ask_text, describe_error
from nodes.context import AgentNode, context_as
from nodes.hitl_outcome import classify_outcome
from nodes.identity import current_thread_id
from nodes.messages import latest_human_text
from nodes.model_call import resolve_model
from nodes.policy_approval import approve_by_policy
from nodes.retry import MODEL_RETRY
from nodes.run_stop import RunStopped
from nodes.runtime import PatternRuntime
from nodes.saga import start_saga
from nodes.tool_execution import make_run_tools
from state.agent import AgentInput, AgentOutput
from state.orchestrator import (
    CLAIM_READER_ROLE,
    NOTE_WRITER_ROLE,
    OFFER_WRITER_ROLE,
    PACKET_WRITER_ROLE,
    ClaimReading,
    OrchestratorContext,
    OrchestratorState,
    PurchaseRecords,
    choose_path,
)

__all__ = [
    "AUTO_REVIEWER",
    "DEFAULT_RECURSION_LIMIT",
    "POLICY_NAME",
    "OrchestratorGraph",
    "build_orchestrator_graph",
    "graph",
]

DEFAULT_RECURSION_LIMIT = 25
"""Super-steps per run; the longest path (manual review) takes eight."""

AUTO_REVIEWER = "policy:orchestrator"
"""The reviewer recorded for the refund the approved path issues without a person."""

POLICY_NAME = "refund-orchestrator"
"""The policy named in the audit trail of the orchestrator's refunds."""

MESSAGE_NAME = "orchestrator"
CONTINUE = "continue"
PACKET_PROMPT = (
    "Prepare a manual review packet for operations: the customer claim, policy status, "
    "decision points and missing evidence. Use only the facts given."
)
NOTE_PROMPT = "Draft an internal refund processing note. Include only confirmed facts given."
OFFER_PROMPT = (
    "Draft a customer response offering store credit. Explain the policy reason clearly "
    "without being dismissive. Use only the facts given."
)
_ORDER_ID = re.compile(r"\b[A-Z]-\d{4}\b")
_REQUESTER = re.compile(
    r"\b(?:I am|I'm|this is|my name is)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)", re.I
)

OrchestratorGraph = CompiledStateGraph[
    OrchestratorState, OrchestratorContext, AgentInput, AgentOutput
]


def _context(runtime: Runtime[OrchestratorContext] | None) -> OrchestratorContext:
    return context_as(runtime, OrchestratorContext)


def _say(text: str) -> AIMessage:
    return AIMessage(content=text, name=MESSAGE_NAME)


def read_request(text: str, requester: str = "") -> dict[str, Any] | str:
    """The order id and requester of a request, read in code, or the question to ask back.

    Args:
        text: the customer's message.
        requester: who is asking when known from elsewhere (the run's context); empty reads
            it from the message ("I am <name>", "I'm <name>").
    """
    order = _ORDER_ID.search(text)
    if order is None:
        return "Which order should be refunded? (Order ids look like A-1001.)"
    named = _REQUESTER.search(text)
    who = requester or (named.group(1).strip() if named else "")
    return {"order_id": order.group(0), "requester": who}


def make_parse_request(records: PurchaseRecords) -> AgentNode:
    """Build the node that reads the order and requester (code) and resets the turn's fields."""

    def parse_request(
        state: OrchestratorState, *, runtime: Runtime[OrchestratorContext]
    ) -> dict[str, Any]:
        """Read the request; ask back when no order is named or the order is unknown."""
        reset: dict[str, Any] = dict.fromkeys(
            ("request", "purchase", "policy", "route", "fraud_referral", "outcome", "saga"), None
        )
        reset["invalid_output"] = None
        read = read_request(latest_human_text(state["messages"]), _context(runtime).requester)
        if isinstance(read, str):
            return {**reset, "messages": [_say(read)]}
        if records.find(read["order_id"]) is None:
            text = f"I could not find order {read['order_id']}. Please check the order id."
            return {**reset, "messages": [_say(text)]}
        return {**reset, "request": read}

    return parse_request


def route_after_parse(state: OrchestratorState) -> str | list[str]:
    """Both checks at once (one super-step) when a request was read; else the end."""
    if state.get("request") is None:
        return END
    return ["verify_purchase", "check_policy"]


def make_verify_purchase(records: PurchaseRecords) -> AgentNode:
    """Build the purchase verification: is the requester the purchaser? (code only)."""

    def verify_purchase(state: OrchestratorState) -> dict[str, Any]:
        """Compare the requester with the purchaser of record; keep the purchase's facts."""
        request = state.get("request") or {}
        purchase = records.find(request["order_id"])
        assert purchase is not None  # parse_request ended the turn otherwise
        requester = str(request.get("requester") or "")
        same = bool(requester) and requester.casefold() == purchase.purchaser.casefold()
        return {
            "purchase": {
                "order_found": True,
                "requester_identified": bool(requester),
                "purchased_by_requester": same,
                "amount": purchase.amount,
                "currency": purchase.currency,
                "days_since_purchase": purchase.days_since_purchase,
            }
        }

    return verify_purchase


def _read_claim(model: BaseChatModel, prompt: list[Any]) -> ClaimReading | dict[str, Any]:
    """The model's `ClaimReading`, or the record of why there is none (invalid or raised)."""
    try:
        reading = ask_structured(model, prompt, ClaimReading, role=CLAIM_READER_ROLE)
    except (RunStopped, GraphBubbleUp):
        raise
    except Exception as exc:  # noqa: BLE001 - a failing reader ends the turn cleanly
        reason = f"the {CLAIM_READER_ROLE} failed: {describe_error(exc)}"
        return {"role": CLAIM_READER_ROLE, "outcome": "failed", "reason": reason}
    if isinstance(reading, InvalidOutput):
        return reading.record()
    return reading


def make_check_policy(model: BaseChatModel | None, records: PurchaseRecords) -> AgentNode:
    """Build the policy check: rules in code, the claim read by the model.

    The window, the fraud flag and the review rules are code; the model
    (``orchestrator.claim_reader``) only says whether damage was reported.
    """

    def check_policy(
        state: OrchestratorState, *, runtime: Runtime[OrchestratorContext]
    ) -> dict[str, Any]:
        """Apply the refund policy; an unreadable claim ends the turn (``invalid_output``)."""
        context = _context(runtime)
        request = state.get("request") or {}
        purchase = records.find(request["order_id"])
        assert purchase is not None
        text = latest_human_text(state["messages"])
        chosen = resolve_model(
            model, context.model, role=CLAIM_READER_ROLE, inputs={"request": text}
        )
        prompt = [
            ("system", "Read the customer's refund request. Do not decide anything."),
            ("user", text),
        ]
        reading = _read_claim(chosen, prompt)
        if isinstance(reading, dict):
            return {"invalid_output": reading}
        within = purchase.days_since_purchase <= context.refund_window_days
        reasons = []
        if purchase.amount > context.manual_review_limit:
            reasons.append(
                f"amount {purchase.amount:.2f} is above {context.manual_review_limit:.2f}"
            )
        if reading.damaged_item_reported and not within:
            reasons.append("damage reported outside the refund window")
        policy = {
            "within_window": within,
            "window_days": context.refund_window_days,
            "fraud_flag": purchase.fraud_flag,
            "fraud_reason": purchase.fraud_reason,
            **reading.model_dump(),
            "requires_manual_review": bool(reasons),
            "review_reasons": reasons,
        }
        return {"policy": policy}

    return check_policy


def decide(state: OrchestratorState) -> dict[str, Any]:
    """Route in code (`choose_path`) and record the path and the facts behind it."""
    invalid = state.get("invalid_output")
    if invalid is not None:
        text = (
            "I could not process this refund request automatically: "
            f"{invalid['reason']}. No refund was issued; a person will look at it."
        )
        return {"outcome": {"status": "not_requested"}, "messages": [_say(text)]}
    request = state.get("request") or {}
    purchase = state.get("purchase") or {}
    policy = state.get("policy") or {}
    path, reason = choose_path(purchase, policy)
    facts = {
        "order_id": request.get("order_id"),
        "requester": request.get("requester"),
        "purchase": purchase,
        "policy": policy,
        "path": path,
        "reason": reason,
    }
    return {"route": {"path": path, "reason": reason, "facts": facts}}


def route_after_decide(state: OrchestratorState) -> str:
    """The node of the path taken, or the end when the turn ended at the decision."""
    route = state.get("route")
    if route is None:
        return END
    return {
        "denied": "deny",
        "fraud_hold": "hold_for_fraud",
        "manual_review": "draft_review_packet",
        "approved": "propose_refund",
        "store_credit": "draft_offer",
    }[route["path"]]


def deny(state: OrchestratorState) -> dict[str, Any]:
    """The denied path: say why in plain words; nothing is paid."""
    route = state.get("route") or {}
    order_id = route["facts"]["order_id"]
    text = (
        f"Refund denied for order {order_id}: {route['reason']}. Only the purchaser can ask "
        "for a refund; no refund was issued."
    )
    return {"outcome": {"status": "not_requested", "why": "denied"}, "messages": [_say(text)]}


def hold_for_fraud(state: OrchestratorState) -> dict[str, Any]:
    """The fraud-hold path: record the referral to the fraud team; nothing is paid."""
    route = state.get("route") or {}
    facts = route["facts"]
    referral = {
        "team": "fraud",
        "order_id": facts["order_id"],
        "reason": route["reason"],
        "amount": facts["purchase"].get("amount"),
        "referred_at": datetime.now(UTC).isoformat(),
    }
    text = (
        f"Refund held for order {facts['order_id']}: {route['reason']}. The case was routed "
        "to the fraud team; no refund was issued."
    )
    return {
        "fraud_referral": referral,
        "outcome": {"status": "not_requested", "why": "fraud_hold"},
        "messages": [_say(text)],
    }


def draft_text(
    model: BaseChatModel | None,
    role: str,
    instruction: str,
    facts: dict[str, Any],
    runtime: Runtime[OrchestratorContext] | None,
) -> str:
    """Ask the model (through `nodes.ask.ask_text`) to draft text from the checked facts.

    Args:
        model: the chat model; None resolves ``context.model`` per run.
        role: the drafting role (``orchestrator.packet_writer`` ...); its stand-in gets
            ``facts`` (`state.orchestrator.DraftInputs`).
        instruction: the system prompt.
        facts: the case's facts, as JSON.
        runtime: the run's runtime (for ``context.model``).
    """
    chosen = resolve_model(model, _context(runtime).model, role=role, inputs={"facts": facts})
    prompt = "Facts of the case (JSON):\n" + json.dumps(facts, indent=2, sort_keys=True)
    return ask_text(chosen, [("system", instruction), ("user", prompt)], role=role)


def draft_or_failure(
    model: BaseChatModel | None,
    role: str,
    instruction: str,
    facts: dict[str, Any],
    runtime: Runtime[OrchestratorContext] | None,
) -> tuple[str, str | None]:
    """`draft_text`; a model that raises gives ``("", "the <role> failed: ...")`` instead.

    Interrupts and the controls' stops (`nodes.run_stop.RunStopped`) propagate.
    """
    try:
        return draft_text(model, role, instruction, facts, runtime), None
    except (RunStopped, GraphBubbleUp):
        raise
    except Exception as exc:  # noqa: BLE001 - a failing drafter is reported, not raised
        return "", f"the {role} failed: {describe_error(exc)}"


def make_draft_review_packet(model: BaseChatModel | None) -> AgentNode:
    """Build the manual-review path's first node: the model drafts the reviewer's packet."""

    def draft_review_packet(
        state: OrchestratorState, *, runtime: Runtime[OrchestratorContext]
    ) -> dict[str, Any]:
        """Draft the packet and keep it with the route (the gate shows it to the reviewer)."""
        route = dict(state.get("route") or {})
        text, failure = draft_or_failure(
            model, PACKET_WRITER_ROLE, PACKET_PROMPT, route["facts"], runtime
        )
        if failure is not None:  # the reviewer still sees the checked facts
            text = f"No packet ({failure}). Checked facts: {json.dumps(route['facts'])}"
        return {"route": {**route, "draft": text, "draft_error": failure}}

    return draft_review_packet


def make_draft_offer(model: BaseChatModel | None) -> AgentNode:
    """Build the store-credit path: the model drafts the offer that answers the customer."""

    def draft_offer(
        state: OrchestratorState, *, runtime: Runtime[OrchestratorContext]
    ) -> dict[str, Any]:
        """Draft the store-credit offer; nothing is paid."""
        route = state.get("route") or {}
        facts = route["facts"]
        text, failure = draft_or_failure(model, OFFER_WRITER_ROLE, OFFER_PROMPT, facts, runtime)
        if failure is not None:
            text = (
                f"Order {facts['order_id']} is outside the {facts['policy']['window_days']}-day "
                f"refund window, so it cannot be refunded; store credit of "
                f"{facts['purchase']['amount']:.2f} {facts['purchase']['currency']} is "
                f"offered instead. (The offer could not be drafted: {failure}.)"
            )
        outcome = {"status": "not_requested", "why": "store_credit_offered", "error": failure}
        return {"outcome": outcome, "messages": [_say(text)]}

    return draft_offer


def _turn(state: OrchestratorState) -> int:
    return sum(1 for m in state["messages"] if isinstance(m, HumanMessage))


def make_propose_refund(refund_tool: BaseTool, ledger: EffectLedger) -> AgentNode:
    """Build the node that proposes the refund call.

    On the approved path it binds the approval in the ledger (reviewer
    ``policy:orchestrator``), as a person's would be bound at the gate.
    """

    def propose_refund(state: OrchestratorState) -> dict[str, Any]:
        """Propose ``refund_tool(order_id, amount, reason)`` for the purchase's amount."""
        route = state.get("route") or {}
        facts = route["facts"]
        args = {
            "order_id": facts["order_id"],
            "amount": facts["purchase"]["amount"],
            "reason": f"{route['path']}: {route['reason']}",
        }
        call = ToolCall(
            name=refund_tool.name,
            args=args,
            id=f"orchestrator-refund-{facts['order_id']}-{_turn(state)}",
            type="tool_call",
        )
        summary = f"Refund proposed for order {facts['order_id']} ({route['path']})."
        update: dict[str, Any] = {
            "messages": [AIMessage(content=summary, name=MESSAGE_NAME, tool_calls=[call])]
        }
        if route["path"] == "approved":
            record = approve_by_policy(
                ledger, call, reviewer=AUTO_REVIEWER, policy=POLICY_NAME, reason=route["reason"]
            )
            update["approvals"] = [record]
        return update

    return propose_refund


def route_after_propose(
    state: OrchestratorState, *, runtime: Runtime[OrchestratorContext]
) -> str | list[Send]:
    """The tool node (approved) or the shared gate with the review packet (manual review)."""
    route = state.get("route") or {}
    last = state["messages"][-1]
    if route.get("path") == "approved" or not isinstance(last, AIMessage):
        return "run_tools"
    return gate_sends(
        list(last.tool_calls),
        _context(runtime),
        note=route.get("draft") or route.get("reason"),
        locked_args=["order_id"],
        policy=POLICY_NAME,
    )


def _note_call(note_tool: BaseTool, refund: dict[str, Any], note: str, turn: int) -> ToolCall:
    """The call that posts the processing note of `refund` (its id is stable per turn)."""
    args = {"order_id": refund["order_id"], "refund_id": refund["refund_id"], "note": note}
    call_id = f"orchestrator-note-{refund['order_id']}-{turn}"
    return ToolCall(name=note_tool.name, args=args, id=call_id, type="tool_call")


def make_report_refund(
    model: BaseChatModel | None,
    refund_tool: BaseTool,
    note_tool: BaseTool | None = None,
    ledger: EffectLedger | None = None,
) -> AgentNode:
    """Build the node after the tool node: what became of the refund.

    Issued: the model drafts the internal processing note; with a `note_tool`, the note is
    proposed for posting (approved by the orchestrator's policy, bound in `ledger`). Not
    issued (rejected, failed): a plain statement of why, no model call.
    """

    def report_refund(
        state: OrchestratorState, *, runtime: Runtime[OrchestratorContext]
    ) -> dict[str, Any]:
        """Record the outcome; draft the note (issued) or say why nothing was paid."""
        outcome = classify_outcome(cast(Any, state), refund_tool.name)
        route = dict(state.get("route") or {})
        if outcome["status"] != "issued":
            why = outcome.get("reason") or outcome.get("why") or "not run"
            text = f"No refund was issued for order {route['facts']['order_id']}: {why}"
            return {"outcome": outcome, "messages": [_say(text)]}
        refund = {k: outcome.get(k) for k in ("refund_id", "amount", "currency")}
        facts = {**route["facts"], "refund": refund}
        text, failure = draft_or_failure(model, NOTE_WRITER_ROLE, NOTE_PROMPT, facts, runtime)
        if failure is not None:
            text = (
                f"Refund {refund['refund_id']} of {refund['amount']:.2f} {refund['currency']} "
                f"was issued for order {facts['order_id']}; the processing note could not be "
                f"drafted ({failure})."
            )
        if note_tool is None or ledger is None:
            return {"outcome": outcome, "messages": [_say(text)]}
        call = _note_call(note_tool, {**refund, "order_id": facts["order_id"]}, text, _turn(state))
        record = approve_by_policy(
            ledger, call, reviewer=AUTO_REVIEWER, policy=POLICY_NAME, reason="processing note"
        )
        posting = AIMessage(content=text, name=MESSAGE_NAME, tool_calls=[call])
        return {"outcome": outcome, "approvals": [record], "messages": [posting]}

    return report_refund


def route_after_report(state: OrchestratorState) -> str:
    """Post the processing note when one was proposed; else the end."""
    last = state["messages"][-1]
    return "post_note" if isinstance(last, AIMessage) and last.tool_calls else END


def _refund_call_id(state: OrchestratorState, refund_tool: BaseTool) -> str | None:
    """The id of this turn's refund call, from its answer in the conversation."""
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            return None
        if isinstance(message, ToolMessage) and message.name == refund_tool.name:
            return message.tool_call_id
    return None


def make_finish_refund(
    refund_tool: BaseTool, tools: dict[str, BaseTool], ledger: EffectLedger
) -> AgentNode:
    """Build the node after the note was posted (or not).

    Posted: the note is the answer. Not posted: the run failed after the refund, so a saga
    (`nodes.saga`) undoes the refund when its tool declares a compensation; otherwise the
    answer says a person must post the note.
    """

    def finish_refund(state: OrchestratorState) -> dict[str, Any]:
        """Answer with the posted note, or start the saga that undoes the refund."""
        posting, answer = state["messages"][-2], state["messages"][-1]
        note = posting.text
        if isinstance(answer, ToolMessage) and answer.status != "error":
            return {"messages": [_say(f"{note}\nPosted to the accounting ledger: {answer.text}")]}
        reason = f"the processing note could not be posted: {answer.text}"
        refund_call = _refund_call_id(state, refund_tool)
        saga = start_saga(ledger, current_thread_id(), reason, [refund_call or ""], tools)
        if saga:
            return saga
        text = f"{note}\nThe refund stands, but {reason}. A person must post the note."
        return {"messages": [_say(text)]}

    return finish_refund


def route_after_finish(state: OrchestratorState) -> str:
    """The saga when one started; else the end."""
    return COMPENSATE if saga_started(cast(Any, state)) else END


def build_orchestrator_graph(
    model: BaseChatModel | None = None,
    *,
    records: PurchaseRecords,
    refund_tool: BaseTool,
    note_tool: BaseTool | None = None,
    runtime: PatternRuntime | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = "orchestrator",
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> OrchestratorGraph:
    """Build the refund orchestrator: parallel checks, routing in code, five paths.

    Args:
        model: chat model for the claim reading and the drafts; None resolves
            ``context.model`` per run (offline stand-ins on the demo model).
        records: where purchases are read (purchaser, amount, age, fraud flag).
        refund_tool: the side-effecting refund tool, called as ``(order_id, amount, reason)``
            through the shared approval gate and tool node (exactly once, effect ledger).
        note_tool: posts the processing note, called as ``(order_id, refund_id, note)``
            after an issued refund (approved by the orchestrator's policy). When the post
            fails, a saga undoes the refund if `refund_tool` declares a compensation
            (`tools.compensation`): the compensation waits at the approval gate. None: the
            note is the answer, not posted.
        runtime: checkpointer, store, effect ledger and tool timeout (`PatternRuntime`).
        checkpointer: shorthand for ``runtime=PatternRuntime(checkpointer=...)``; the
            approved and manual-review paths need one (a server brings its own).
        store: shorthand for the runtime's long-term memory store (unused).
        name: graph name.
        recursion_limit: cap on super-steps per run.

    Returns:
        The compiled graph: input ``{"messages": [...]}``, context `OrchestratorContext`.
    """
    runtime = PatternRuntime.of(runtime, checkpointer=checkpointer, store=store)
    tools = {refund_tool.name: refund_tool}
    all_tools = {**tools, **({note_tool.name: note_tool} if note_tool else {})}
    builder = StateGraph(
        OrchestratorState,
        context_schema=OrchestratorContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    nodes: dict[str, Callable[..., Any]] = {
        "parse_request": make_parse_request(records),
        "verify_purchase": make_verify_purchase(records),
        "check_policy": make_check_policy(model, records),
        "decide": decide,
        "deny": deny,
        "hold_for_fraud": hold_for_fraud,
        "draft_review_packet": make_draft_review_packet(model),
        "draft_offer": make_draft_offer(model),
        "propose_refund": make_propose_refund(refund_tool, runtime.ledger),
        "approval_gate": make_approval_gate(tools, ledger=runtime.ledger),
        "run_tools": make_run_tools(tools, ledger=runtime.ledger, timeout_s=runtime.tool_timeout_s),
        "report_refund": make_report_refund(model, refund_tool, note_tool, runtime.ledger),
        "post_note": make_run_tools(
            {note_tool.name: note_tool} if note_tool else {},
            ledger=runtime.ledger,
            timeout_s=runtime.tool_timeout_s,
        ),
        "finish_refund": make_finish_refund(refund_tool, all_tools, runtime.ledger),
    }
    with_model = {"check_policy", "draft_review_packet", "draft_offer", "report_refund"}
    for node, action in nodes.items():
        builder.add_node(node, action, retry_policy=MODEL_RETRY if node in with_model else None)
    _wire(builder)
    add_saga(builder, all_tools.values(), ledger=runtime.ledger, timeout_s=runtime.tool_timeout_s)
    return compile_pattern(
        builder,
        runtime=runtime,
        name=name,
        recursion_limit=recursion_limit,
        tools=list(all_tools.values()),
    )


def _wire(builder: StateGraph[Any, Any, Any, Any]) -> None:
    """The orchestrator's edges (see the module docs' drawing)."""
    builder.add_edge(START, "parse_request")
    builder.add_conditional_edges(
        "parse_request", route_after_parse, ["verify_purchase", "check_policy", END]
    )
    builder.add_edge(["verify_purchase", "check_policy"], "decide")
    builder.add_conditional_edges(
        "decide",
        route_after_decide,
        ["deny", "hold_for_fraud", "draft_review_packet", "propose_refund", "draft_offer", END],
    )
    for final in ("deny", "hold_for_fraud", "draft_offer"):
        builder.add_edge(final, END)
    builder.add_conditional_edges("report_refund", route_after_report, ["post_note", END])
    builder.add_edge("post_note", "finish_refund")
    builder.add_conditional_edges("finish_refund", route_after_finish, [COMPENSATE, END])
    builder.add_edge("draft_review_packet", "propose_refund")
    builder.add_conditional_edges(
        "propose_refund", route_after_propose, ["approval_gate", "run_tools"]
    )
    builder.add_edge("approval_gate", "run_tools")
    builder.add_edge("run_tools", "report_refund")


from demo.refund_orchestrator import (  # noqa: E402  (the served graph's wiring only)
    ShopPurchases,
    issue_refund,
    post_refund_note,
    register_stand_ins,
)

register_stand_ins()

SERVED_OPTIONS: dict[str, Any] = {
    "runtime": PatternRuntime.served(),
    "records": ShopPurchases(),
    "refund_tool": issue_refund,
    "note_tool": post_refund_note,
}
"""The demo shop's wiring of the served graph (`graphs.registry` builds it with a saver)."""

graph = build_orchestrator_graph(**SERVED_OPTIONS)
"""The graph `langgraph.json` serves as ``orchestrator``; the server brings the checkpointer."""
