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
