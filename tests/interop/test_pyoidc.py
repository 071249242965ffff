"""pyoidc (`oic` on PyPI) as the RP: discovery, dynamic registration, code and hybrid flows.

pyoidc verifies what it receives on its own: the authorization response (RFC 9207 `iss`,
ID Token signature from the JWKS it loaded at discovery, `c_hash`, `at_hash`), the token
response and its ID Token, and nonce, issuer and audience in `verify_id_token`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from interop_support import CALLBACK, CLAIMS, OP, Browser, step  # type: ignore[import-not-found]
from oic import rndstr
from oic.oauth2.message import ErrorResponse
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationResponse,
    CHashError,
    OpenIDSchema,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

pytestmark = pytest.mark.slow

LIBRARY = "pyoidc"
RESPONSE_TYPES = ["code", "code id_token", "code id_token token"]


def discover_and_register(op: OP) -> Client:
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    # pyoidc registers request_uris under its base_url when the OP requires their
    # registration (Discovery 1.0 require_request_uri_registration), as idgate does.
    client.base_url = f"{urlsplit(CALLBACK).scheme}://{urlsplit(CALLBACK).netloc}/"
    with step(LIBRARY, "provider_config"):
        info = client.provider_config(op.issuer)
        assert info["issuer"] == op.issuer
        assert client.keyjar.get_issuer_keys(op.issuer), "no keys loaded from jwks_uri"
    with step(LIBRARY, "register"):
        registration = client.register(
            info["registration_endpoint"],
            redirect_uris=[CALLBACK],
            response_types=RESPONSE_TYPES,
            grant_types=["authorization_code", "implicit", "refresh_token"],
            token_endpoint_auth_method="client_secret_basic",
            client_name="pyoidc RP",
        )
        assert not isinstance(registration, ErrorResponse), registration.to_dict()
        assert client.client_id
        assert client.client_secret
    return client


def sign_in(client: Client, browser: Browser, response_type: str) -> tuple[Any, Any, str]:
    """(authorization request, verified authorization response, state)."""
    state, nonce = rndstr(24), rndstr(24)
    with step(LIBRARY, "construct_AuthorizationRequest"):
        request = client.construct_AuthorizationRequest(
            request_args={
                "client_id": client.client_id,
                "response_type": response_type,
                "scope": ["openid", "email", "profile"],
                "redirect_uri": CALLBACK,
                "state": state,
                "nonce": nonce,
            }
        )
        url = request.request(client.authorization_endpoint)
    callback = browser.sign_in(url)
    with step(LIBRARY, f"parse_response(AuthorizationResponse) for {response_type}"):
        response = client.parse_response(
            AuthorizationResponse, info=callback, sformat="urlencoded", state=state
        )
        assert isinstance(response, AuthorizationResponse), response.to_dict()
        assert response["state"] == state
    if "id_token" in response:
        with step(LIBRARY, "verify_id_token (front channel: nonce, iss, aud)"):
            client.verify_id_token(response["id_token"], request)
    return request, response, state


def redeem(client: Client, request: Any, response: Any, state: str) -> Any:
    with step(LIBRARY, "do_access_token_request"):
        token = client.do_access_token_request(
            state=state,
            request_args={"code": response["code"], "redirect_uri": CALLBACK},
            authn_method="client_secret_basic",
        )
        assert isinstance(token, AccessTokenResponse), token.to_dict()
    with step(LIBRARY, "verify_id_token (token endpoint)"):
        client.verify_id_token(token["id_token"], request)
    return token


def test_discovery_registration_and_code_flow(op: OP, browser: Browser) -> None:
    client = discover_and_register(op)
    request, response, state = sign_in(client, browser, "code")
    assert browser.seen == ["login", "consent"]
    assert response["iss"] == op.issuer
    token = redeem(client, request, response, state)
    assert token["id_token"]["iss"] == op.issuer
    assert token["id_token"]["nonce"] == request["nonce"]


@pytest.mark.parametrize("response_type", ["code id_token", "code id_token token"])
def test_hybrid_flow(op: OP, browser: Browser, response_type: str) -> None:
    client = discover_and_register(op)
    request, response, state = sign_in(client, browser, response_type)
    front = response["id_token"]  # verified: signature, c_hash (and at_hash with a token)
    assert front["c_hash"]
    assert ("at_hash" in front) == ("token" in response_type.split())
    token = redeem(client, request, response, state)
    assert token["id_token"]["sub"] == front["sub"]


def test_userinfo(op: OP, browser: Browser) -> None:
    op.require("userinfo_endpoint", "UserInfo")
    client = discover_and_register(op)
    request, response, state = sign_in(client, browser, "code")
    token = redeem(client, request, response, state)
    with step(LIBRARY, "do_user_info_request"):
        userinfo = client.do_user_info_request(state=state)
        assert isinstance(userinfo, OpenIDSchema), userinfo.to_dict()
    assert userinfo["sub"] == token["id_token"]["sub"]
    assert userinfo["email"] == CLAIMS["email"]
    assert userinfo["name"] == CLAIMS["name"]


def test_hybrid_swapped_code_is_caught(op: OP, browser: Browser) -> None:
    """pyoidc's own c_hash check bites: a code swapped into the fragment is refused."""
    client = discover_and_register(op)
    state, nonce = rndstr(24), rndstr(24)
    request = client.construct_AuthorizationRequest(
        request_args={
            "client_id": client.client_id,
            "response_type": "code id_token",
            "scope": ["openid"],
            "redirect_uri": CALLBACK,
            "state": state,
            "nonce": nonce,
        }
    )
    callback = browser.sign_in(request.request(client.authorization_endpoint))
    tampered = re.sub(r"code=([^&]+)", r"code=\1x", callback)
    with pytest.raises(CHashError):
        client.parse_response(AuthorizationResponse, info=tampered, sformat="urlencoded")
