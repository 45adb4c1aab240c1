"""Finding 1: what counts as a credential (static tokens, JWTs) and what does not."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from server.credentials import Credentials, NoCredentials
from server.tokens import ConfigError, Principal, TokenTable

SECRET = "a-shared-secret-long-enough-for-hs256-and-hs512-0123456789abcdef"


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "ana@example.com", "role": "reviewer", "exp": int(time.time()) + 60, **extra}


def _pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def test_f01_static_tokens_parse_and_match_exactly() -> None:
    table = TokenTable.parse(
        " tok-ana-0123456789ab = ana:user , tok-rev-0123456789ab=r.v@x.io:reviewer"
    )
    assert table.lookup("tok-ana-0123456789ab") == Principal("ana", "user")
    assert table.lookup("tok-rev-0123456789ab") == Principal("r.v@x.io", "reviewer")
    for wrong in ("tok-ana-0123456789a", "tok-ana-0123456789abc", "TOK-ANA-0123456789AB", ""):
        assert table.lookup(wrong) is None, wrong


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tok-ana-0123456789ab", "expected 'token=user_id:role'"),
        ("tok-ana-0123456789ab=ana", "expected 'token=user_id:role'"),
        ("tok-ana-0123456789ab=:user", "expected 'token=user_id:role'"),
        ("tok-ana-0123456789ab=ana:root", "unknown role 'root'"),
        ("short=ana:user", "shorter than 16"),
        ("tok-ana-0123456789ab=ana:user,tok-ana-0123456789ab=bob:admin", "listed twice"),
        ("tok ana 0123456789ab=ana:user", "spaces"),
    ],
)
def test_f01_a_bad_token_entry_is_a_clear_startup_error(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        TokenTable.parse(spec)
    assert "0123456789ab" not in str(error.value), "the error leaks the token"


def test_f01_no_credentials_at_all_is_an_error() -> None:
    with pytest.raises(NoCredentials, match="no credentials configured"):
        Credentials.from_env({})


def test_f01_hs256_jwts_are_verified() -> None:
    credentials = Credentials.from_env({"AGENT_PATTERNS_JWT_SECRET": SECRET})
    good = jwt.encode(_claims(), SECRET, algorithm="HS256")
    assert credentials.principal(f"Bearer {good}") == Principal("ana@example.com", "reviewer")
    refused = [
        jwt.encode(_claims(exp=int(time.time()) - 5), SECRET, algorithm="HS256"),
        jwt.encode({"sub": "ana", "role": "user"}, SECRET, algorithm="HS256"),  # no exp
        jwt.encode(_claims(role="owner"), SECRET, algorithm="HS256"),
        jwt.encode(_claims(), SECRET + "x", algorithm="HS256"),
        jwt.encode(_claims(), SECRET, algorithm="HS512"),
        jwt.encode(_claims(), None, algorithm="none"),
    ]
    assert [credentials.principal(f"Bearer {t}") for t in refused] == [None] * len(refused)


def test_f01_audience_and_issuer_are_checked_when_configured() -> None:
    credentials = Credentials.from_env(
        {
            "AGENT_PATTERNS_JWT_SECRET": SECRET,
            "AGENT_PATTERNS_JWT_AUDIENCE": "agents",
            "AGENT_PATTERNS_JWT_ISSUER": "https://idp.example",
        }
    )
    good = jwt.encode(_claims(aud="agents", iss="https://idp.example"), SECRET)
    other_audience = jwt.encode(_claims(aud="billing", iss="https://idp.example"), SECRET)
    assert credentials.principal(f"Bearer {good}") is not None
    assert credentials.principal(f"Bearer {other_audience}") is None


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    ],
)
def test_f01_public_key_jwts_are_verified_and_alg_confusion_fails(
    tmp_path: Path, key: Any, algorithm: str
) -> None:
    pem = tmp_path / "key.pem"
    pem.write_bytes(_pem(key))
    credentials = Credentials.from_env({"AGENT_PATTERNS_JWT_PUBLIC_KEY_FILE": str(pem)})
    signed = jwt.encode(_claims(), key, algorithm=algorithm)
    assert credentials.principal(f"Bearer {signed}") == Principal("ana@example.com", "reviewer")
    # The classic confusion: an HS256 token "signed" with the public key as the secret.
    assert credentials.principal(f"Bearer {_hs256_with(_pem(key))}") is None


def _hs256_with(secret: bytes) -> str:
    """An HS256 JWT for an admin, signed with `secret` (by hand: PyJWT refuses PEM secrets)."""
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(b'{"sub":"x","role":"admin","exp":99999999999}')
    signing_input = header + b"." + payload
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()


def test_f01_a_bad_key_configuration_is_a_startup_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        Credentials.from_env(
            {"AGENT_PATTERNS_JWT_SECRET": SECRET, "AGENT_PATTERNS_JWT_PUBLIC_KEY_FILE": "x.pem"}
        )
    with pytest.raises(ConfigError, match="cannot read"):
        Credentials.from_env({"AGENT_PATTERNS_JWT_PUBLIC_KEY_FILE": str(tmp_path / "no.pem")})
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(ConfigError, match="not a PEM public key"):
        Credentials.from_env({"AGENT_PATTERNS_JWT_PUBLIC_KEY_FILE": str(garbage)})
