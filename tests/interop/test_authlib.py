"""Authlib (PyPI) as the RP: its OAuth 2.0 client and its own OIDC ID Token claim validation.

`CodeIDToken` and `HybridIDToken` are Authlib's validators (iss, aud, exp, iat, nonce, azp,
`at_hash`, and `c_hash` for hybrid responses); the signature is checked against idgate's JWKS
the way Authlib's own OpenID client mixin does it (joserfc, which Authlib builds on).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.common.urls import url_decode
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken, HybridIDToken
from interop_support import CALLBACK, CLAIMS, OP, Browser, step  # type: ignore[import-not-found]
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

pytestmark = pytest.mark.slow

LIBRARY = "authlib"


class AuthlibRP:
    """An Authlib `OAuth2Session` for one registered client, and Authlib's ID Token checks."""

    def __init__(self, op: OP, browser: Browser, response_types: list[str]) -> None:
        self.op = op
        self.browser = browser
        client = op.register(response_types=response_types)
        self.client_id: str = client["client_id"]
        self.session = OAuth2Session(
            client_id=self.client_id,
            client_secret=client["client_secret"],
            token_endpoint_auth_method="client_secret_basic",
            scope="openid email profile",
            redirect_uri=CALLBACK,
            code_challenge_method="S256",
        )
        with step(LIBRARY, "discovery"):
            self.metadata: dict[str, Any] = self.session.get(
                f"{op.issuer}/.well-known/openid-configuration", withhold_token=True
            ).json()
            assert self.metadata["issuer"] == op.issuer
            jwks = self.session.get(self.metadata["jwks_uri"], withhold_token=True).json()
            self.keys = KeySet.import_key_set(jwks)

    def close(self) -> None:
        self.session.close()

    def validate_id_token(
        self, id_token: str, claims_cls: type[CodeIDToken], **params: str
    ) -> dict[str, Any]:
        """Signature against the JWKS, then Authlib's claim validation with `params`."""
        token = jwt.decode(
            id_token,
            self.keys,
            registry=JWSRegistry(
                algorithms=self.metadata["id_token_signing_alg_values_supported"],
                strict_check_header=False,
            ),
        )
        claims = claims_cls(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": self.op.issuer},
                "aud": {"essential": True, "value": self.client_id},
            },
            {"client_id": self.client_id, **params},
        )
        claims.validate(leeway=60)
        return dict(claims)

    def authorize(self, response_type: str, nonce: str, verifier: str) -> tuple[str, str]:
        """The callback URL after signing in, and the state Authlib generated."""
        with step(LIBRARY, "create_authorization_url"):
            extra = {}
            if response_type != "code":  # Authlib adds PKCE by itself for `code` only
                extra = {
                    "code_challenge": create_s256_code_challenge(verifier),
                    "code_challenge_method": "S256",
                }
            url, state = self.session.create_authorization_url(
                self.metadata["authorization_endpoint"],
                response_type=response_type,
                nonce=nonce,
                code_verifier=verifier,
                **extra,
            )
            assert "code_challenge=" in url
        return self.browser.sign_in(url), state


@pytest.fixture
def authlib_rp(op: OP, browser: Browser) -> Iterator[AuthlibRP]:
    rp = AuthlibRP(op, browser, ["code", "code id_token", "code id_token token"])
    yield rp
    rp.close()


def test_code_with_pkce(authlib_rp: AuthlibRP, op: OP) -> None:
    nonce, verifier = generate_token(24), generate_token(48)
    callback, state = authlib_rp.authorize("code", nonce, verifier)
    assert authlib_rp.browser.seen == ["login", "consent"]
    response = dict(url_decode(urlsplit(callback).query))
    assert response["iss"] == op.issuer  # RFC 9207; Authlib's client leaves it to the app
    with step(LIBRARY, "fetch_token (authorization_code)"):
        token = authlib_rp.session.fetch_token(
            authlib_rp.metadata["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
    with step(LIBRARY, "CodeIDToken.validate"):
        claims = authlib_rp.validate_id_token(
            token["id_token"], CodeIDToken, nonce=nonce, access_token=token["access_token"]
        )
    assert claims["nonce"] == nonce
    assert claims["at_hash"]  # validated by Authlib against the access token
    with step(LIBRARY, "refresh_token"):
        refreshed = authlib_rp.session.refresh_token(
            authlib_rp.metadata["token_endpoint"], refresh_token=token["refresh_token"]
        )
        assert refreshed["refresh_token"] != token["refresh_token"]
    if authlib_rp.metadata.get("userinfo_endpoint"):
        with step(LIBRARY, "UserInfo (Bearer token placed by the session)"):
            userinfo = authlib_rp.session.get(authlib_rp.metadata["userinfo_endpoint"])
            assert userinfo.status_code == 200, userinfo.text
            assert userinfo.json()["sub"] == claims["sub"]
            assert userinfo.json()["email"] == CLAIMS["email"]


@pytest.mark.parametrize("response_type", ["code id_token", "code id_token token"])
def test_hybrid(authlib_rp: AuthlibRP, op: OP, response_type: str) -> None:
    nonce, verifier = generate_token(24), generate_token(48)
    callback, state = authlib_rp.authorize(response_type, nonce, verifier)
    parts = urlsplit(callback)
    assert parts.fragment, callback  # the default response mode of hybrid types
    assert not parts.query, callback
    response = dict(url_decode(parts.fragment))
    assert response["state"] == state
    assert response["iss"] == op.issuer
    assert ("access_token" in response) == ("token" in response_type.split())
    front_params = {"nonce": nonce, "code": response["code"]}
    if "access_token" in response:
        front_params["access_token"] = response["access_token"]
    with step(LIBRARY, f"HybridIDToken.validate ({response_type}: c_hash, at_hash, nonce)"):
        front = authlib_rp.validate_id_token(response["id_token"], HybridIDToken, **front_params)
    assert front["c_hash"]
    assert ("at_hash" in front) == ("access_token" in response)

    with step(LIBRARY, "fetch_token (the code of the hybrid response)"):
        token = authlib_rp.session.fetch_token(
            authlib_rp.metadata["token_endpoint"],
            grant_type="authorization_code",
            code=response["code"],
            code_verifier=verifier,
        )
    with step(LIBRARY, "CodeIDToken.validate (token endpoint ID Token)"):
        back = authlib_rp.validate_id_token(
            token["id_token"], CodeIDToken, nonce=nonce, access_token=token["access_token"]
        )
    assert back["sub"] == front["sub"]  # Core §3.3.3.6: the same End-User
    assert back["iss"] == front["iss"]


def test_hybrid_tampered_code_is_caught(authlib_rp: AuthlibRP) -> None:
    """Authlib's c_hash check bites: a code swapped in the fragment fails validation."""
    nonce, verifier = generate_token(24), generate_token(48)
    callback, _state = authlib_rp.authorize("code id_token", nonce, verifier)
    response = dict(url_decode(urlsplit(callback).fragment))
    with pytest.raises(Exception, match="c_hash"):
        authlib_rp.validate_id_token(
            response["id_token"], HybridIDToken, nonce=nonce, code=response["code"] + "x"
        )
