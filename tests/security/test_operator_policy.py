"""Finding 2: a client may tighten a safeguard through the run context, never loosen it.

Through the server: ``approval_policy: never`` (in the context or the configurable) and raised
hitl limits on the 420.00 refund of order A-1002 are refused with 403 naming the field, the
value asked for and the operator's, and nothing is refunded; stricter values run. Without a
server: the operator's stricter values fill in what a run leaves out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from server.run_policy import enforce_operator_policy
from state.policy import OperatorPolicy, PolicyError
from tests.integration.devserver import DevServer, running_dev_server
from tests.security._server import REFUND_A1001, REFUND_A1002, status, thread_at_gate

LOOSER = [
    ("react", REFUND_A1001, {"context": {"approval_policy": "never"}}, "approval_policy"),
    ("react", REFUND_A1001, {"config": {"configurable": {"approval_policy": "never"}}}, "never"),
    ("hitl", REFUND_A1002, {"context": {"auto_approve_limit": 1000.0}}, "auto_approve_limit"),
    ("hitl", REFUND_A1002, {"context": {"max_fraud_score": 1.0}}, "max_fraud_score"),
    ("react", REFUND_A1001, {"context": {"max_steps": 50}}, "max_steps"),
    ("plan_execute", REFUND_A1001, {"context": {"approve_plan": False}}, "approve_plan"),
]


@pytest.mark.server
@pytest.mark.postgres
@pytest.mark.parametrize(("graph", "text", "run", "named"), LOOSER)
async def test_f02_a_looser_safeguard_in_the_run_is_refused(
    dev_server: DevServer, graph: str, text: str, run: dict[str, Any], named: str
) -> None:
    async with dev_server.client("alice") as alice:
        thread = await alice.threads.create()
        message: Any = {"messages": [{"role": "user", "content": text}]}
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await alice.runs.wait(thread["thread_id"], graph, input=message, **run)
        state: Any = await alice.threads.get_state(thread["thread_id"])
        runs = await alice.runs.list(thread["thread_id"])
    assert refused.value.response.status_code == 403
    detail = refused.value.response.text
    assert named in detail and "operator" in detail, detail
    assert runs == [] and not state["values"], "the refused run ran"
    assert dev_server.refunds() == []


@pytest.mark.server
@pytest.mark.postgres
async def test_f02_the_hitl_limits_cannot_be_raised_together(dev_server: DevServer) -> None:
    """The attack of the finding: both limits raised auto-approved a 420.00 refund."""
    context = {"auto_approve_limit": 1000.0, "max_fraud_score": 1.0, "model": "demo"}
    async with dev_server.client("alice") as alice:
        thread = await alice.threads.create()
        message: Any = {"messages": [{"role": "user", "content": REFUND_A1002}]}
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await alice.runs.wait(thread["thread_id"], "hitl", input=message, context=context)
    detail = refused.value.response.text
    assert "1000.0" in detail and "100.0" in detail, detail  # asked and allowed, both named
    assert dev_server.refunds() == []


@pytest.mark.server
@pytest.mark.postgres
async def test_f02_a_stricter_safeguard_is_accepted_and_holds(dev_server: DevServer) -> None:
    strict = {"approval_policy": "always", "auto_approve_limit": 10.0, "max_fraud_score": 0.01}
    async with dev_server.client("alice") as alice:
        thread_id = await thread_at_gate(alice, "hitl", REFUND_A1002, context=strict)
        react = await thread_at_gate(alice, context={"approval_policy": "always", "max_steps": 3})
        state: Any = await alice.threads.get_state(thread_id)
    [request] = state["interrupts"][0]["value"]
    assert request["action_request"]["args"]["amount"] == 420.0
    assert react and dev_server.refunds() == []


def test_f02_the_operators_stricter_values_fill_what_a_run_leaves_out() -> None:
    policy = OperatorPolicy(approval_policy="always", auto_approve_limit=50.0)
    kwargs: dict[str, Any] = {"context": {"model": "demo", "auto_approve_limit": 20.0}}
    enforce_operator_policy(kwargs, policy)
    assert kwargs["context"] == {
        "model": "demo",
        "auto_approve_limit": 20.0,  # stricter than the operator's: kept
        "approval_policy": "always",  # named by nobody: the operator's
    }
    empty: dict[str, Any] = {"context": None}
    enforce_operator_policy(empty, policy)
    assert empty["context"] == {"approval_policy": "always", "auto_approve_limit": 50.0}


def test_f02_the_operator_policy_orders_strictness() -> None:
    policy = OperatorPolicy(approval_policy="side-effects", max_steps=8, approve_plan=True)
    assert [v.field for v in policy.violations({"approval_policy": "never"})] == ["approval_policy"]
    assert policy.violations({"approval_policy": "always", "max_steps": 8}) == []
    assert [v.field for v in policy.violations({"approve_plan": "false"})] == ["approve_plan"]
    lenient = OperatorPolicy(approval_policy="never")
    assert lenient.violations({"approval_policy": "side-effects"}) == []
    with pytest.raises(PolicyError):
        policy.violations({"auto_approve_limit": "lots"})
    with pytest.raises(PolicyError, match="AGENT_PATTERNS_MAX_FRAUD_SCORE"):
        OperatorPolicy.from_env({"AGENT_PATTERNS_MAX_FRAUD_SCORE": "nan"})


@pytest.mark.server
@pytest.mark.postgres
async def test_f02_a_nonsense_safeguard_value_is_a_clear_422(dev_server: DevServer) -> None:
    async with dev_server.client("alice") as alice:
        message: Any = {"messages": [{"role": "user", "content": REFUND_A1001}]}
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await alice.runs.wait(None, "react", input=message, context={"max_steps": "many"})
    assert refused.value.response.status_code == 422
    assert "max_steps" in refused.value.response.text


@pytest.mark.server
@pytest.mark.postgres
@pytest.mark.slow
async def test_f02_a_stricter_operator_holds_for_runs_that_name_nothing(
    dev_server: DevServer, postgres_url: str, tmp_path: Path
) -> None:
    """89.99 for A-1001 is refunded automatically by default; under a 50.00 limit it waits."""
    message: Any = {"messages": [{"role": "user", "content": "Refund order A-1001, it broke."}]}
    async with dev_server.client("alice") as alice:
        default: Any = await alice.runs.wait(None, "hitl", input=message)
    assert [a["decision"] for a in default["approvals"]] == ["accept"], default
    assert len(dev_server.refunds()) == 1, "by default the refund is automatic"

    strict = {"AGENT_PATTERNS_AUTO_APPROVE_LIMIT": "50"}
    with running_dev_server(postgres_url, tmp_path, env=strict) as server:
        async with server.client("alice") as alice:
            thread_id = await thread_at_gate(alice, "hitl", "Refund order A-1001, it broke.")
            other = await thread_at_gate(alice)  # react's context has no such field: still runs
            looser = await status(
                alice.runs.wait(None, "hitl", input=message, context={"auto_approve_limit": 100})
            )
            state: Any = await alice.threads.get_state(thread_id)
        refunds = server.refunds()
    assert "above 50.00" in str(state["values"]["policy"]), state["values"]["policy"]
    assert other and looser == 403 and refunds == []


@pytest.mark.server
@pytest.mark.postgres
async def test_f02_a_run_may_tighten_its_budget_and_is_stopped_by_it(dev_server: DevServer) -> None:
    message: Any = {"messages": [{"role": "user", "content": "Where is my order A-1001?"}]}
    async with dev_server.client("alice") as alice:
        done: Any = await alice.runs.wait(
            None, "react", input=message, context={"model": "demo", "max_tokens_per_run": 60}
        )
        nonsense = await status(
            alice.runs.wait(None, "react", input=message, context={"max_tokens_per_run": "lots"})
        )
    last = done["messages"][-1]
    assert last["type"] == "ai" and last["name"] == "budget", last
    assert "max_tokens_per_run=60" in last["content"]
    assert done["run_stop"]["kind"] == "budget"
    assert nonsense == 422


@pytest.mark.server
@pytest.mark.postgres
@pytest.mark.slow
async def test_f02_the_operators_run_budget_and_fallback_chain_hold(
    postgres_url: str, tmp_path: Path
) -> None:
    """A budget or a fallback model looser than the operator's is refused; none named: his."""
    env = {"AGENT_PATTERNS_MAX_TOKENS_PER_RUN": "60", "AGENT_PATTERNS_FALLBACK_MODELS": "demo"}
    message: Any = {"messages": [{"role": "user", "content": "Where is my order A-1001?"}]}
    with running_dev_server(postgres_url, tmp_path, env=env) as server:
        async with server.client("alice") as alice:
            looser = await status(
                alice.runs.wait(None, "react", input=message, context={"max_tokens_per_run": 10**6})
            )
            other_model = await status(
                alice.runs.wait(
                    None, "react", input=message, context={"fallback_models": ["openai:gpt-4o"]}
                )
            )
            done: Any = await alice.runs.wait(
                None, "react", input=message, context={"model": "demo"}
            )
    assert looser == 403 and other_model == 403
    last = done["messages"][-1]
    assert last["name"] == "budget" and "max_tokens_per_run=60" in last["content"], last
