"""What a worker runs a run with: the operator's policy holds on workers as on the server.

Anyone who can publish to the broker can submit a run, so the worker (not the client) applies
the operator's policy from its own environment, then its model override.
"""

from __future__ import annotations

import pytest

from state.policy import PolicyError
from workers.overrides import run_context


def test_a_looser_safeguard_submitted_to_a_worker_is_refused() -> None:
    with pytest.raises(PolicyError, match="approval_policy"):
        run_context({"approval_policy": "never"}, environ={})
    strict = {"AGENT_PATTERNS_MAX_TOKENS_PER_RUN": "1000"}
    with pytest.raises(PolicyError, match="max_tokens_per_run"):
        run_context({"max_tokens_per_run": 50_000}, environ=strict)


def test_the_operators_stricter_values_fill_in_for_the_graphs_fields_only() -> None:
    environ = {"AGENT_PATTERNS_MAX_STEPS": "4", "AGENT_PATTERNS_AUTO_APPROVE_LIMIT": "20"}
    context = run_context({"model": "demo"}, environ=environ, fields={"model", "max_steps"})
    assert context == {"model": "demo", "max_steps": 4}  # no hitl field for a react graph
    stricter = run_context({"max_steps": 2}, environ=environ, fields={"max_steps"})
    assert stricter == {"max_steps": 2}


def test_the_worker_model_applies_unless_the_run_names_one() -> None:
    environ = {"AGENT_PATTERNS_WORKER_MODEL": "openai:local"}
    assert run_context({}, environ=environ)["model"] == "openai:local"
    assert run_context({"model": "demo"}, environ=environ)["model"] == "demo"
