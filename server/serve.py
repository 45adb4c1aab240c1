"""``make serve``: start ``langgraph dev`` only in a configuration that is safe to listen with.

``python -m server.serve [langgraph dev options]`` checks the configuration, then replaces
itself with ``langgraph dev --no-browser [options]``:

- **Credentials** (`server.credentials`) are loaded first, so a malformed
  ``AGENT_PATTERNS_TOKENS`` or JWT setting stops here with its message.
- **No credentials at all**: on a loopback host (the default ``127.0.0.1``) a random admin
  token is generated for this run and printed, so Studio and the SDK work for the local
  developer; on any other host (``--host 0.0.0.0``) it refuses to start and says why.
- **CORS**: ``AGENT_PATTERNS_CORS_ORIGINS`` (comma-separated origins, none by default) becomes
  LangGraph's ``CORS_ALLOW_ORIGINS``; ``*`` is refused.
- **Operator policy** (`state.policy`) is validated too.
- **One checkpointer per server directory.** `langgraph dev` keeps its list of threads in
  ``.langgraph_api/`` while their checkpoints live in the configured checkpointer; after a
  switch (SQLite to Postgres, say) it would list threads that have no state. The checkpointer a
  directory was served with is recorded there; when it changes, the old ``.langgraph_api/`` is
  moved aside (nothing is deleted) and the new server starts with an empty thread list.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from server.checkpointer import server_checkpointer_url
from server.credentials import Credentials, NoCredentials
from server.tokens import TOKENS_ENV, ConfigError
from state.policy import OperatorPolicy, PolicyError

__all__ = ["CORS_ENV", "LOCAL_DEVELOPER", "main", "prepare", "set_aside_other_checkpointers"]

API_DIR = Path(".langgraph_api")
CHECKPOINTER_MARKER = "agent_patterns_checkpointer"

CORS_ENV = "AGENT_PATTERNS_CORS_ORIGINS"
LOCAL_DEVELOPER = "developer"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _host(args: Sequence[str]) -> str:
    """The ``--host`` among `langgraph dev`'s arguments (its default: 127.0.0.1)."""
    host = "127.0.0.1"
    for index, arg in enumerate(args):
        if arg == "--host" and index + 1 < len(args):
            host = args[index + 1]
        elif arg.startswith("--host="):
            host = arg.split("=", 1)[1]
    return host


def _cors_origins(environ: Mapping[str, str]) -> str | None:
    origins = [o.strip() for o in environ.get(CORS_ENV, "").split(",") if o.strip()]
    if "*" in origins:
        raise ConfigError(f"{CORS_ENV}: '*' is not allowed; list the origins that may call")
    return ",".join(origins) or None


def prepare(args: Sequence[str], environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The environment `langgraph dev` runs with and lines to tell the user.

    Raises:
        ConfigError: invalid credentials or CORS origins, or no credentials on a public host.
        PolicyError: an invalid operator policy variable.
    """
    env = dict(environ)
    notes: list[str] = []
    OperatorPolicy.from_env(env)
    host = _host(args)
    try:
        Credentials.from_env(env)
    except NoCredentials:
        if host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"refusing to listen on {host}: no credentials configured. Set {TOKENS_ENV} "
                "(or a JWT key) before serving beyond 127.0.0.1."
            ) from None
        token = secrets.token_urlsafe(32)
        env[TOKENS_ENV] = f"{token}={LOCAL_DEVELOPER}:admin"
        notes += [
            f"No {TOKENS_ENV} configured: generated a local admin token for this run "
            f"(user '{LOCAL_DEVELOPER}'); it is valid until the server stops.",
            f"    Authorization: Bearer {token}",
        ]
    origins = _cors_origins(env)
    env.pop("CORS_ALLOW_ORIGINS", None)
    if origins:
        env["CORS_ALLOW_ORIGINS"] = origins
        notes.append(f"CORS: allowing {origins}")
    return env, notes


def _fingerprint(url: str) -> str:
    """A stable id of the checkpointer URL that does not keep its password on disk."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def set_aside_other_checkpointers(url: str, api_dir: Path = API_DIR) -> str | None:
    """Record `url` as the checkpointer of `api_dir`; move a directory of another one aside.

    Returns:
        A line for the user when a directory was moved aside, else None.
    """
    marker = api_dir / CHECKPOINTER_MARKER
    fingerprint = _fingerprint(url)
    note = None
    if marker.is_file() and marker.read_text().strip() != fingerprint:
        moved = api_dir.with_name(f"{api_dir.name}.previous-{time.strftime('%Y%m%d-%H%M%S')}")
        api_dir.rename(moved)
        note = (
            f"The checkpointer changed since this directory was last served: the old server "
            f"state (its thread list) moved to {moved}/; threads start afresh on the new one."
        )
    api_dir.mkdir(exist_ok=True)
    marker.write_text(fingerprint + "\n")
    return note


def main(argv: Sequence[str] | None = None) -> int:
    """Check the configuration and exec ``langgraph dev``; 2 on a configuration error."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        env, notes = prepare(args, os.environ)
    except (ConfigError, PolicyError) as exc:
        print(f"make serve: {exc}", file=sys.stderr)
        return 2
    moved = set_aside_other_checkpointers(server_checkpointer_url())
    for line in [*notes, *([moved] if moved else [])]:
        print(line, file=sys.stderr, flush=True)
    beside = Path(sys.executable).parent / "langgraph"
    langgraph = str(beside) if beside.exists() else shutil.which("langgraph") or "langgraph"
    os.execvpe(langgraph, [langgraph, "dev", "--no-browser", *args], env)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
