"""Request objects by value (`request`) and by reference (`request_uri`) (OIDC Core §6,
RFC 9101; SECURITY.md JWT-01…05, SSRF-06)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flows_support import (  # type: ignore[import-not-found]
    PASSWORD,
    RP,
    OPBrowser,
    register,
    verify_id_token,
)
from https_peer import HttpsPeer, Route  # type: ignore[import-not-found]
from jwcrypto import jwk, jwt

from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider, response_params
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

KEY = jwk.JWK.generate(kty="EC", crv="P-256", kid="rp-1")
OTHER_KEY = jwk.JWK.generate(kty="EC", crv="P-256", kid="rp-1")


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[HttpsPeer]:
    with HttpsPeer(tmp_path) as server:
        yield server


async def _op(database_url: str, peer: HttpsPeer, *, private: bool) -> Provider:
    provider = await open_test_provider(
        database_url, outbound_ca_file=str(peer.ca_file), allow_private_fetch=private
    )
    await provider.accounts.add("alice", PASSWORD)
    return provider


@pytest.fixture
async def ro_op(database_url: str, peer: HttpsPeer) -> AsyncIterator[tuple[Provider, OPBrowser]]:
    provider = await _op(database_url, peer, private=True)
    try:
        async with asgi_client(create_app(provider)) as http:
            yield provider, OPBrowser(http)
    finally:
        await provider.close()


def signed(claims: dict[str, Any], key: jwk.JWK = KEY, alg: str = "ES256") -> str:
    token = jwt.JWT(header={"alg": alg, "kid": "rp-1"}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def unsigned(claims: dict[str, Any]) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


async def _client(provider: Provider, peer: HttpsPeer, **extra: Any) -> str:
    client = await register(
        provider,
        first_party=True,
        jwks={"keys": [KEY.export_public(as_dict=True)]},
        request_object_signing_alg="ES256",
        request_uris=[peer.url("/req.jwt")],
        **extra,
    )
    return str(client.client_id)


def _inner(cid: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": cid,
        "aud": TEST_ISSUER,
        "exp": now + 300,
        "nbf": now - 10,
        "client_id": cid,
        "redirect_uri": f"{RP}/cb",
        "response_type": "id_token",
        "scope": "openid",
        "nonce": "inner-nonce",
        "state": "inner-state",
        **extra,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _outer(client_id: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "redirect_uri": f"{RP}/cb",
        "response_type": "id_token",
        "scope": "openid",
        "nonce": "outer-nonce",
        "state": "outer-state",
        **extra,
    }


async def _error(browser: OPBrowser, method: str = "GET", **params: str) -> dict[str, str]:
    response = await browser.authorize(method, **params)
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(f"{RP}/cb"), location
    return response_params(location)


async def test_signed_request_object_values_win(ro_op, peer: HttpsPeer) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    params = await browser.sign_in(
        **_outer(client_id, request=signed(_inner(client_id, claims={"id_token": {"email": None}})))
    )
    assert params["state"] == "inner-state"
    claims = await verify_id_token(browser.http, params["id_token"], client_id)
    assert claims["nonce"] == "inner-nonce"
    # POST works the same (Core §3.1.2.1).
    again = await browser.authorize(
        "POST", **_outer(client_id, request=signed(_inner(client_id, nonce="posted")))
    )
    fragment = response_params(again.headers["location"])
    posted = await verify_id_token(browser.http, fragment["id_token"], client_id)
    assert posted["nonce"] == "posted"


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda cid: unsigned(_inner(cid)), "invalid_request_object"),  # JWT-01
        (lambda cid: signed(_inner(cid), OTHER_KEY), "invalid_request_object"),  # JWT-02
        (
            lambda cid: signed(_inner(cid), jwk.JWK.generate(kty="RSA", size=2048), "RS256"),
            "invalid_request_object",
        ),
        (lambda cid: signed(_inner(cid, iss="someone-else")), "invalid_request_object"),  # JWT-03
        (lambda cid: signed(_inner(cid, aud="https://other.example")), "invalid_request_object"),
        (lambda cid: signed(_inner(cid, exp=int(time.time()) - 600)), "invalid_request_object"),
        (lambda cid: signed(_inner(cid, nbf=int(time.time()) + 3600)), "invalid_request_object"),
        (lambda cid: signed(_inner(cid, client_id="another")), "invalid_request"),
        (lambda cid: signed(_inner(cid, response_type="code")), "invalid_request"),
        (
            lambda cid: signed(_inner(cid, request_uri="https://rp.example/x")),
            "invalid_request_object",
        ),
        (lambda cid: "not.a.jwt", "invalid_request_object"),
        (lambda cid: "x" * 20_000, "invalid_request_object"),
    ],
)
async def test_bad_request_objects_are_redirected_to_the_outer_uri(
    ro_op, peer: HttpsPeer, make, error
) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    # POST: a large object does not fit in a URL.
    params = await _error(browser, "POST", **_outer(client_id, request=make(client_id)))
    assert params["error"] == error
    assert params["iss"] == TEST_ISSUER
    assert "id_token" not in params


async def test_unsigned_only_for_a_client_that_registered_none(ro_op, peer: HttpsPeer) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client = await register(provider, first_party=True, request_object_signing_alg="none")
    params = await browser.sign_in(
        **_outer(client.client_id, request=unsigned(_inner(client.client_id, iss=None, aud=None)))
    )
    claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
    assert claims["nonce"] == "inner-nonce"
    # The same client cannot slip a signed object past its registered `none` either.
    refused = await _error(
        browser, **_outer(client.client_id, request=signed(_inner(client.client_id)))
    )
    assert refused["error"] == "invalid_request_object"


async def test_redirect_uri_smuggled_in_the_object_gets_a_page(ro_op, peer: HttpsPeer) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    inner = signed(_inner(client_id, redirect_uri="https://attacker.example/cb"))
    response = await browser.authorize(**_outer(client_id, request=inner))
    assert response.status_code == 400  # JWT-04: a page, no redirect anywhere
    assert "location" not in response.headers


async def test_request_and_request_uri_together(ro_op, peer: HttpsPeer) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    both = _outer(client_id, request=signed(_inner(client_id)), request_uri=peer.url("/req.jwt"))
    assert (await _error(browser, **both))["error"] == "invalid_request"
    assert peer.requests == []


async def test_request_uri_is_fetched_and_used(ro_op, peer: HttpsPeer) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    peer.routes["/req.jwt"] = Route(signed(_inner(client_id, nonce="by-reference")).encode())
    params = await browser.sign_in(**_outer(client_id, request_uri=peer.url("/req.jwt")))
    claims = await verify_id_token(browser.http, params["id_token"], client_id)
    assert claims["nonce"] == "by-reference"
    assert peer.requests == ["/req.jwt"]
    # An unsigned object by reference is refused like one by value (JWT-01).
    peer.routes["/req.jwt"] = Route(unsigned(_inner(client_id)).encode())
    refused = await _error(browser, **_outer(client_id, request_uri=peer.url("/req.jwt")))
    assert refused["error"] == "invalid_request_object"


@pytest.mark.parametrize(
    "path",
    [
        "/other.jwt",  # not registered
        "/req.jwt?x=1",  # not exactly registered
        "/req.jwt" + "x" * 600,  # too long
    ],
)
async def test_unregistered_request_uri_is_never_fetched(ro_op, peer: HttpsPeer, path: str) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    peer.routes[path] = Route(signed(_inner(client_id)).encode())
    params = await _error(browser, **_outer(client_id, request_uri=peer.url(path)))
    assert params["error"] == "invalid_request_uri"
    assert peer.requests == []  # SSRF-06


@pytest.mark.parametrize(
    "route",
    [
        Route(b"x" * (70 * 1024)),  # too large
        Route(b"{}", status=404),
        Route(b"eyJ", delay=6),  # silent beyond the 5 s the fetch may take
    ],
)
async def test_request_uri_fetch_failures(ro_op, peer: HttpsPeer, route: Route) -> None:  # type: ignore[no-untyped-def]
    provider, browser = ro_op
    client_id = await _client(provider, peer)
    peer.routes["/req.jwt"] = route
    started = time.monotonic()
    params = await _error(browser, **_outer(client_id, request_uri=peer.url("/req.jwt")))
    assert params["error"] == "invalid_request_uri"
    assert time.monotonic() - started < 5.9


async def test_request_uri_on_a_private_address_is_refused(
    database_url: str, peer: HttpsPeer
) -> None:
    provider = await _op(database_url, peer, private=False)
    try:
        client_id = await _client(provider, peer)
        peer.routes["/req.jwt"] = Route(signed(_inner(client_id)).encode())
        async with asgi_client(create_app(provider)) as http:
            params = await _error(
                OPBrowser(http), **_outer(client_id, request_uri=peer.url("/req.jwt"))
            )
    finally:
        await provider.close()
    assert params["error"] == "invalid_request_uri"
    assert peer.requests == []  # SSRF-01: the listener never heard of it


async def test_discovery_says_so(ro_op) -> None:  # type: ignore[no-untyped-def]
    _provider, browser = ro_op
    doc = (await browser.http.get("/.well-known/openid-configuration")).json()
    assert doc["request_parameter_supported"] is True
    assert doc["request_uri_parameter_supported"] is True
    assert doc["require_request_uri_registration"] is True
    assert "ES256" in doc["request_object_signing_alg_values_supported"]
