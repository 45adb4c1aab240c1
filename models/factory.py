"""Chat models from a spec string: ``demo`` or ``openai:<model>``.

The default (empty spec) is ``openai:<OPENAI_MODEL or gpt-4o-mini>`` when ``OPENAI_API_KEY`` is
set and the offline ``demo`` model otherwise, with a one-line notice on stderr saying which.
``openai:`` uses langchain-openai's `ChatOpenAI`, which honours ``OPENAI_BASE_URL``: point it
at vLLM, Ollama or LiteLLM to run the same graphs on a local model.
"""

from __future__ import annotations

import functools
import os
import sys

from langchain_core.language_models import BaseChatModel

from models.heuristic import HeuristicDemoModel

__all__ = ["DEFAULT_OPENAI_MODEL", "create_chat_model", "resolve_model_spec"]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
MODEL_ENV = "AGENT_PATTERNS_MODEL"


def resolve_model_spec(spec: str | None = None) -> str:
    """The spec that will be used: the argument, ``AGENT_PATTERNS_MODEL``, or the default.

    Raises:
        ValueError: for a spec that names no known provider.
    """
    chosen = (spec or os.environ.get(MODEL_ENV) or "").strip()
    if not chosen:
        if os.environ.get("OPENAI_API_KEY"):
            chosen = f"openai:{os.environ.get('OPENAI_MODEL') or DEFAULT_OPENAI_MODEL}"
        else:
            chosen = "demo"
        _notice_default(chosen)
    provider, _, name = chosen.partition(":")
    if provider == "demo" and not name:
        return "demo"
    if provider == "openai" and name:
        return chosen
    raise ValueError(
        f"Unknown model spec {chosen!r}: use 'demo' or 'openai:<model>' (for example "
        f"'openai:{DEFAULT_OPENAI_MODEL}'; set OPENAI_BASE_URL for vLLM, Ollama or LiteLLM)."
    )


@functools.cache
def _notice_default(chosen: str) -> None:
    if chosen == "demo":
        print(
            "[agent-patterns] no OPENAI_API_KEY: using the offline demo model (keyword "
            "heuristics, not an LLM).",
            file=sys.stderr,
        )
    else:
        print(f"[agent-patterns] OPENAI_API_KEY is set: using {chosen}.", file=sys.stderr)


def create_chat_model(spec: str | None = None, **kwargs: object) -> BaseChatModel:
    """Build a chat model from a spec.

    Args:
        spec: ``"demo"``, ``"openai:<model>"`` or empty for the default (see module docs).
        **kwargs: passed to `ChatOpenAI` (temperature, timeout, max_retries ...).

    Returns:
        A chat model that supports tool calling and structured output.
    """
    resolved = resolve_model_spec(spec)
    if resolved == "demo":
        return HeuristicDemoModel()
    from langchain_openai import ChatOpenAI

    options: dict[str, object] = {
        "model": resolved.split(":", 1)[1],
        "temperature": 0,
        # A hung request must not hang the run: the client gives up after this long. Retries
        # are the model-call path's (nodes.model_chain: classified, Retry-After honoured,
        # then the fallback chain), so the client itself does not retry.
        "timeout": float(os.environ.get("OPENAI_TIMEOUT", "60")),
        "max_retries": 0,
    }
    base_url = os.environ.get("OPENAI_BASE_URL")
    if base_url:
        options["base_url"] = base_url
    options.update(kwargs)
    return ChatOpenAI(**options)  # type: ignore[arg-type]
