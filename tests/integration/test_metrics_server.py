"""``GET /metrics`` on a real `langgraph dev`: its numbers match the runs made through the SDK.

One server for the module (its own database and directory, so no other test's runs are
counted). alice asks the ReAct agent two order questions and one refund; the refund stops at
the approval gate and rita accepts it. The admin's scrape must show exactly those runs per
graph and outcome, as many tool calls as the threads hold tool results (one refund, with a
side effect), one approval requested and decided, none pending, and latency histograms the
quantiles are computed from. Without a token the route is 401, for a user or a reviewer 403,
and LangGraph's own ``/metrics`` never answers. The ``agent-patterns metrics`` command reads
the same server. The only stand-in is the offline demo model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from cli.__main__ import main as cli_main
from observability.metrics_snapshot import parse_snapshot, samples
from tests.conftest import fresh_database
from tests.integration.devserver import TEST_USERS, DevServer, running_dev_server

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

QUESTIONS = ["Where is my order A-1002?", "Where is my order A-1003?"]
REFUND = "My order A-1001 arrived broken, please refund it."
P = "agent_patterns_"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """This module's own server: its metrics count only this module's runs."""
    with fresh_database("ap_metrics") as database:
        with running_dev_server(database, tmp_path_factory.mktemp("metrics-dev")) as dev:
            yield dev


def _scrape(server: DevServer, user: str | None = "root") -> httpx.Response:
    headers = server.headers(user) if user else {}
    return httpx.get(f"{server.url}/metrics", headers=headers, timeout=30)


def _total(text: str, name: str, **labels: str) -> float:
    rows = samples(text).get(P + name, [])
    return sum(v for lb, v in rows if all(lb.get(k) == want for k, want in labels.items()))


async def _ask(client: LangGraphClient, text: str) -> str:
    thread = await client.threads.create()
    question: Any = {"messages": [{"role": "user", "content": text}]}
    await client.runs.wait(thread["thread_id"], "react", input=question)
    return str(thread["thread_id"])


async def _tool_results(client: LangGraphClient, thread_ids: list[str]) -> list[str]:
    """The names of the tools whose results the threads hold (one per executed call)."""
    names = []
    for thread_id in thread_ids:
        state: Any = await client.threads.get_state(thread_id)
        names += [m["name"] for m in state["values"]["messages"] if m["type"] == "tool"]
    return names


async def _make_runs(server: DevServer) -> list[str]:
    """Two answered questions, one refund stopped at the gate, then accepted: four runs."""
    async with server.client("alice") as alice, server.client("rita") as rita:
        threads = [await _ask(alice, question) for question in QUESTIONS]
        refund_thread = await _ask(alice, REFUND)
        waiting: Any = await alice.threads.get_state(refund_thread)
        assert waiting["next"] == ["approval_gate"], server.explain(f"no gate: {waiting!r}")
        await rita.runs.wait(
            refund_thread, "react", command={"resume": [{"type": "accept", "args": None}]}
        )
        done: Any = await alice.threads.get_state(refund_thread)
        assert done["next"] == [], done
        return await _tool_results(alice, [*threads, refund_thread])


async def test_the_scrape_matches_the_runs_made(server: DevServer) -> None:
    before = _scrape(server)
    assert before.status_code == 200, server.explain(before.text)
    assert _total(before.text, "runs_total") == 0  # a fresh process: nothing counted yet

    tools = await _make_runs(server)
    text = _scrape(server).text

    runs = {o: _total(text, "runs_total", graph_id="react", outcome=o) for o in
            ("success", "interrupted", "error", "stopped")}  # fmt: skip
    assert runs == {"success": 3, "interrupted": 1, "error": 0, "stopped": 0}, text
    assert _total(text, "runs_total") == 4
    assert _total(text, "run_duration_seconds_count", graph_id="react") == 4

    assert "issue_refund" in tools, tools
    assert _total(text, "tool_calls_total") == len(tools), (tools, text)
    for tool in set(tools):
        assert _total(text, "tool_calls_total", tool=tool) == tools.count(tool), tool
    assert _total(text, "tool_calls_total", tool="issue_refund", side_effect="true") == 1
    assert _total(text, "tool_failures_total") == 0
    assert len(server.refunds()) == 1

    assert _total(text, "approvals_requested_total", tool="issue_refund") == 1
    assert _total(text, "approvals_decided_total", tool="issue_refund", decision="accept") == 1
    assert _total(text, "approvals_pending") == 0
    assert _total(text, "approval_wait_seconds_count", decision="accept") == 1
    assert _total(text, "model_calls_total") >= 4  # at least one model call per run

    react = parse_snapshot(text).patterns["react"]
    assert react.runs == 4 and react.success_rate == 1.0
    p50, p95, p99 = (react.latency[q] for q in (0.5, 0.95, 0.99))
    assert p50 is not None and p95 is not None and p99 is not None
    assert 0 < p50 <= p95 <= p99


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer test-token-root-0123456780"}, {"Authorization": "Basic x"}],
    ids=["none", "wrong token", "not bearer"],
)
def test_without_a_valid_token_it_is_401(server: DevServer, headers: dict[str, str]) -> None:
    response = httpx.get(f"{server.url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 401, response.text
    assert P not in response.text


@pytest.mark.parametrize("user", ["alice", "rita"])
def test_a_user_or_reviewer_gets_403(server: DevServer, user: str) -> None:
    response = _scrape(server, user)
    assert response.status_code == 403, response.text
    assert P not in response.text and "admins only" in response.text


def test_the_admin_gets_ours_not_langgraphs_metrics(server: DevServer) -> None:
    response = _scrape(server)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {name.rsplit("_", 1)[0] for name in samples(response.text)}
    assert families and all(name.startswith("agent_patterns") for name in families), families


async def test_the_cli_prints_the_snapshot_and_the_raw_text(
    server: DevServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with server.client("alice") as alice:
        await _ask(alice, QUESTIONS[0])  # at least one react run, whatever ran before
    runs = _total(_scrape(server).text, "runs_total", graph_id="react")
    monkeypatch.setenv("AGENT_PATTERNS_TOKEN", TEST_USERS["root"][0])
    assert cli_main(["metrics", "--url", server.url]) == 0
    out = capsys.readouterr().out
    assert "Runs per pattern" in out and "P95" in out, out
    runs_table = out.split("Runs per pattern\n", 1)[1].split("\n\n", 1)[0]
    [react_row] = [line for line in runs_table.splitlines() if line.startswith("react ")]
    assert react_row.split()[1] == f"{runs:.0f}", (react_row, runs)  # the RUNS column
    assert "lookup_order" in out, out

    assert cli_main(["metrics", "--url", server.url, "--raw"]) == 0
    raw = capsys.readouterr().out
    assert _total(raw, "runs_total", graph_id="react") == runs

    monkeypatch.setenv("AGENT_PATTERNS_TOKEN", TEST_USERS["alice"][0])
    assert cli_main(["metrics", "--url", server.url]) == 2
    assert "admins only" in capsys.readouterr().err
    monkeypatch.delenv("AGENT_PATTERNS_TOKEN")
    assert cli_main(["metrics", "--url", server.url]) == 2
    assert "AGENT_PATTERNS_TOKEN" in capsys.readouterr().err
