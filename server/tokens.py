"""Static bearer tokens the operator configures: ``AGENT_PATTERNS_TOKENS``.

The variable holds comma-separated ``token=user_id:role`` entries, for example
``AGENT_PATTERNS_TOKENS="s3cret-alice-0123456789=alice:user,s3cret-rita-0123456789=rita:reviewer"``.
Roles are ``user``, ``reviewer`` and ``admin`` (see `server.access` for what each may do).
Tokens must be at least `MIN_TOKEN_LENGTH` characters; a malformed entry, an unknown role or
a token listed twice is a configuration error raised at startup, naming the entry (never the
token itself).

A lookup compares the presented token with every configured one in constant time
(`hmac.compare_digest` on SHA-256 digests, no early exit), so response times do not reveal how
much of a token was right.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MIN_TOKEN_LENGTH",
    "ROLES",
    "TOKENS_ENV",
    "ConfigError",
    "Principal",
    "Role",
    "TokenTable",
]

TOKENS_ENV = "AGENT_PATTERNS_TOKENS"
MIN_TOKEN_LENGTH = 16
Role = Literal["user", "reviewer", "admin"]
ROLES: tuple[Role, ...] = ("user", "reviewer", "admin")


class ConfigError(ValueError):
    """The operator's authentication settings are invalid (raised at server start)."""


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: an authenticated user id and its role."""

    user_id: str
    role: Role

    def as_auth_user(self) -> dict[str, object]:
        """The user dict LangGraph's ``@auth.authenticate`` returns (permissions carry the role).

        Example:
            >>> Principal("ana", "reviewer").as_auth_user()["permissions"]
            ['role:reviewer']
        """
        return {
            "identity": self.user_id,
            "display_name": self.user_id,
            "is_authenticated": True,
            "role": self.role,
            "permissions": [f"role:{self.role}"],
        }


def parse_role(value: str, where: str) -> Role:
    """`value` as a role, or a `ConfigError` naming `where` it came from."""
    for role in ROLES:
        if value == role:
            return role
    raise ConfigError(f"{where}: unknown role {value!r}; use one of {', '.join(ROLES)}")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenTable:
    """The configured static tokens and whom each one authenticates."""

    def __init__(self, entries: Mapping[str, Principal]) -> None:
        self._entries = [(_digest(token), principal) for token, principal in entries.items()]

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def parse(cls, spec: str) -> TokenTable:
        """Parse ``token=user_id:role,...``.

        Raises:
            ConfigError: an entry is malformed, a role unknown, a token short or repeated.

        Example:
            >>> table = TokenTable.parse("0123456789abcdef=ana:admin")
            >>> table.lookup("0123456789abcdef")
            Principal(user_id='ana', role='admin')
            >>> table.lookup("0123456789abcdeX") is None
            True
        """
        entries: dict[str, Principal] = {}
        for number, raw in enumerate(spec.split(","), start=1):
            entry = raw.strip()
            if not entry:
                continue
            where = f"{TOKENS_ENV} entry {number}"
            token, equals, identity = entry.partition("=")
            user_id, colon, role = identity.rpartition(":")
            token, user_id, role = token.strip(), user_id.strip(), role.strip()
            if not equals or not colon or not token or not user_id:
                raise ConfigError(f"{where}: expected 'token=user_id:role'")
            if len(token) < MIN_TOKEN_LENGTH:
                raise ConfigError(f"{where}: token shorter than {MIN_TOKEN_LENGTH} characters")
            if any(c.isspace() for c in token) or any(c.isspace() for c in user_id):
                raise ConfigError(f"{where}: tokens and user ids may not contain spaces")
            if token in entries:
                raise ConfigError(f"{where}: the same token is listed twice")
            entries[token] = Principal(user_id, parse_role(role, where))
        return cls(entries)

    def lookup(self, token: str) -> Principal | None:
        """The principal `token` authenticates, compared in constant time, or None."""
        presented = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:
            if hmac.compare_digest(presented, digest):
                found = principal
        return found
