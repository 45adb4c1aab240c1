"""Finding 1: ``make serve`` never listens beyond 127.0.0.1 without credentials.

`server.serve.prepare` is what ``make serve`` (``python -m server.serve``) checks before it
execs ``langgraph dev``; the test servers go through it too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.credentials import Credentials
from server.serve import prepare
from server.tokens import ConfigError
from state.policy import PolicyError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKENS = "a-long-enough-token-0001=ana:admin"


@pytest.mark.parametrize("host", [["--host", "0.0.0.0"], ["--host=192.168.1.5"], ["--host", "::"]])
def test_f01_no_credentials_and_a_public_host_is_refused(host: list[str]) -> None:
    with pytest.raises(ConfigError, match="refusing to listen"):
        prepare(["--port", "2024", *host], {})


def test_f01_no_credentials_on_loopback_gets_a_generated_admin_token() -> None:
    env, notes = prepare([], {"PATH": "/usr/bin"})
    [header] = [line.strip() for line in notes if "Authorization: Bearer" in line]
    principal = Credentials.from_env(env).principal(header.removeprefix("Authorization: "))
    assert principal is not None and principal.role == "admin"
    other, _ = prepare([], {})
    assert other["AGENT_PATTERNS_TOKENS"] != env["AGENT_PATTERNS_TOKENS"], "not random"


def test_f01_configured_tokens_may_listen_publicly_and_cors_is_mapped() -> None:
    env, notes = prepare(
        ["--host", "0.0.0.0"],
        {
            "AGENT_PATTERNS_TOKENS": TOKENS,
            "AGENT_PATTERNS_CORS_ORIGINS": "https://a.example, https://b.example",
            "CORS_ALLOW_ORIGINS": "*",
        },
    )
    assert env["AGENT_PATTERNS_TOKENS"] == TOKENS
    assert env["CORS_ALLOW_ORIGINS"] == "https://a.example,https://b.example"
    assert not any("Bearer" in line for line in notes)
    quiet, _ = prepare([], {"AGENT_PATTERNS_TOKENS": TOKENS, "CORS_ALLOW_ORIGINS": "*"})
    assert "CORS_ALLOW_ORIGINS" not in quiet, "an inherited '*' must not survive"


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"AGENT_PATTERNS_TOKENS": "short=ana:admin"}, ConfigError),
        ({"AGENT_PATTERNS_TOKENS": "a-long-enough-token-0001=ana"}, ConfigError),
        ({"AGENT_PATTERNS_TOKENS": TOKENS, "AGENT_PATTERNS_CORS_ORIGINS": "*"}, ConfigError),
        ({"AGENT_PATTERNS_JWT_SECRET": "too-short"}, ConfigError),
        ({"AGENT_PATTERNS_TOKENS": TOKENS, "AGENT_PATTERNS_APPROVAL_POLICY": "maybe"}, PolicyError),
    ],
)
def test_f01_bad_configuration_stops_before_serving(
    environ: dict[str, str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        prepare([], environ)


def test_f01_the_serve_command_says_why_it_refuses() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "server.serve", "--host", "0.0.0.0"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2, completed
    assert "refusing to listen on 0.0.0.0" in completed.stderr
    assert "AGENT_PATTERNS_TOKENS" in completed.stderr
