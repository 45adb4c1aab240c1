"""``agent-patterns metrics`` mistakes: one line on stderr, exit code 2, no traceback.
(The command against a real server: tests/integration/test_metrics_server.py.)"""

from __future__ import annotations

import socket

import pytest

from cli.__main__ import main


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_no_token_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENT_PATTERNS_TOKEN", raising=False)
    assert main(["metrics", "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no token") and "AGENT_PATTERNS_TOKEN" in err
    assert "Traceback" not in err


def test_an_unreachable_server_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_PATTERNS_URL", f"http://127.0.0.1:{_closed_port()}")
    assert main(["metrics", "--token", "some-admin-token-0123456789"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the server at http://127.0.0.1:" in err and "Traceback" not in err
