"""Pushed Authorization Requests (RFC 9126)."""

from __future__ import annotations

import time

import pytest
from flows_support import RP, OPBrowser, register, verify_id_token  # type: ignore[import-not-found]
from jwcrypto import jwk, jwt

from idgate.crypto.random import secret_hash
from idgate.protocol.request_object import PUSHED_REQUEST_PREFIX
from idgate.testing import TEST_ISSUER, response_params

pytestmark = pytest.mark.anyio


def _request(client_id: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "redirect_uri": f"{RP}/cb",
        "response_type": "code id_token",
        "scope": "openid",
        "nonce": "pushed-nonce",
        "state": "pushed-state",
        **extra,
    }


async def test_push_then_authorize(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    pushed = await browser.http.post(
        "/par", data=_request(client.client_id), auth=(client.client_id, client.client_secret)
    )
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["cache-control"] == "no-store"
    body = pushed.json()
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith(PUSHED_REQUEST_PREFIX)
    # Only the hash of the reference is stored.
    reference = body["request_uri"].removeprefix(PUSHED_REQUEST_PREFIX)
    assert (
        await op.storage.pushed_requests.consume(reference, client_id=client.client_id, now=0)
        is None
    )

    params = await browser.sign_in(client_id=client.client_id, request_uri=body["request_uri"])
    assert params["state"] == "pushed-state"
    claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
    assert claims["nonce"] == "pushed-nonce"

    # One use: the same reference again is refused, on a page (there is no outer redirect_uri).
    again = await browser.authorize(client_id=client.client_id, request_uri=body["request_uri"])
    assert again.status_code == 400
    assert "location" not in again.headers


async def test_a_reference_is_bound_to_its_client(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    one = await register(op, first_party=True)
    two = await register(op, first_party=True)
    pushed = await browser.http.post(
        "/par", data=_request(one.client_id), auth=(one.client_id, one.client_secret)
    )
    request_uri = pushed.json()["request_uri"]
    stolen = await browser.authorize(
        client_id=two.client_id, redirect_uri=f"{RP}/cb", request_uri=request_uri
    )
    params = response_params(stolen.headers["location"])
    assert params["error"] == "invalid_request_uri"
    # The failed attempt did not use it up for its owner.
    assert await op.storage.pushed_requests.consume(
        secret_hash(request_uri.removeprefix(PUSHED_REQUEST_PREFIX)),
        client_id=one.client_id,
        now=int(time.time()),
    )


@pytest.mark.parametrize(
    ("extra", "status", "error"),
    [
        ({"redirect_uri": "https://attacker.example/cb"}, 400, "invalid_request"),
        ({"nonce": ""}, 400, "invalid_request"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
        ({"request_uri": "https://rp.example/r"}, 400, "invalid_request"),
        ({"request": "not.a.jwt"}, 400, "invalid_request_object"),
    ],
)
async def test_bad_pushed_requests_get_json_errors(
    op, browser: OPBrowser, extra, status, error
) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    response = await browser.http.post(
        "/par",
        data=_request(client.client_id, **extra),
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error


async def test_pushing_needs_client_authentication(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True)
    anonymous = await browser.http.post("/par", data=_request(client.client_id))
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    wrong = await browser.http.post(
        "/par", data=_request(client.client_id), auth=(client.client_id, "wrong")
    )
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Basic")


async def test_pushed_request_object(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
    client = await register(
        op,
        first_party=True,
        jwks={"keys": [key.export_public(as_dict=True)]},
        request_object_signing_alg="ES256",
    )
    now = int(time.time())
    claims = {
        **_request(client.client_id, nonce="inside"),
        "iss": client.client_id,
        "aud": TEST_ISSUER,
        "exp": now + 60,
    }
    token = jwt.JWT(header={"alg": "ES256", "kid": "k1"}, claims=claims)
    token.make_signed_token(key)
    pushed = await browser.http.post(
        "/par",
        data={"client_id": client.client_id, "request": token.serialize()},
        auth=(client.client_id, client.client_secret),
    )
    assert pushed.status_code == 201, pushed.text
    params = await browser.sign_in(
        client_id=client.client_id, request_uri=pushed.json()["request_uri"]
    )
    id_token = await verify_id_token(browser.http, params["id_token"], client.client_id)
    assert id_token["nonce"] == "inside"


async def test_require_pushed_authorization_requests(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True, require_pushed_authorization_requests=True)
    direct = await browser.authorize(**_request(client.client_id))
    params = response_params(direct.headers["location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params
    pushed = await browser.http.post(
        "/par", data=_request(client.client_id), auth=(client.client_id, client.client_secret)
    )
    ok = await browser.sign_in(client_id=client.client_id, request_uri=pushed.json()["request_uri"])
    assert ok["code"]


async def test_discovery_lists_the_endpoint(browser: OPBrowser) -> None:
    doc = (await browser.http.get("/.well-known/openid-configuration")).json()
    assert doc["pushed_authorization_request_endpoint"] == f"{TEST_ISSUER}/par"
    assert doc["require_pushed_authorization_requests"] is False
