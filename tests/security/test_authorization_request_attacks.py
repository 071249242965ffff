"""SECURITY.md §3.2: the authorization request (AZ-01 … AZ-12)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from jwcrypto import jwk, jwt
from security_support import (  # type: ignore[import-not-found]
    RP,
    TEST_ISSUER,
    Browser,
    RegisteredClient,
    callback,
    code_request,
    exchange,
    redirect_error,
    register,
)

from idgate.provider import Provider

pytestmark = pytest.mark.anyio


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


async def test_state_round_trips_byte_exact(browser: Browser, c1: RegisteredClient) -> None:
    # AZ-01: state dropped, altered, or used for response splitting.
    for state in ("&=#%+ ", "é🙂", "a\r\nSet-Cookie: x=y", "s" * 1000):
        for mode in ("query", "fragment", "form_post"):
            params = code_request(c1, state=state, response_mode=mode)
            response = await browser.sign_in(**params)
            assert callback(response)["state"] == state, (state, mode)
            assert "\r" not in response.headers.get("location", "")
            error = await browser.authorize(**{**params, "prompt": "bogus"})
            assert redirect_error(error)["state"] == state
    response = await browser.sign_in(**code_request(c1, state=""))
    assert "state" not in callback(response)


async def test_nonce_is_required_where_an_id_token_comes_back(
    browser: Browser, c1: RegisteredClient, http: httpx.AsyncClient
) -> None:
    # AZ-02: missing or mangled nonce.
    for response_type in ("id_token", "id_token token", "code id_token", "code id_token token"):
        response = await browser.sign_in(**code_request(c1, response_type=response_type))
        assert redirect_error(response)["error"] == "invalid_request", response_type
    nonce = "n" * 384
    fields = callback(
        await browser.sign_in(**code_request(c1, response_type="code id_token", nonce=nonce))
    )
    assert claims_of(fields["id_token"])["nonce"] == nonce
    tokens = (await exchange(http, c1, fields["code"])).json()
    assert claims_of(tokens["id_token"])["nonce"] == nonce


async def test_id_token_needs_openid(browser: Browser, c1: RegisteredClient) -> None:
    # AZ-03: ID token without `openid` scope.
    params = code_request(c1, response_type="code id_token", scope="profile", nonce="n")
    assert redirect_error(await browser.sign_in(**params))["error"] == "invalid_scope"
    fields = callback(await browser.sign_in(**code_request(c1, scope="profile")))
    tokens = (await exchange(browser.http, c1, fields["code"])).json()
    assert "id_token" not in tokens


async def test_bad_response_types(browser: Browser, op: Provider) -> None:
    # AZ-04: bad response_type (missing, unknown, unregistered; order does not matter).
    only_code = await register(op, response_types=["code"], grant_types=["authorization_code"])
    for response_type, errors in (
        ("", {"invalid_request", "unsupported_response_type"}),
        ("code foo", {"unsupported_response_type"}),
        ("code id_token", {"unauthorized_client"}),
    ):
        params = code_request(only_code, response_type=response_type, nonce="n")
        assert redirect_error(await browser.authorize(**params))["error"] in errors
    c = await register(op)
    fields = callback(
        await browser.sign_in(**code_request(c, response_type="token id_token code", nonce="n"))
    )
    assert {"code", "id_token", "access_token"} <= fields.keys()


async def test_tokens_never_go_into_a_query(browser: Browser, c1: RegisteredClient) -> None:
    # AZ-05: tokens pushed into a query string.
    for response_type in ("code id_token", "id_token token"):
        params = code_request(c1, response_type=response_type, response_mode="query", nonce="n")
        response = await browser.authorize(**params)
        location = response.headers["location"]
        assert "?" not in location.split("#")[0][len(c1.redirect_uri) :]
        assert redirect_error(response)["error"] == "invalid_request"
    response = await browser.authorize(**code_request(c1, response_mode="xyz"))
    assert redirect_error(response)["error"] == "invalid_request"


async def test_prompt_rules(browser: Browser, c1: RegisteredClient) -> None:
    # AZ-06: prompt misuse.
    none = await browser.authorize(**code_request(c1, prompt="none"))
    assert redirect_error(none)["error"] == "login_required"
    both = await browser.authorize(**code_request(c1, prompt="none login"))
    assert redirect_error(both)["error"] == "invalid_request"
    await browser.callback(**code_request(c1))
    fresh = await browser.authorize(**code_request(c1, prompt="login"))
    page = await browser.follow(fresh)
    assert 'name="password"' in page.text


async def test_max_age(browser: Browser, c1: RegisteredClient) -> None:
    # AZ-07: max_age ignored (malformed values refused; 0 forces a new login).
    for bad in ("-1", "abc", "1.5"):
        response = await browser.authorize(**code_request(c1, max_age=bad))
        assert redirect_error(response)["error"] == "invalid_request", bad
    await browser.callback(**code_request(c1))
    page = await browser.follow(await browser.authorize(**code_request(c1, max_age="0")))
    assert 'name="password"' in page.text


async def test_forged_id_token_hints(
    browser: Browser, c1: RegisteredClient, second_http: httpx.AsyncClient
) -> None:
    # AZ-08: silent login as the wrong user; forged id_token_hint.
    bob = Browser(second_http)
    bob_hint = callback(
        await bob.sign_in("bob", **code_request(c1, response_type="id_token", nonce="n"))
    )["id_token"]
    alice_hint = callback(
        await browser.sign_in(**code_request(c1, response_type="id_token", nonce="n"))
    )["id_token"]
    silent = code_request(c1, prompt="none")
    as_bob = await browser.authorize(**silent, id_token_hint=bob_hint)
    assert redirect_error(as_bob)["error"] in ("login_required", "interaction_required")
    header, payload, signature = alice_hint.split(".")
    claims = claims_of(alice_hint)
    foreign = jwk.JWK.generate(kty="RSA", size=2048)
    resigned = jwt.JWT(header={"alg": "RS256"}, claims=claims)
    resigned.make_signed_token(foreign)
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    other_issuer = (
        base64.urlsafe_b64encode(json.dumps({**claims, "iss": "https://evil.example"}).encode())
        .rstrip(b"=")
        .decode()
    )
    for forged in (
        str(resigned.serialize()),
        f"{none_header}.{payload}.",
        f"{header}.{payload}.{signature[:-4]}AAAA",
        f"{header}.{other_issuer}.{signature}",
    ):
        response = await browser.authorize(**silent, id_token_hint=forged)
        assert redirect_error(response)["error"] in ("invalid_request", "login_required")
    own = callback(await browser.authorize(**silent, id_token_hint=alice_hint))
    assert "code" in own


async def test_mix_up_defence(
    browser: Browser, c1: RegisteredClient, http: httpx.AsyncClient
) -> None:
    # AZ-09: mix-up; the issuer is the same string everywhere and `iss` is in every response.
    discovery = (await http.get("/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == TEST_ISSUER
    assert discovery["authorization_response_iss_parameter_supported"] is True
    fields = callback(await browser.sign_in(**code_request(c1, response_mode="form_post")))
    assert fields["iss"] == TEST_ISSUER
    tokens = (await exchange(http, c1, fields["code"])).json()
    assert claims_of(tokens["id_token"])["iss"] == TEST_ISSUER
    error = await browser.authorize(**code_request(c1, response_mode="form_post", prompt="x y"))
    assert redirect_error(error)["iss"] == TEST_ISSUER


async def test_hybrid_hashes_bind_code_and_token(browser: Browser, c1: RegisteredClient) -> None:
    # AZ-10: token substitution in hybrid/implicit (c_hash and at_hash, same sub).
    params = code_request(c1, response_type="code id_token token", nonce="n")
    fields = callback(await browser.sign_in(**params))
    claims = claims_of(fields["id_token"])
    assert claims["c_hash"] == half_hash(fields["code"])
    assert claims["at_hash"] == half_hash(fields["access_token"])
    tokens = (await exchange(browser.http, c1, fields["code"])).json()
    assert claims_of(tokens["id_token"])["sub"] == claims["sub"]
    header = json.loads(base64.urlsafe_b64decode(fields["id_token"].split(".")[0] + "=="))
    assert header["alg"] != "none"


async def test_offline_access_needs_consent_and_a_code(browser: Browser, op: Provider) -> None:
    # AZ-11: offline_access without consent.
    c = await register(op)
    await browser.callback(**code_request(c, scope="openid"))
    # Consented to `openid` only: asking for offline_access asks again.
    asked = await browser.authorize(**code_request(c, scope="openid offline_access"))
    page = await browser.follow(asked)
    assert 'name="decision"' in page.text
    implicit = callback(
        await browser.sign_in(
            **code_request(
                c, scope="openid offline_access", response_type="id_token token", nonce="n"
            )
        )
    )
    assert "refresh_token" not in implicit


async def test_malformed_claims_and_unknown_parameters(
    browser: Browser, c1: RegisteredClient
) -> None:
    # AZ-12: malformed claims; unknown parameters.
    for claims in (
        "not-json",
        "[]",
        '{"a":' * 100 + "1" + "}" * 100,
        '{"x":"' + "a" * 200_000 + '"}',
    ):
        response = await browser.authorize("POST", **code_request(c1, claims=claims))
        if response.status_code == 400:
            continue  # the body cap answers first, with a page
        assert redirect_error(response)["error"] == "invalid_request"
    fields = callback(await browser.sign_in(**code_request(c1, foo="bar")))
    assert "code" in fields
    assert RP in c1.redirect_uri
