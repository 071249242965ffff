"""RFC 9068 §2.2: the payload of a JWT access token, by plain calls."""

from __future__ import annotations

from typing import Any

import pytest

from idgate.protocol.access_token import Authentication, jwt_access_token_claims
from idgate.protocol.clients import parse_client_metadata
from idgate.protocol.errors import InvalidClientMetadata

BASE: dict[str, Any] = {
    "issuer": "https://op.example",
    "audience": "https://api.example",
    "subject": "user-1",
    "client_id": "rp",
    "issued_at": 1000,
    "expires_at": 4600,
    "jti": "j1",
}


def test_required_claims() -> None:
    claims = jwt_access_token_claims(**BASE, scopes=("openid", "email"))
    assert claims == {
        "iss": "https://op.example",
        "exp": 4600,
        "aud": "https://api.example",
        "sub": "user-1",
        "client_id": "rp",
        "iat": 1000,
        "jti": "j1",
        "scope": "openid email",
    }


def test_no_scope_claim_without_scopes() -> None:
    assert "scope" not in jwt_access_token_claims(**BASE, scopes=())


@pytest.mark.parametrize(
    ("authentication", "expected"),
    [
        (Authentication(auth_time=900), {"auth_time": 900}),
        (
            Authentication(auth_time=900, acr="urn:x", amr=("pwd", "otp")),
            {"auth_time": 900, "acr": "urn:x", "amr": ["pwd", "otp"]},
        ),
        (Authentication(), {}),
        (None, {}),
    ],
)
def test_authentication_claims(
    authentication: Authentication | None, expected: dict[str, Any]
) -> None:
    claims = jwt_access_token_claims(**BASE, scopes=("openid",), authentication=authentication)
    assert {k: claims[k] for k in ("auth_time", "acr", "amr") if k in claims} == expected


def test_authentication_from_a_stored_context_drops_malformed_members() -> None:
    assert Authentication.from_context(
        {"auth_time": 5, "acr": "1", "amr": ["pwd", 3]}
    ) == Authentication(5, "1", ("pwd",))
    assert (
        Authentication.from_context({"auth_time": "5", "acr": "", "amr": "pwd"}) == Authentication()
    )


def test_access_token_format_metadata() -> None:
    base = {"redirect_uris": ["https://rp.example/cb"]}
    assert parse_client_metadata(base).access_token_format == "opaque"
    jwt_client = parse_client_metadata({**base, "access_token_format": "jwt"})
    assert jwt_client.access_token_format == "jwt"
    assert jwt_client.to_dict()["access_token_format"] == "jwt"
    assert "access_token_format" not in parse_client_metadata(base).to_dict()
    with pytest.raises(InvalidClientMetadata):
        parse_client_metadata({**base, "access_token_format": "JWT"})
