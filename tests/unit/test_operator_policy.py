"""The operator's policy: looser context values are violations, stricter ones are not."""

from __future__ import annotations

import pytest

from state.policy import OperatorPolicy, PolicyError


@pytest.mark.parametrize(
    ("context", "looser"),
    [
        ({"approval_policy": "never"}, ["approval_policy"]),
        ({"approval_policy": "always"}, []),
        (
            {"auto_approve_limit": 1000, "max_fraud_score": 1.0},
            ["auto_approve_limit", "max_fraud_score"],
        ),
        ({"approve_plan": False}, ["approve_plan"]),
        ({"max_attempts": 10, "time_limit_s": 600}, ["max_attempts", "time_limit_s"]),
        ({"max_attempts": 1, "time_limit_s": 0.5, "max_steps": 2}, []),
        ({"model": "demo", "system_prompt": "anything"}, []),
    ],
)
def test_violations_name_every_looser_field(context: dict[str, object], looser: list[str]) -> None:
    assert [v.field for v in OperatorPolicy().violations(context)] == looser


def test_the_environment_sets_the_sandbox_limits() -> None:
    policy = OperatorPolicy.from_env(
        {"AGENT_PATTERNS_SANDBOX_TIME_LIMIT_S": "2.5", "AGENT_PATTERNS_MAX_ATTEMPTS": "2"}
    )
    assert (policy.time_limit_s, policy.max_attempts) == (2.5, 2)
    assert policy.tightened_defaults() == {"max_attempts": 2, "time_limit_s": 2.5}
    with pytest.raises(PolicyError, match="AGENT_PATTERNS_SANDBOX_TIME_LIMIT_S"):
        OperatorPolicy.from_env({"AGENT_PATTERNS_SANDBOX_TIME_LIMIT_S": "inf"})


def test_run_budgets_may_be_lowered_never_raised_or_removed() -> None:
    policy = OperatorPolicy.from_env(
        {"AGENT_PATTERNS_MAX_TOKENS_PER_RUN": "5000", "AGENT_PATTERNS_MAX_COST_USD_PER_RUN": "0.5"}
    )
    assert policy.violations({"max_tokens_per_run": 1000, "max_cost_usd_per_run": 0.1}) == []
    looser = policy.violations({"max_tokens_per_run": 50_000, "max_cost_usd_per_run": 2})
    assert [v.field for v in looser] == ["max_tokens_per_run", "max_cost_usd_per_run"]
    assert policy.tightened_defaults() == {"max_tokens_per_run": 5000, "max_cost_usd_per_run": 0.5}
    # no operator limit: any limit a run sets is a tightening
    assert OperatorPolicy().violations({"max_seconds_per_run": 30}) == []
    with pytest.raises(PolicyError):
        OperatorPolicy.from_env({"AGENT_PATTERNS_MAX_SECONDS_PER_RUN": "-1"})


def test_a_run_may_only_pick_fallback_models_from_the_operators_chain() -> None:
    policy = OperatorPolicy.from_env(
        {"AGENT_PATTERNS_FALLBACK_MODELS": "openai:gpt-4o-mini, template"}
    )
    assert policy.fallback_models == ("openai:gpt-4o-mini", "template")
    assert policy.violations({"fallback_models": ["template"]}) == []
    [violation] = policy.violations({"fallback_models": ["openai:gpt-5", "template"]})
    assert violation.field == "fallback_models"
    assert policy.tightened_defaults() == {"fallback_models": ("openai:gpt-4o-mini", "template")}
    assert OperatorPolicy().violations({"fallback_models": ["openai:gpt-4o"]}) == []
    with pytest.raises(PolicyError):
        OperatorPolicy().violations({"fallback_models": ["gpt-4o"]})


def test_the_fraud_agent_may_demand_more_evidence_before_a_block_never_less() -> None:
    policy = OperatorPolicy()
    assert policy.violations({"min_block_signals": 3}) == []
    [looser] = policy.violations({"min_block_signals": 1})
    assert looser.field == "min_block_signals"
    stricter = OperatorPolicy.from_env({"AGENT_PATTERNS_MIN_BLOCK_SIGNALS": "3"})
    assert stricter.tightened_defaults() == {"min_block_signals": 3}
    assert [v.field for v in stricter.violations({"min_block_signals": 2})] == ["min_block_signals"]
