"""ID Token claims and half hashes (Core §2, §3.1.3.6, §3.3.2.11; SECURITY.md AZ-10)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from idgate.protocol.id_token import PROTOCOL_CLAIMS, IdTokenContext, half_hash, id_token_claims


def test_half_hash_core_a3_at_hash() -> None:
    # OpenID Connect Core 1.0 Appendix A.3 (response_type=id_token token).
    assert half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256") == (
        "77QmUPtjPfzWtF2AnpK9RQ"
    )


def test_half_hash_core_a4_c_hash() -> None:
    # OpenID Connect Core 1.0 Appendix A.4 (response_type=code id_token).
    code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
    assert half_hash(code, "RS256") == "LDktKdoQak3Pk0cnXxCltA"


def _expected(value: str, hash_name: str) -> str:
    digest = hashlib.new(hash_name, value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("alg", "hash_name", "length"),
    [
        ("RS256", "sha256", 22),
        ("PS256", "sha256", 22),
        ("ES256", "sha256", 22),
        ("HS256", "sha256", 22),
        ("ES256K", "sha256", 22),
        ("RS384", "sha384", 32),
        ("ES384", "sha384", 32),
        ("PS512", "sha512", 43),
        ("ES512", "sha512", 43),
        ("EdDSA", "sha512", 43),  # Ed25519 (connect issue #1125)
        ("Ed25519", "sha512", 43),
    ],
)
def test_half_hash_per_alg(alg: str, hash_name: str, length: int) -> None:
    value = "some-token-value"
    assert half_hash(value, alg) == _expected(value, hash_name)
    assert len(half_hash(value, alg)) == length
    assert "=" not in half_hash(value, alg)


@pytest.mark.parametrize("alg", ["none", "", "RS1", "RS257", "XS256", "rs256", "Ed448", "ES256X"])
def test_half_hash_unknown_alg(alg: str) -> None:
    with pytest.raises(ValueError, match="no hash algorithm"):
        half_hash("x", alg)


CTX = IdTokenContext(
    issuer="https://op.test",
    subject="alice-sub",
    client_id="c1",
    auth_time=1_700_000_000,
    issued_at=1_700_000_100,
    lifetime=300,
)


def test_minimal_claims() -> None:
    assert id_token_claims(CTX, alg="RS256") == {
        "iss": "https://op.test",
        "sub": "alice-sub",
        "aud": "c1",
        "exp": 1_700_000_400,
        "iat": 1_700_000_100,
        "auth_time": 1_700_000_000,
        "azp": "c1",
    }


def test_all_claims() -> None:
    ctx = IdTokenContext(
        issuer="https://op.test",
        subject="alice-sub",
        client_id="c1",
        auth_time=1,
        issued_at=2,
        lifetime=3,
        nonce="n-0S6",
        acr="urn:mace:incommon:iap:silver",
        amr=("pwd", "otp"),
        sid="sid-1",
        extra_claims={"email": "alice@example.test"},
    )
    claims = id_token_claims(
        ctx, alg="ES384", code="the-code", access_token="the-at", state="st", include_s_hash=True
    )
    assert claims["nonce"] == "n-0S6"
    assert claims["acr"] == "urn:mace:incommon:iap:silver"
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["sid"] == "sid-1"
    assert claims["email"] == "alice@example.test"
    assert claims["c_hash"] == _expected("the-code", "sha384")
    assert claims["at_hash"] == _expected("the-at", "sha384")
    assert claims["s_hash"] == _expected("st", "sha384")


@pytest.mark.parametrize(
    ("kwargs", "absent"),
    [
        ({}, {"c_hash", "at_hash", "s_hash", "nonce", "acr", "amr", "sid"}),
        ({"state": "st"}, {"s_hash"}),
        ({"include_s_hash": True}, {"s_hash"}),
        ({"code": "c"}, {"at_hash"}),
        ({"access_token": "t"}, {"c_hash"}),
    ],
)
def test_optional_claims_only_when_asked(kwargs: dict[str, Any], absent: set[str]) -> None:
    claims = id_token_claims(CTX, alg="RS256", **kwargs)
    assert not absent & claims.keys()


def test_extra_claims_never_override_or_inject_protocol_claims() -> None:
    forged = dict.fromkeys(PROTOCOL_CLAIMS, "forged") | {"name": "Alice"}
    ctx = IdTokenContext(
        issuer="https://op.test",
        subject="alice-sub",
        client_id="c1",
        auth_time=1,
        issued_at=2,
        lifetime=3,
        extra_claims=forged,
    )
    claims = id_token_claims(ctx, alg="RS256")
    assert "forged" not in claims.values()
    assert claims["name"] == "Alice"
    assert claims["sub"] == "alice-sub"
    assert "nonce" not in claims
    assert "jti" not in claims
