"""Signed JWTs as bearer tokens, verified offline with a key the operator configures.

Either (not both):

- ``AGENT_PATTERNS_JWT_SECRET``: an HS256 shared secret (at least 32 bytes);
- ``AGENT_PATTERNS_JWT_PUBLIC_KEY_FILE``: a PEM public key file; RS256 for an RSA key,
  ES256 for a P-256 EC key.

Optional: ``AGENT_PATTERNS_JWT_AUDIENCE`` and ``AGENT_PATTERNS_JWT_ISSUER`` (checked when set),
``AGENT_PATTERNS_JWT_ROLE_CLAIM`` (default ``role``). A token must carry ``sub`` (the user
id), ``exp``, and the role claim (``user``, ``reviewer`` or ``admin``). The algorithm is fixed
by the key, never taken from the token, and nothing is fetched over the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from server.tokens import ConfigError, Principal, parse_role

__all__ = ["JWT_ENV", "JwtVerifier"]

JWT_ENV = {
    "secret": "AGENT_PATTERNS_JWT_SECRET",
    "public_key_file": "AGENT_PATTERNS_JWT_PUBLIC_KEY_FILE",
    "audience": "AGENT_PATTERNS_JWT_AUDIENCE",
    "issuer": "AGENT_PATTERNS_JWT_ISSUER",
    "role_claim": "AGENT_PATTERNS_JWT_ROLE_CLAIM",
}
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class JwtVerifier:
    """Verifies a JWT with one key and one algorithm and turns its claims into a principal."""

    key: Any
    algorithm: str
    audience: str | None = None
    issuer: str | None = None
    role_claim: str = "role"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> JwtVerifier | None:
        """The verifier the environment configures, or None when no JWT key is set.

        Raises:
            ConfigError: both a secret and a key file, a short secret, an unreadable key file
                or a key type other than RSA or P-256.
        """
        secret = environ.get(JWT_ENV["secret"], "")
        key_file = environ.get(JWT_ENV["public_key_file"], "").strip()
        if secret and key_file:
            raise ConfigError(f"set {JWT_ENV['secret']} or {JWT_ENV['public_key_file']}, not both")
        if not secret and not key_file:
            return None
        audience = environ.get(JWT_ENV["audience"], "").strip() or None
        issuer = environ.get(JWT_ENV["issuer"], "").strip() or None
        role_claim = environ.get(JWT_ENV["role_claim"], "").strip() or "role"
        if secret:
            if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise ConfigError(f"{JWT_ENV['secret']} is shorter than {MIN_SECRET_BYTES} bytes")
            key, algorithm = secret, "HS256"
        else:
            key, algorithm = _public_key(Path(key_file))
        return cls(key, algorithm, audience, issuer, role_claim)

    def verify(self, token: str) -> Principal | None:
        """The principal a valid token names, or None for any invalid or expired token."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        user_id, role = claims.get("sub"), claims.get(self.role_claim)
        if not isinstance(user_id, str) or not user_id or not isinstance(role, str):
            return None
        try:
            return Principal(user_id, parse_role(role, "JWT"))
        except ConfigError:
            return None


def _public_key(path: Path) -> tuple[Any, str]:
    """The key in a PEM file and the algorithm it implies."""
    where = f"{JWT_ENV['public_key_file']}={str(path)!r}"
    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: not a PEM public key ({exc})") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise ConfigError(f"{where}: use an RSA key (RS256) or a P-256 EC key (ES256)")
