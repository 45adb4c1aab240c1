"""One model call under every failure control: limits, timeout, retries, breakers, fallbacks.

`call_model_chain` is what `nodes.ask.invoke_model` runs for every model call of every
pattern:

1. the run's limits and caps are checked (`nodes.run_budget`): a reached budget stops the run
   cleanly (`nodes.run_stop.RunStopped`);
2. the chain is the call's model, then its fallbacks: the operator's chain for the role
   (`nodes.controls.Controls.fallbacks`), else the run's ``fallback_models`` context field
   (when the operator configured a chain, the context may only pick from it);
3. each entry is guarded by its circuit breaker (`nodes.breakers`; an open breaker fails
   fast and the chain moves on), called under the model timeout
   (`Controls.model_timeout_s`; in-process offline models run inline, without one), and
   retried on retriable errors with backoff, jitter and ``Retry-After``
   (`nodes.retry.call_with_retry`, `Controls.retry_for(role)`);
4. by error class (`nodes.error_classes.classify`): retriable errors that outlast their
   retries and fallback-class errors move to the next entry, each switch recorded
   (`nodes.control_events`: in the stream, and in the ``fallbacks`` state field); a terminal
   error stops the run cleanly with a clear message; a fixable one is the caller's (it
   propagates);
5. when every entry failed, the last error propagates, marked so that the node's retry
   policy does not retry it again.

An entry ``"template"`` / ``"template:<text>"`` (`models.template`) answers with fixed text.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import os
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp

from models.base import OfflineChatModel
from models.factory import create_chat_model
from models.template import is_template_spec, template_model
from nodes.breakers import breaker_board, breaker_key
from nodes.control_events import emit_event
from nodes.controls import Controls, current_controls
from nodes.error_classes import CircuitOpenError, ModelTimeoutError, classify, describe_failure
from nodes.retry import call_with_retry
from nodes.run_budget import check_before_model_call
from nodes.run_stop import RunStopped
from observability.events import emit
from observability.timing import error_name

__all__ = ["Rebind", "call_model_chain", "fallback_specs", "model_label", "model_from_spec"]

Rebind = Callable[[BaseChatModel], Runnable[Any, Any]]
"""Builds, for another chat model, the runnable a call uses (tools bound, structured chain)."""

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="model-call")


def model_from_spec(spec: str) -> BaseChatModel:
    """The chat model a spec names (templates included), built once per spec and endpoint.

    The endpoint (``OPENAI_BASE_URL``) is part of the key, so a changed environment builds a
    model for the new endpoint instead of reusing one bound to the old.
    """
    return _model_for(spec, os.environ.get("OPENAI_BASE_URL", ""))


@functools.lru_cache(maxsize=32)
def _model_for(spec: str, endpoint: str) -> BaseChatModel:
    return template_model(spec) if is_template_spec(spec) else create_chat_model(spec or None)


_instance_tokens: dict[int, str] = {}


def _instance_token(model: BaseChatModel) -> str:
    """A token unique to one live model object (an ``id`` may be reused once it is gone)."""
    key = id(model)
    token = _instance_tokens.get(key)
    if token is None:
        token = uuid.uuid4().hex[:12]
        _instance_tokens[key] = token
        weakref.finalize(model, _instance_tokens.pop, key, None)
    return token


def model_label(model: BaseChatModel | None) -> str:
    """A model's endpoint label: ``openai:gpt-4o-mini@host:port``, ``offline:demo#<token>``.

    In-process models have no shared endpoint, so each instance is its own (its breaker
    too, keyed by a token unique to the live object); a provider's model is named by
    provider, model and base URL host.
    """
    if model is None:
        return "unknown"
    if isinstance(model, OfflineChatModel):
        return f"offline:{model._llm_type}#{_instance_token(model)}"
    try:
        params = dict(model._get_ls_params())
    except Exception:  # noqa: BLE001 - a model without LangSmith params still has a type
        params = {}
    name = f"{params.get('ls_provider') or model._llm_type}:{params.get('ls_model_name') or ''}"
    base = str(getattr(model, "openai_api_base", None) or "")
    host = base.split("://", 1)[-1].split("/", 1)[0]
    return f"{name}@{host}" if host else name


def _context_chain(config: RunnableConfig) -> list[str]:
    runtime = (config.get("configurable") or {}).get("__pregel_runtime")
    context = getattr(runtime, "context", None)
    found = context.get("fallback_models") if isinstance(context, Mapping) else None
    if context is not None and not isinstance(context, Mapping):
        found = getattr(context, "fallback_models", None)
    return [str(spec) for spec in (found or [])]


def fallback_specs(role: str, controls: Controls, config: RunnableConfig) -> list[str]:
    """The specs tried after the call's own model (see the module docs)."""
    operator = list(controls.chain_for(role))
    asked = _context_chain(config)
    if not operator:
        return asked
    if not asked:
        return operator
    return [spec for spec in asked if spec in operator]


def _timed(runnable: Runnable[Any, Any], prompt: list[BaseMessage], timeout_s: float | None) -> Any:
    """Call `runnable` on `prompt`, giving up after `timeout_s` (None, or offline: inline)."""
    if timeout_s is None:
        return runnable.invoke(prompt)
    context = contextvars.copy_context()  # the run's config and callbacks go with the call
    future = _POOL.submit(context.run, runnable.invoke, prompt)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise ModelTimeoutError(f"the model call took longer than {timeout_s:g} s") from None


_Entry = tuple[str | None, BaseChatModel | None, Runnable[Any, Any] | None]
"""(fallback spec or None for the call's own model, the model, the runnable to call)."""


def _resolved(entry: _Entry, rebind: Rebind | None) -> tuple[str, BaseChatModel | None, Any]:
    """The entry's label, model and runnable; a fallback's model is built only when reached."""
    spec, chat_model, bound = entry
    if bound is None:
        assert spec is not None and rebind is not None
        chat_model = model_from_spec(spec)
        bound = rebind(chat_model)
    if spec is not None and is_template_spec(spec):
        return spec, chat_model, bound
    return model_label(chat_model), chat_model, bound


def _call_entry(
    bound: Runnable[Any, Any],
    chat_model: BaseChatModel | None,
    prompt: list[BaseMessage],
    *,
    role: str,
    label: str,
    controls: Controls,
) -> Any:
    """One entry's call: under its timeout, its retries on retriable errors."""
    timeout = None if isinstance(chat_model, OfflineChatModel) else controls.model_timeout_s
    return call_with_retry(
        functools.partial(_timed, bound, prompt, timeout),
        controls.retry_for(role),
        on_retry=functools.partial(_on_retry, role, label),
    )


def call_model_chain(
    runnable: Runnable[Any, Any],
    prompt: list[BaseMessage],
    *,
    role: str,
    model: BaseChatModel | None,
    rebind: Rebind | None,
) -> tuple[Any, Runnable[Any, Any]]:
    """Make one model call under every control (see the module docs).

    Args:
        runnable: what to call first (the model, tools bound, or a structured chain).
        prompt: the messages.
        role: who is asked (for limits, retry settings, fallback chains and records).
        model: the chat model inside `runnable` (None: unknown, no breaker or fallback).
        rebind: how to build the same call for a fallback model (None: no fallbacks).

    Returns:
        The reply and the runnable that produced it (for usage accounting).

    Raises:
        RunStopped: a budget is reached, or a terminal error (the run ends cleanly).
        Exception: every entry of the chain failed (the last error; not retried again by
            the node's retry policy), or a fixable error.
    """
    try:
        config = get_config()
    except RuntimeError:
        config = {}
    check_before_model_call(role, config)
    controls = current_controls(config)
    specs = fallback_specs(role, controls, config) if rebind is not None and model else []
    board = breaker_board(config)
    chain: list[_Entry] = [(None, model, runnable), *((spec, None, None) for spec in specs)]
    last_error: BaseException | None = None
    for index, entry in enumerate(chain):
        label = entry[0] or model_label(model)
        following = chain[index + 1][0] if index + 1 < len(chain) else None
        try:
            label, chat_model, bound = _resolved(entry, rebind)
            board.before_call(breaker_key("model", label))
            reply = _call_entry(
                bound, chat_model, prompt, role=role, label=label, controls=controls
            )
        except (GraphBubbleUp, RunStopped):
            raise
        except Exception as exc:
            error_class = classify(exc)
            if error_class == "fixable":
                raise
            if error_class != "terminal" and not isinstance(exc, CircuitOpenError):
                board.record_failure(breaker_key("model", label), describe_failure(exc))
            if error_class == "terminal":
                raise _terminal(role, label, exc) from exc
            last_error = exc
            _on_switch(role, label, following, error_class, exc)
            continue
        board.record_success(breaker_key("model", label))
        return reply, bound
    assert last_error is not None
    _mark_handled(last_error)
    raise last_error


def _terminal(role: str, label: str, exc: BaseException) -> RunStopped:
    reason = (
        f"the {role} model ({label.split('#')[0]}) refused the call with an error that "
        f"retrying or another model cannot fix: {describe_failure(exc)}"
    )
    detail = {"error_class": "terminal", "model": label, "role": role}
    return RunStopped(reason, kind="terminal_error", detail=detail)


def _mark_handled(exc: BaseException) -> None:
    """Mark an error retried and fallen back already, so node retry policies pass it on."""
    try:
        exc.error_class = "fallback"  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with slots keeps its class
        pass


def _on_retry(role: str, label: str, attempt: int, exc: BaseException, delay_s: float) -> None:
    emit_event(
        "retry",
        {
            "role": role,
            "model": label.split("#")[0],
            "attempt": attempt,
            "delay_s": round(delay_s, 3),
            "error": describe_failure(exc),
        },
        keep=False,
    )


def _on_switch(
    role: str, label: str, following: str | None, error_class: str, exc: BaseException
) -> None:
    record = {
        "role": role,
        "from_model": label.split("#")[0],
        "to_model": following.split("#")[0] if following else None,
        "error_class": error_class,
        "error": describe_failure(exc),
    }
    emit_event("fallback", record, keep=True)
    observed = {key: record[key] for key in ("role", "from_model", "to_model")}
    emit("fallback", **observed, reason=error_class, error=error_name(exc))
