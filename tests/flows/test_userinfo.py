"""The UserInfo endpoint over HTTP (OIDC Core §5.3-§5.5; RFC 6750; SECURITY.md RES-01/02).

Tokens come from real flows through the login and consent pages and the token endpoint; ID
Tokens and signed UserInfo responses are checked with jwcrypto against the JWKS. Runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from flows_support import OPBrowser, register, verify_id_token  # type: ignore[import-not-found]
from jwcrypto import jwk, jwt
from userinfo_support import basic, bearer, code_flow, userinfo_ok  # type: ignore[import-not-found]

from idgate.crypto.random import secret_hash
from idgate.provider import Provider
from idgate.storage.sql.db import sql
from idgate.testing import TEST_ISSUER

pytestmark = pytest.mark.anyio

ALICE: dict[str, Any] = {
    "name": "Alice",
    "name#fr": "Alice (fr)",
    "name#ja": "アリス",
    "given_name": "Alice",
    "family_name": "Liddell",
    "locale": "en",
    "email": "alice@example.com",
    "email_verified": True,
    "address": {"street_address": "1 Main St", "locality": "Delft", "country": "NL"},
    "phone_number": "+31 15 000 0000",
    "phone_number_verified": False,
    "employee_id": "E-7",
}
ALL_GRANTS = ["authorization_code", "implicit", "refresh_token", "client_credentials"]
NO_TOKEN_CHALLENGE = 'Bearer realm="idgate"'
INVALID_TOKEN_CHALLENGE = (
    'Bearer realm="idgate", error="invalid_token", '
    'error_description="the access token is not valid"'
)


@pytest.fixture
async def alice(op: Provider) -> Provider:
    await op.accounts.set_claims("alice", ALICE)
    return op


def assert_bearer_error(response: httpx.Response, status: int, challenge: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["www-authenticate"] == challenge
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "www-authenticate" in response.headers["access-control-expose-headers"].lower()
    assert response.json()["error"]


# --- claims per scope and per request ---------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid", set()),
        ("openid profile", {"name", "given_name", "family_name", "locale"}),
        ("openid email", {"email", "email_verified"}),
        ("openid address", {"address"}),
        ("openid phone", {"phone_number", "phone_number_verified"}),
        (
            "openid profile email address phone",
            {
                "name",
                "given_name",
                "family_name",
                "locale",
                "email",
                "email_verified",
                "address",
                "phone_number",
                "phone_number_verified",
            },
        ),
    ],
)
async def test_claims_per_scope(alice: Provider, browser: OPBrowser, scope: str, claims) -> None:  # type: ignore[no-untyped-def]
    client = await register(alice)
    tokens = await code_flow(browser, client, scope=scope)
    id_token = await verify_id_token(browser.http, tokens["id_token"], client.client_id)
    body = await userinfo_ok(browser.http, tokens["access_token"])
    assert set(body) == {"sub", *claims}
    assert body["sub"] == id_token["sub"]
    account = await alice.accounts.get("alice")
    assert body["sub"] == account.subject  # a public client sees the local subject
    for name in claims:
        assert body[name] == ALICE[name]


async def test_claims_parameter_for_userinfo_and_for_the_id_token(
    alice: Provider, browser: OPBrowser
) -> None:
    client = await register(alice)
    claims_request = {
        "userinfo": {
            "employee_id": None,
            "email": {"essential": True},
            # value and values ask for the Claim; they do not filter it (Core §5.5.1).
            "phone_number": {"value": "+1 555 0100"},
            "nickname": {"values": ["al", "ali"]},  # the account lacks it: left out
            "name#fr": None,
        },
        "id_token": {"given_name": None, "employee_id": {"essential": True}},
    }
    tokens = await code_flow(browser, client, scope="openid", claims=json.dumps(claims_request))
    body = await userinfo_ok(browser.http, tokens["access_token"])
    assert body == {
        "sub": body["sub"],
        "employee_id": "E-7",
        "email": "alice@example.com",
        "phone_number": "+31 15 000 0000",
        "name#fr": "Alice (fr)",
    }
    id_token = await verify_id_token(browser.http, tokens["id_token"], client.client_id)
    assert id_token["given_name"] == "Alice"
    assert id_token["employee_id"] == "E-7"
    assert "email" not in id_token
    assert "phone_number" not in id_token
    assert id_token["sub"] == body["sub"]


async def test_response_type_id_token_puts_the_claims_in_the_id_token(
    alice: Provider, browser: OPBrowser
) -> None:
    client = await register(alice)
    params = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="id_token",
        scope="openid profile email",
        nonce="n",
        claims=json.dumps({"id_token": {"employee_id": None}, "userinfo": {"address": None}}),
        claims_locales="fr",
    )
    assert "access_token" not in params
    claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
    for name in ("name", "given_name", "family_name", "locale", "email", "email_verified"):
        assert claims[name] == ALICE[name], name
    assert claims["name#fr"] == "Alice (fr)"
    assert claims["employee_id"] == "E-7"
    assert "address" not in claims  # asked for UserInfo only
    assert "name#ja" not in claims


async def test_claims_locales_at_userinfo_survive_a_refresh(
    alice: Provider, browser: OPBrowser
) -> None:
    client = await register(alice)
    tokens = await code_flow(
        browser,
        client,
        scope="openid profile",
        claims_locales="de fr",
        claims=json.dumps({"userinfo": {"employee_id": None}}),
    )
    first = await userinfo_ok(browser.http, tokens["access_token"])
    assert first["name"] == "Alice"
    assert first["name#fr"] == "Alice (fr)"
    assert "name#ja" not in first
    assert first["employee_id"] == "E-7"
    refreshed = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(client),
    )
    assert refreshed.status_code == 200, refreshed.text
    assert await userinfo_ok(browser.http, refreshed.json()["access_token"]) == first


async def test_implicit_access_token(alice: Provider, browser: OPBrowser) -> None:
    client = await register(alice)
    params = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="id_token token",
        scope="openid email",
        nonce="n",
        claims=json.dumps({"userinfo": {"employee_id": None}}),
        claims_locales="ja",
    )
    id_token = await verify_id_token(browser.http, params["id_token"], client.client_id)
    assert "email" not in id_token  # an access token came along: Claims are for UserInfo
    body = await userinfo_ok(browser.http, params["access_token"])
    assert body == {
        "sub": id_token["sub"],
        "email": "alice@example.com",
        "email_verified": True,
        "employee_id": "E-7",
    }


# --- passing the token ------------------------------------------------------------------------


async def test_token_in_the_header_or_the_body(alice: Provider, browser: OPBrowser) -> None:
    client = await register(alice)
    token = (await code_flow(browser, client, scope="openid email"))["access_token"]
    http = browser.http
    expected = await userinfo_ok(http, token)
    answers = [
        await http.post("/userinfo", headers=bearer(token)),
        await http.post("/userinfo", data={"access_token": token}),
        await http.post("/userinfo", headers=bearer(token), json={"access_token": "ignored"}),
        await http.get("/userinfo", headers={"Authorization": f"bearer  {token}"}),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert response.json() == expected
        assert response.headers["cache-control"] == "no-store"


async def test_token_sent_wrongly_is_invalid_request(alice: Provider, browser: OPBrowser) -> None:
    client = await register(alice)
    token = (await code_flow(browser, client))["access_token"]
    http = browser.http
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    wrong = [
        # RFC 6750 §2: one method only.
        await http.post("/userinfo", headers=bearer(token), data={"access_token": token}),
        # The query is refused (RFC 9700 §2.4), with or without another method.
        await http.get("/userinfo", params={"access_token": token}),
        await http.post("/userinfo", params={"access_token": token}),
        await http.get("/userinfo", params={"access_token": token}, headers=bearer(token)),
        await http.post(
            "/userinfo", content=f"access_token={token}&access_token={token}", headers=form
        ),
        await http.get("/userinfo", headers=[("Authorization", f"Bearer {token}")] * 2),
        await http.get("/userinfo", headers={"Authorization": f"Bearer {token} {token}"}),
        await http.get("/userinfo", headers={"Authorization": "Bearer"}),
    ]
    for response in wrong:
        assert response.status_code == 400, response.text
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="idgate", error="invalid_request"')
        assert response.json()["error"] == "invalid_request"
        assert response.headers["cache-control"] == "no-store"
    # The right way still works: nothing above spent or revoked the token.
    await userinfo_ok(http, token)


# --- every error, with its status and challenge -----------------------------------------------


async def test_no_token_gets_a_challenge_without_an_error(http: httpx.AsyncClient) -> None:
    for response in (
        await http.get("/userinfo"),
        await http.post("/userinfo"),
        await http.post("/userinfo", data={"other": "x"}),
        await http.get("/userinfo", headers={"Authorization": "Basic Zm9vOmJhcg=="}),
    ):
        assert_bearer_error(response, 401, NO_TOKEN_CHALLENGE)


async def test_tokens_that_are_not_access_tokens(alice: Provider, browser: OPBrowser) -> None:
    """SECURITY.md RES-02: every other artifact is an invalid_token."""
    client = await register(alice)
    front = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code id_token",
        scope="openid offline_access",
        nonce="n",
        prompt="consent",
    )
    tokens = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": front["code"],
            "redirect_uri": client.redirect_uri,
        },
        headers=basic(client),
    )
    artifacts = {
        "unknown": "bm90LWEtdG9rZW4",
        "code": front["code"],
        "front-channel ID Token": front["id_token"],
        "ID Token": tokens.json()["id_token"],
        "refresh token": tokens.json()["refresh_token"],
        "client secret": client.client_secret,
    }
    for name, artifact in artifacts.items():
        response = await browser.http.get("/userinfo", headers=bearer(artifact))
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == INVALID_TOKEN_CHALLENGE, name
    assert (await browser.http.get("/userinfo", headers=bearer('a"b'))).status_code == 401


async def test_client_credentials_token_is_invalid_for_userinfo(
    alice: Provider, http: httpx.AsyncClient
) -> None:
    client = await register(alice, grant_types=ALL_GRANTS)
    response = await http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic(client)
    )
    assert response.status_code == 200, response.text
    userinfo = await http.get("/userinfo", headers=bearer(response.json()["access_token"]))
    assert_bearer_error(
        userinfo,
        401,
        'Bearer realm="idgate", error="invalid_token", '
        'error_description="the access token was not issued for an End-User"',
    )


async def test_token_without_openid_is_insufficient_scope(
    alice: Provider, browser: OPBrowser
) -> None:
    client = await register(alice)
    tokens = await code_flow(browser, client, scope="email")  # plain OAuth: no openid
    assert "id_token" not in tokens
    response = await browser.http.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert_bearer_error(
        response,
        403,
        'Bearer realm="idgate", error="insufficient_scope", '
        'error_description="the access token was not granted the openid scope", '
        'scope="openid"',
    )
    assert response.json()["error"] == "insufficient_scope"


async def test_revoked_and_expired_tokens(alice: Provider, browser: OPBrowser) -> None:
    client = await register(alice)
    revoked = (await code_flow(browser, client))["access_token"]
    expired = (await code_flow(browser, client))["access_token"]
    for token in (revoked, expired):
        await userinfo_ok(browser.http, token)
    # Gray-box: revoke one through the repository, age the other past its expiry.
    assert await alice.storage.tokens.revoke(secret_hash(revoked), now=int(time.time()))
    await alice.storage.db.run(
        sql("UPDATE tokens SET expires_at = :at WHERE token_hash = :token_hash"),
        {"at": int(time.time()) - 1, "token_hash": secret_hash(expired)},
    )
    for token in (revoked, expired):
        response = await browser.http.get("/userinfo", headers=bearer(token))
        assert_bearer_error(response, 401, INVALID_TOKEN_CHALLENGE)


async def test_code_replay_kills_the_first_access_token(
    alice: Provider, browser: OPBrowser
) -> None:
    client = await register(alice)
    front = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid",
    )
    form = {
        "grant_type": "authorization_code",
        "code": front["code"],
        "redirect_uri": client.redirect_uri,
    }
    first = await browser.http.post("/token", data=form, headers=basic(client))
    token = first.json()["access_token"]
    await userinfo_ok(browser.http, token)
    replay = await browser.http.post("/token", data=form, headers=basic(client))
    assert replay.json()["error"] == "invalid_grant"
    assert_bearer_error(
        await browser.http.get("/userinfo", headers=bearer(token)), 401, INVALID_TOKEN_CHALLENGE
    )


async def test_disabled_account_and_removed_client(alice: Provider, browser: OPBrowser) -> None:
    kept = await register(alice)
    removed = await register(alice)
    alices = (await code_flow(browser, kept))["access_token"]
    removed_clients = (await code_flow(browser, removed))["access_token"]
    await userinfo_ok(browser.http, removed_clients)
    assert await alice.clients.remove(removed.client_id)
    assert_bearer_error(
        await browser.http.get("/userinfo", headers=bearer(removed_clients)),
        401,
        INVALID_TOKEN_CHALLENGE,
    )
    await userinfo_ok(browser.http, alices)
    await alice.accounts.set_disabled("alice")
    response = await browser.http.get("/userinfo", headers=bearer(alices))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="idgate", error="invalid_token"'
    )


# --- CORS, signing, discovery ----------------------------------------------------------------


async def test_cors_preflight_and_answers(alice: Provider, browser: OPBrowser) -> None:
    origin = {"Origin": "https://spa.example"}
    preflight = await browser.http.options(
        "/userinfo",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "access-control-allow-credentials" not in preflight.headers  # no cookies, ever
    client = await register(alice)
    token = (await code_flow(browser, client))["access_token"]
    ok = await browser.http.get("/userinfo", headers={**origin, **bearer(token)})
    assert ok.headers["access-control-allow-origin"] == "*"
    failed = await browser.http.get("/userinfo", headers=origin)
    assert failed.headers["access-control-allow-origin"] == "*"
    assert failed.headers["access-control-expose-headers"] == "WWW-Authenticate"


async def verify_signed(http: httpx.AsyncClient, token: str, alg: str) -> dict[str, Any]:
    keys = jwk.JWKSet.from_json((await http.get("/jwks")).text)
    verified = jwt.JWT(jwt=token, key=keys, algs=[alg])
    assert json.loads(verified.header)["alg"] == alg
    claims: dict[str, Any] = json.loads(verified.claims)
    return claims


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
async def test_signed_userinfo(alice: Provider, browser: OPBrowser, alg: str) -> None:
    if alg != "RS256":
        await alice.keys.add(alg)
    client = await register(alice, userinfo_signed_response_alg=alg)
    tokens = await code_flow(browser, client, scope="openid email")
    id_token = await verify_id_token(browser.http, tokens["id_token"], client.client_id)
    for response in (
        await browser.http.get("/userinfo", headers=bearer(tokens["access_token"])),
        await browser.http.post("/userinfo", data={"access_token": tokens["access_token"]}),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/jwt"
        assert response.headers["cache-control"] == "no-store"
        claims = await verify_signed(browser.http, response.text, alg)
        assert claims == {
            "iss": TEST_ISSUER,
            "aud": client.client_id,
            "sub": id_token["sub"],
            "email": "alice@example.com",
            "email_verified": True,
        }
    # Errors stay JSON with their challenge, signed client or not.
    assert_bearer_error(
        await browser.http.get("/userinfo", headers=bearer("bm9wZQ")), 401, INVALID_TOKEN_CHALLENGE
    )


async def test_discovery_lists_userinfo(alice: Provider, http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["userinfo_endpoint"] == f"{TEST_ISSUER}/userinfo"
    assert doc["subject_types_supported"] == ["public", "pairwise"]
    assert (
        doc["userinfo_signing_alg_values_supported"]
        == (doc["id_token_signing_alg_values_supported"])
    )
    assert {
        "sub",
        "name",
        "email",
        "email_verified",
        "address",
        "phone_number",
        "phone_number_verified",
    } <= set(doc["claims_supported"])
    assert doc["claims_parameter_supported"] is True
