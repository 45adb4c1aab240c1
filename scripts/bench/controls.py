"""What the cost and failure controls cost per model call (issue 13), measured side by side.

Every model call now goes through `nodes.model_chain.call_model_chain`: run limits and caps,
the breaker check, the retry wrapper, the fallback chain, the timeout, then usage accounting
and the run's tally. Candidates, on the zero-latency `ScriptedChatModel` (so every number is
the path's own cost) inside a run's config (run id, in-memory saver's side tables):

- **bare**: what a model call did before the controls: ``model.invoke`` and `record_usage`;
- **controlled**: `nodes.ask.invoke_model` with the default controls (no caps set, breaker
  closed, no fallback needed);
- **controlled, capped**: the same with a daily cap set for the user (the caps are read and
  the user's spend summed on every call), on the in-memory saver's tables and on Postgres
  (a fresh database on ``DATABASE_URL``'s server, the usage rows growing as the benchmark
  runs);
- **timed hop**: the default model timeout runs a provider's call on a worker thread (offline
  models run inline): ``_timed`` with a timeout against a direct call, to show that hop's cost.

Reported as ratios (median of paired per-round ratios, with the IQR) and microseconds per call;
no target: the issue asks for the number.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from checkpointers import open_checkpointer
from checkpointers.ledger import RUN_CHECKPOINTER_KEY
from models import ScriptedChatModel
from nodes.ask import invoke_model
from nodes.budget_caps import Budgets
from nodes.controls import CONTROLS_KEY, DEFAULT_CONTROLS
from nodes.model_chain import _timed
from nodes.run_budget import start_run
from nodes.usage import record_usage
from scripts.bench.measure import Finding, interleaved, ratio
from scripts.bench.storage import _fresh_database

CALLS_PER_SAMPLE = 200
PROMPT: list[BaseMessage] = [SystemMessage("Be brief."), HumanMessage("Where is A-1001?")]


def _in_run(saver: InMemorySaver, user: str, work: Callable[[], None]) -> Callable[[], None]:
    """`work` inside a run's config: run id, the saver, the user, the default controls."""
    config: dict[str, Any] = {
        "configurable": {
            "run_id": f"bench-{user}",
            "thread_id": f"bench-{user}",
            RUN_CHECKPOINTER_KEY: saver,
            CONTROLS_KEY: DEFAULT_CONTROLS,
            "langgraph_auth_user_id": user,
        }
    }
    start_run(f"bench-{user}")

    def run() -> None:
        token = var_child_runnable_config.set(config)  # type: ignore[arg-type]
        try:
            work()
        finally:
            var_child_runnable_config.reset(token)

    return run


def _calls(call: Callable[[], object], model: ScriptedChatModel) -> Callable[[], None]:
    def work() -> None:
        for _ in range(CALLS_PER_SAMPLE):
            call()
        model.reset()  # the recorded calls would otherwise grow without bound

    return work


def _candidates(postgres: BaseCheckpointSaver) -> dict[str, Callable[[], None]]:
    model = ScriptedChatModel(replies=["On its way."], cycle=True)
    saver = InMemorySaver()
    Budgets.for_checkpointer(saver).set_caps("user:capped", daily_usd=1000.0)
    Budgets.for_checkpointer(postgres).set_caps("user:capped", daily_usd=1000.0)

    def bare() -> None:
        reply = model.invoke(PROMPT)
        record_usage(model, PROMPT, reply, role="agent")

    def controlled() -> None:
        invoke_model(model, PROMPT, role="agent")

    candidates = {
        "bare": _in_run(saver, "plain", _calls(bare, model)),
        "controlled": _in_run(saver, "plain", _calls(controlled, model)),
        "controlled, capped": _in_run(saver, "capped", _calls(controlled, model)),
        "controlled, capped, Postgres": _in_run(postgres, "capped", _calls(controlled, model)),
        "bare, Postgres": _in_run(postgres, "plain", _calls(bare, model)),
        "direct": _calls(lambda: model.invoke(PROMPT), model),
        "timed hop": _calls(lambda: _timed(model, PROMPT, 120.0), model),
    }
    for work in candidates.values():
        work()  # warm up
    return candidates


def run(quick: bool) -> list[Finding]:
    """The controls' cost per model call, against the bare call and accounting."""
    with _fresh_database() as url, open_checkpointer(url) as postgres:
        samples = interleaved(_candidates(postgres), rounds=9 if quick else 25)
    per_call = {
        name: statistics.median(times) / CALLS_PER_SAMPLE * 1e6 for name, times in samples.items()
    }
    findings = []
    pairs = (
        ("controlled", "bare"),
        ("controlled, capped", "bare"),
        ("controlled, capped, Postgres", "bare, Postgres"),
        ("timed hop", "direct"),
    )
    for name, base in pairs:
        extra = per_call[name] - per_call[base]
        findings.append(
            Finding(
                f"per model call: {name} / {base}",
                ratio(samples[name], samples[base]),
                detail=(
                    f"{name} {per_call[name]:.0f} us, {base} {per_call[base]:.0f} us, "
                    f"+{extra:.0f} us per call"
                ),
            )
        )
    return findings
