"""Who may call the server: static tokens and JWTs, loaded once from the environment.

`Credentials.from_env` reads ``AGENT_PATTERNS_TOKENS`` (`server.tokens`) and the JWT settings
(`server.jwt_tokens`). At least one must be configured: a server with neither refuses to start
(`make serve` generates a local admin token instead, see `server.serve`).
`Credentials.principal` turns an ``Authorization`` header into a `Principal` or None.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from server.jwt_tokens import JWT_ENV, JwtVerifier
from server.tokens import TOKENS_ENV, ConfigError, Principal, TokenTable

__all__ = ["Credentials", "NoCredentials", "bearer_token"]


class NoCredentials(ConfigError):
    """Neither static tokens nor a JWT key are configured."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None.

    Example:
        >>> bearer_token("Bearer abc"), bearer_token("Basic abc"), bearer_token(None)
        ('abc', None, None)
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


@dataclass(frozen=True)
class Credentials:
    """The configured static tokens and, optionally, a JWT verifier."""

    tokens: TokenTable
    jwt: JwtVerifier | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Load the operator's credentials.

        Raises:
            ConfigError: invalid settings (`NoCredentials` when there are none at all).
        """
        environ = os.environ if environ is None else environ
        tokens = TokenTable.parse(environ.get(TOKENS_ENV, ""))
        verifier = JwtVerifier.from_env(environ)
        if not len(tokens) and verifier is None:
            raise NoCredentials(
                f"no credentials configured: set {TOKENS_ENV} ('token=user_id:role,...'), "
                f"{JWT_ENV['secret']} or {JWT_ENV['public_key_file']}; "
                "`make serve` generates a local admin token when it listens on 127.0.0.1 only"
            )
        return cls(tokens, verifier)

    def principal(self, authorization: str | None) -> Principal | None:
        """Whom the ``Authorization`` header authenticates, or None."""
        token = bearer_token(authorization)
        if token is None:
            return None
        found = self.tokens.lookup(token)
        if found is None and self.jwt is not None and token.count(".") == 2:
            found = self.jwt.verify(token)
        return found
