"""The operations console in a real browser (Debian's Chromium, headless, driven by Playwright).

One `langgraph dev` for the module (Postgres checkpoints, the project's auth). A reviewer
logs in with her token, sees runs by status, opens a run's timeline and approves a pending
hitl refund; the refund happens exactly once. An admin retries a dead-lettered run (a react
run whose model timed out until its retries were spent, written by this process into the
server's database), approves the refund the retried run asks for (exactly once, and the
letter cannot be retried twice), and discards another letter, which needs a reason. The
budgets and breakers view shows a cap and an open breaker; the admin resets the breaker.

``AGENT_PATTERNS_SCREENSHOTS=docs/ops`` saves a screenshot of each view there.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from checkpointers.breakers import default_breaker_store
from checkpointers.dead_letters import DeadLetter, default_dead_letters
from checkpointers.factory import open_checkpointer
from graphs.registry import build_graph
from models.scripted import ScriptedChatModel
from nodes.budget_caps import Budgets
from nodes.controls import Controls, RetrySettings
from nodes.runtime import PatternRuntime
from ops.dead_letters import invoke_or_dead_letter
from tests.conftest import fresh_database
from tests.integration.devserver import TEST_USERS, DevServer, running_dev_server
from tests.security._server import REFUND_A1001, REFUND_A1002

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS_ENV = "AGENT_PATTERNS_SCREENSHOTS"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """The module server's own database (the dead letters are written into it here)."""
    with fresh_database("ap_ops_console") as url:
        yield url


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One authenticated `langgraph dev` for this module."""
    with running_dev_server(database, tmp_path_factory.mktemp("ops-console")) as dev:
        yield dev


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian's package (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab (its own sessionStorage) with a wide viewport for screenshots."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()


def _screenshot(page: Any, name: str) -> None:
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _log_in(page: Any, server: DevServer, user: str) -> None:
    page.goto(f"{server.url}/ops/")
    page.fill("#token", TEST_USERS[user][0])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(f"#who:has-text('{user}')")
    page.wait_for_selector("body[data-loaded='runs']", state="attached")


def _open(page: Any, view: str) -> None:
    page.click(f"#tabs button[data-view='{view}']")
    page.wait_for_selector(f"body[data-loaded='{view}']", state="attached")


def _refunds_of(server: DevServer, order: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in server.refunds()]
    return [r for r in found if order in json.dumps(r)]


def _client(server: DevServer, user: str) -> Any:
    """A synchronous SDK client (Playwright's sync API keeps an event loop in this thread)."""
    return get_sync_client(url=server.url, api_key=None, headers=server.headers(user))


def _hitl_thread_at_gate(server: DevServer) -> str:
    alice = _client(server, "alice")
    thread = alice.threads.create()
    message: Any = {"messages": [{"role": "user", "content": REFUND_A1002}]}
    alice.runs.wait(thread["thread_id"], "hitl", input=message)
    state: Any = alice.threads.get_state(thread["thread_id"])
    assert state["interrupts"], state
    return str(thread["thread_id"])


def test_a_bad_token_is_refused_at_login(page: Any, server: DevServer) -> None:
    page.goto(f"{server.url}/ops/")
    page.fill("#token", "not-a-token-0123456789")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:has-text('refused')")
    assert page.is_hidden("#main")


def test_a_reviewer_sees_runs_a_timeline_and_approves_a_refund_once(
    page: Any, server: DevServer
) -> None:
    server.fresh_payment_log()
    thread_id = _hitl_thread_at_gate(server)
    _log_in(page, server, "rita")

    row = page.wait_for_selector(f"#runs-table tr[data-thread='{thread_id}']")
    assert "waiting" in row.inner_text() and "waits for" in row.inner_text()
    assert "waiting" in page.inner_text("#runs-counts")

    row.query_selector("button:has-text('Timeline')").click()
    page.wait_for_selector("#timeline-table tr.event-step")
    assert thread_id in page.inner_text("#timeline-thread")
    assert "waiting" in page.inner_text("#timeline-detail")
    steps = page.inner_text("#timeline-table")
    assert "recommend" in steps and "check_policy" in steps
    _screenshot(page, "timeline.png")

    _open(page, "approvals")
    card = page.wait_for_selector(f"article.approval[data-thread='{thread_id}']")
    text = card.inner_text()
    assert "refund" in text and "A-1002" in text
    assert "Recommendation" in text and "Policy checks" in text
    _screenshot(page, "approvals.png")
    card.query_selector("input[aria-label=reason]").fill("damaged in transit, photos attached")
    card.query_selector("button[data-decision=accept]").click()
    page.wait_for_selector("#message:has-text('Decided (accept)')")

    assert len(_refunds_of(server, "A-1002")) == 1
    expect(page.locator(f"article.approval[data-thread='{thread_id}']")).to_have_count(0)
    _open(page, "runs")
    row = page.wait_for_selector(f"#runs-table tr[data-thread='{thread_id}']")
    assert "finished" in row.inner_text()
    assert len(_refunds_of(server, "A-1002")) == 1


def _dead_lettered_react_thread(server: DevServer, database: str) -> tuple[str, str]:
    """Alice's react thread whose model timed out until its retries were spent; its letter."""

    thread_id = str(_client(server, "alice").threads.create()["thread_id"])
    retry = RetrySettings(max_attempts=3, initial_delay_s=0, jitter=0)
    timeouts: list[Any] = [TimeoutError("the model timed out") for _ in range(3)]
    with open_checkpointer(database) as saver:
        runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=retry))
        graph = build_graph("react", model=ScriptedChatModel(replies=timeouts), runtime=runtime)
        config: Any = {
            "configurable": {"thread_id": thread_id},
            "metadata": {"owner": "alice", "graph_id": "react"},
        }
        message = {"messages": [{"role": "user", "content": REFUND_A1001}]}
        with pytest.raises(TimeoutError) as failed:
            invoke_or_dead_letter(graph, message, config, graph_id="react")
    return thread_id, str(failed.value.dead_letter_id)  # type: ignore[attr-defined]


def _failed_react_thread(server: DevServer, database: str) -> str:
    """Alice's react thread whose model call failed (no dead letter: a plain failed run)."""
    thread_id = str(_client(server, "alice").threads.create()["thread_id"])
    retry = RetrySettings(max_attempts=1, initial_delay_s=0, jitter=0)
    with open_checkpointer(database) as saver:
        runtime = PatternRuntime(checkpointer=saver, controls=Controls(model_retry=retry))
        model = ScriptedChatModel(replies=[TimeoutError("the model timed out")])
        graph = build_graph("react", model=model, runtime=runtime)
        config: Any = {
            "configurable": {"thread_id": thread_id},
            "metadata": {"owner": "alice", "graph_id": "react"},
        }
        message = {"messages": [{"role": "user", "content": REFUND_A1001}]}
        with pytest.raises(TimeoutError):
            graph.invoke(message, config, durability="sync")
    return thread_id


def test_an_owner_retries_a_failed_run_from_the_runs_view(
    page: Any, server: DevServer, database: str
) -> None:
    server.fresh_payment_log()
    thread_id = _failed_react_thread(server, database)
    _log_in(page, server, "alice")
    page.select_option("#runs-status", "failed")
    page.click("#runs-filter button[type=submit]")
    row = page.locator(f"#runs-table tr[data-thread='{thread_id}']")
    expect(row).to_contain_text("failed")
    expect(row).to_contain_text("TimeoutError")
    row.locator("button:has-text('Retry')").click()
    expect(page.locator("#message")).to_contain_text(f"Retried {thread_id}: waiting")
    assert _refunds_of(server, "A-1001") == []  # the retried run waits for a reviewer
    again = _api(page, "POST", f"/ops/api/runs/{thread_id}/retry")
    assert again["status"] == 409, again
    page.select_option("#runs-status", "")
    page.click("#runs-filter button[type=submit]")
    expect(row).to_contain_text("waiting")


def _poison_event_letter(database: str) -> str:
    with open_checkpointer(database) as saver:
        letter = default_dead_letters(saver).add(
            DeadLetter(source="event", error_class="fixable", error="not JSON", payload="{oops")
        )
    return letter.id


def test_an_admin_retries_a_dead_letter_once_and_discards_one_with_a_reason(
    page: Any, server: DevServer, database: str
) -> None:
    server.fresh_payment_log()
    thread_id, letter_id = _dead_lettered_react_thread(server, database)
    poison_id = _poison_event_letter(database)
    _log_in(page, server, "root")

    _open(page, "dead-letters")
    row = page.wait_for_selector(f"#dlq-table tr[data-letter='{letter_id}']")
    assert "TimeoutError" in row.inner_text() and "alice" in row.inner_text()
    page.wait_for_selector(f"#dlq-table tr[data-letter='{poison_id}']")
    _screenshot(page, "dead_letters.png")

    row.query_selector("button:has-text('Retry')").click()
    page.wait_for_selector(f"#message:has-text('Dead letter {letter_id}: retried')")
    assert "waiting" in page.inner_text("#message")  # the retried run asks for its refund
    expect(page.locator(f"#dlq-table tr[data-letter='{letter_id}']")).to_have_count(0)  # not open
    page.select_option("#dlq-status", "")
    page.click("#dlq-filter button[type=submit]")
    retried = page.wait_for_selector(f"#dlq-table tr[data-letter='{letter_id}']")
    assert "retried by root" in retried.inner_text()
    assert retried.query_selector("button:has-text('Retry')") is None

    _open(page, "approvals")
    card = page.wait_for_selector(f"article.approval[data-thread='{thread_id}']")
    assert "A-1001" in card.inner_text()
    card.query_selector("button[data-decision=accept]").click()
    page.wait_for_selector("#message:has-text('Decided (accept)')")
    assert len(_refunds_of(server, "A-1001")) == 1

    again = _api(page, "POST", f"/ops/api/dead-letters/{letter_id}/retry")
    assert again["status"] == 409, again
    assert len(_refunds_of(server, "A-1001")) == 1

    _open(page, "dead-letters")
    page.select_option("#dlq-status", "open")
    page.click("#dlq-filter button[type=submit]")
    poison = page.locator(f"#dlq-table tr[data-letter='{poison_id}']")
    poison.locator("button:has-text('Discard')").click()
    expect(page.locator("#message")).to_contain_text("needs a reason")
    poison.locator("input[aria-label='discard reason']").fill("malformed test event")
    poison.locator("button:has-text('Discard')").click()
    expect(page.locator("#message")).to_contain_text(f"Dead letter {poison_id}: discarded")
    expect(poison).to_have_count(0)  # the open list no longer has it
    page.select_option("#dlq-status", "discarded")
    page.click("#dlq-filter button[type=submit]")
    expect(poison).to_contain_text("discarded by root (malformed test event)")


def _api(page: Any, method: str, path: str) -> dict[str, Any]:
    """Call the ops API from the page with its stored token; the status and body."""
    result: dict[str, Any] = page.evaluate(
        """async ([method, path]) => {
            const token = sessionStorage.getItem("agent-patterns-ops-token");
            const response = await fetch(path, { method, headers: {
                Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
                body: method === "POST" ? "{}" : undefined });
            return { status: response.status, body: await response.json() };
        }""",
        [method, path],
    )
    return result


def test_budgets_and_breakers_are_shown_and_an_admin_resets_a_breaker(
    page: Any, server: DevServer, database: str
) -> None:
    key = f"model:demo:flaky-{uuid.uuid4().hex[:6]}"
    with open_checkpointer(database) as saver:
        Budgets.for_checkpointer(saver).set_caps("user:alice", daily_usd=2.5, by="ops")
        store = default_breaker_store(saver)
        store.record_failure(key, "TimeoutError: read timed out", threshold=1, window_s=60)
    _log_in(page, server, "root")
    _open(page, "budgets")
    assert "user:alice" in page.inner_text("#budgets-table")
    assert "$2.5000" in page.inner_text("#budgets-table")
    row = page.wait_for_selector(f"#breakers-table tr:has-text('{key}')")
    assert "open" in row.inner_text()
    _screenshot(page, "budgets.png")
    row.query_selector("button:has-text('Reset')").click()
    page.wait_for_selector(f"#message:has-text('Breaker {key} reset')")
    page.wait_for_selector(f"#breakers-table tr:has-text('{key}')", state="detached")
    with open_checkpointer(database) as saver:
        assert key not in {state.key for state in default_breaker_store(saver).states()}

    alice = page.context.browser.new_context().new_page()
    _log_in(alice, server, "alice")
    _open(alice, "budgets")
    assert "user:alice" in alice.inner_text("#budgets-table")
    assert "reviewers and admins only" in alice.inner_text("#breakers-note")
    alice.context.close()

    _open(page, "runs")  # every thread of the module's tests, in their states, for the docs
    expect(page.locator("#runs-counts")).to_contain_text("finished")
    _screenshot(page, "runs.png")
