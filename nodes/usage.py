"""Usage accounting: what `nodes.ask.invoke_model` records after every model call.

For each call, `record_usage`:

1. reads the tokens from the reply's ``usage_metadata`` (the provider's; for a streamed call
   the aggregated one; the offline models' estimate, see `models.base`); a reply without any
   gets the offline estimate, marked ``estimated``;
2. prices them (`nodes.usage_prices`): offline models cost 0, a model without a price costs
   None (unknown);
3. writes one row to the usage table beside the checkpoints (`checkpointers.usage`), keyed
   by thread, task namespace and call index, with the run, the authenticated user
   (`nodes.identity`) and the role;
4. stages the call's totals for the ``usage`` field of the state of the graph whose node made
   the call (`state.usage`); they join the task's writes when the task succeeds and are
   dropped when it fails (`nodes.usage_state`), so they are saved with the node's result.

Read totals back with `usage_log` (``usage_log(checkpointer).totals(thread_id=...)``).

**What is guaranteed.** State: each call of a task that completed is counted once (its totals
are committed atomically with the task's result; a failed, interrupted or crashed attempt's
are dropped, and a re-run counts its own calls). Table: a node re-run from the same
checkpoint (crash recovery, resuming after an interrupt, a task retried after a failure)
writes the same keys, so each logical call is one row (its ``attempts`` count the re-runs);
the provider may have charged for the repeated calls, which the table does not add. Not
covered: a node that makes model calls from several threads at once (call order, and so the
index, may differ between runs); a call inside a runnable nested in a node (its totals join
the task's writes when that runnable ends, so a node failing afterwards keeps them); calls
made outside a graph (each is its own row, and no state).
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any
from uuid import UUID

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config

from checkpointers.usage import RunUsageLog, UsageLog, UsageRecord, default_usage_log
from models.base import OfflineChatModel, estimated_usage
from nodes.identity import authenticated_user_id
from nodes.usage_prices import call_cost, price_for
from nodes.usage_state import call_index, stage_usage
from state.usage import usage_delta

__all__ = ["USAGE_CHANNEL", "find_chat_model", "record_usage", "usage_log"]

USAGE_CHANNEL = "usage"
"""The state field the totals are added to (`state.agent.AgentState.usage`)."""

_SEND, _READ, _RUNTIME = "__pregel_send", "__pregel_read", "__pregel_runtime"
_RUN_LOG = RunUsageLog()


def usage_log(checkpointer: BaseCheckpointSaver | None = None) -> UsageLog:
    """The usage table to read totals from.

    Args:
        checkpointer: the saver whose table to read (a graph's ``graph.checkpointer``); None
            reads the current run's saver's table (``DATABASE_URL``'s Postgres, or this
            process's memory, outside a run).
    """
    return _RUN_LOG if checkpointer is None else default_usage_log(checkpointer)


def find_chat_model(runnable: Any, depth: int = 0) -> BaseChatModel | None:
    """The chat model inside `runnable` (a model, tools bound to it, a structured chain)."""
    if isinstance(runnable, BaseChatModel):
        return runnable
    if depth > 8 or not isinstance(runnable, Runnable):
        return None
    inner: list[Any] = [getattr(runnable, "bound", None), getattr(runnable, "first", None)]
    steps = getattr(runnable, "steps__", None)
    if isinstance(steps, dict):
        inner.extend(steps.values())
    for candidate in inner:
        found = find_chat_model(candidate, depth + 1)
        if found is not None:
            return found
    return None


def _reply_message(reply: Any) -> AIMessage | None:
    """The model's message in a result (an `AIMessage`, or a structured ``include_raw`` dict)."""
    if isinstance(reply, AIMessage):
        return reply
    if isinstance(reply, dict) and isinstance(reply.get("raw"), AIMessage):
        return reply["raw"]
    return None


def _model_and_cost(
    chat_model: BaseChatModel | None, message: AIMessage, tokens: tuple[int, int]
) -> tuple[str, float | None]:
    """The model's name and the call's cost (0 offline, None without a price)."""
    reported = str(message.response_metadata.get("model_name") or "")
    if isinstance(chat_model, OfflineChatModel):
        return reported or f"offline:{chat_model._llm_type}", 0.0
    params: dict[str, Any] = {}
    if chat_model is not None:
        try:
            params = dict(chat_model._get_ls_params())
        except Exception:  # noqa: BLE001 - a model without LangSmith params has a name still
            params = {}
    configured = str(params.get("ls_model_name") or "")
    provider = str(params.get("ls_provider") or "")
    candidates = [f"{provider}:{configured}" if provider and configured else "", reported]
    llm_type = chat_model._llm_type if chat_model is not None else ""
    for name in [*candidates, configured, llm_type]:
        price = price_for(name) if name else None
        if price is not None:
            return reported or configured, call_cost(price, *tokens)
    name = reported or configured or llm_type or "unknown"
    return name, None


def _task_context(configurable: dict[str, Any], config: Any) -> tuple[Any, Any, UUID | None]:
    """The task's writes deque, its write function and its callback run (or Nones)."""
    send = configurable.get(_SEND)
    writes = getattr(send, "__self__", None)
    if not isinstance(writes, collections.deque):
        return None, None, None
    callbacks = config.get("callbacks") if isinstance(config, dict) else None
    run_id = getattr(callbacks, "parent_run_id", None)
    return writes, send, run_id if isinstance(run_id, UUID) else None


def _has_usage_channel(configurable: dict[str, Any]) -> bool:
    read = configurable.get(_READ)
    channels = read.args[1] if isinstance(read, partial) and len(read.args) > 1 else {}
    return USAGE_CHANNEL in channels


def record_usage(
    runnable: Runnable[Any, Any], messages: Sequence[BaseMessage], reply: Any, *, role: str
) -> UsageRecord | None:
    """Record one model call's usage in the table and the state (see the module docs).

    Args:
        runnable: what was called (the model, or a binding or chain around it).
        messages: the prompt (for the estimate when the reply reports no usage).
        reply: what the call returned.
        role: who was asked.

    Returns:
        The row written (None when the result carries no model message).

    Raises:
        nodes.usage_prices.PriceTableError: the operator's price table is invalid.
    """
    message = _reply_message(reply)
    if message is None:
        return None
    chat_model = find_chat_model(runnable)
    usage = message.usage_metadata
    estimated = usage is None or isinstance(chat_model, OfflineChatModel)
    if usage is None:
        usage = estimated_usage(messages, message)
    tokens = (int(usage["input_tokens"]), int(usage["output_tokens"]))
    model, cost = _model_and_cost(chat_model, message, tokens)
    try:
        config = get_config()
    except RuntimeError:  # outside a runnable context
        config = {}
    configurable = dict(config.get("configurable") or {})
    thread_id = str(configurable.get("thread_id") or "")
    namespace = str(configurable.get("checkpoint_ns") or "")
    info = getattr(configurable.get(_RUNTIME), "execution_info", None)
    run_id = getattr(info, "run_id", None) or configurable.get("run_id")
    writes, send, task_run = _task_context(configurable, config)
    index = call_index(writes) if task_run is not None else 0
    keyed = bool(thread_id and namespace and task_run is not None)
    row = UsageRecord(
        call_id=f"{thread_id}|{namespace}|{index}" if keyed else uuid.uuid4().hex,
        thread_id=thread_id,
        run_id=str(run_id) if run_id else None,
        user_id=authenticated_user_id(config or None),
        role=role,
        model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        total_tokens=int(usage.get("total_tokens", sum(tokens))),
        cost_usd=cost,
        estimated=estimated,
        checkpoint_ns=namespace,
        call_index=index,
    )
    _RUN_LOG.record(row)
    if task_run is not None:
        has_channel = _has_usage_channel(configurable)
        delta = usage_delta(
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            total_tokens=row.total_tokens,
            cost_usd=row.cost_usd,
        )
        stage_usage(task_run, writes, send if has_channel else None, USAGE_CHANNEL, delta)
    return row
