"""The token endpoint over HTTP: every grant and every client authentication method.

Runs on SQLite and PostgreSQL; the two-process race runs on PostgreSQL with real servers.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import pytest
from flows_support import RP, OPBrowser, register, verify_id_token  # type: ignore[import-not-found]
from jwcrypto import jwk

from idgate.crypto.jwt import sign_hmac_jwt
from idgate.crypto.random import secret_hash
from idgate.protocol.pkce import s256_challenge
from idgate.testing import TEST_ISSUER

pytestmark = pytest.mark.anyio

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
TOKEN_URL = f"{TEST_ISSUER}/token"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def half_hash(value: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()[:16]).rstrip(b"=").decode()
    )


async def get_code(browser: OPBrowser, client, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    params = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code id_token",
        "scope": "openid email offline_access",
        "nonce": "n-1",
        "state": "s",
        "prompt": "consent",
        **extra,
    }
    return await browser.sign_in(**params)


async def test_code_exchange_with_client_secret_basic(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    front = await get_code(browser, client)
    front_claims = await verify_id_token(browser.http, front["id_token"], client.client_id)
    assert front_claims["c_hash"] == half_hash(front["code"])

    response = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": front["code"],
            "redirect_uri": client.redirect_uri,
        },
        headers=basic(client.client_id, client.client_secret),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["refresh_token"]
    assert set(body["scope"].split()) == {"openid", "email", "offline_access"}
    claims = await verify_id_token(browser.http, body["id_token"], client.client_id)
    assert claims["at_hash"] == half_hash(body["access_token"])
    # Same End-User, session and authentication as the front channel's ID Token (Core §3.3.3.6).
    for name in ("sub", "auth_time", "acr", "nonce", "sid", "amr"):
        assert claims[name] == front_claims[name], name
    assert "c_hash" not in claims


async def test_code_replay_revokes_what_it_issued(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    code = (await get_code(browser, client))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    first = await browser.http.post(
        "/token", data=form, headers=basic(client.client_id, client.client_secret)
    )
    assert first.status_code == 200
    tokens = first.json()
    second = await browser.http.post(
        "/token", data=form, headers=basic(client.client_id, client.client_secret)
    )
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    # Gray-box: the access and refresh tokens from the first redemption are revoked.
    for value in (tokens["access_token"], tokens["refresh_token"]):
        stored = await op.storage.tokens.get(secret_hash(value))
        assert stored.revoked_at is not None
    refreshed = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(client.client_id, client.client_secret),
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_code_replay_after_a_refresh_revokes_the_rotated_tokens_too(  # type: ignore[no-untyped-def]
    op, browser: OPBrowser
) -> None:
    # RFC 6749 §4.1.2: "all tokens previously issued based on that authorization code",
    # which includes what a refresh of its refresh token gave.
    client = await register(op)
    auth = basic(client.client_id, client.client_secret)
    code = (await get_code(browser, client))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    first = (await browser.http.post("/token", data=form, headers=auth)).json()
    rotated = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=auth,
    )
    assert rotated.status_code == 200, rotated.text
    successor = rotated.json()
    replay = await browser.http.post("/token", data=form, headers=auth)
    assert replay.json()["error"] == "invalid_grant"
    for value in (successor["access_token"], successor["refresh_token"]):
        assert (await op.storage.tokens.get(secret_hash(value))).revoked_at is not None
    userinfo = await browser.http.get(
        "/userinfo", headers={"Authorization": f"Bearer {successor['access_token']}"}
    )
    assert userinfo.status_code == 401


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uri": f"{RP}/cb2"}, "invalid_grant"),
        ({"redirect_uri": None}, "invalid_grant"),
        ({"code": "not-a-code"}, "invalid_grant"),
        ({"code_verifier": VERIFIER}, "invalid_grant"),  # PKCE downgrade: no challenge was sent
        ({"grant_type": None}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"code": None}, "invalid_request"),
    ],
)
async def test_code_exchange_errors_burn_the_code(op, browser: OPBrowser, change, error) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    code = (await get_code(browser, client))["code"]
    good = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    bad = {k: v for k, v in {**good, **change}.items() if v is not None}
    auth = basic(client.client_id, client.client_secret)
    response = await browser.http.post("/token", data=bad, headers=auth)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"
    if "code" in change or "grant_type" in change:
        return
    # The code was consumed by the failed attempt: the right request now fails too.
    retry = await browser.http.post("/token", data=good, headers=auth)
    assert retry.json()["error"] == "invalid_grant"


async def test_code_issued_to_another_client(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    owner = await register(op)
    thief = await register(op)
    code = (await get_code(browser, owner))["code"]
    response = await browser.http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": owner.redirect_uri},
        headers=basic(thief.client_id, thief.client_secret),
    )
    assert response.json()["error"] == "invalid_grant"


async def test_expired_code(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    code = (await get_code(browser, client))["code"]
    # Gray-box: age the code past its lifetime.
    from idgate.storage.sql.db import sql

    await op.storage.db.run(
        sql("UPDATE authorization_codes SET expires_at = :at"), {"at": int(time.time()) - 1}
    )
    response = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
        },
        headers=basic(client.client_id, client.client_secret),
    )
    assert response.json()["error"] == "invalid_grant"


async def test_public_client_with_pkce(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, token_endpoint_auth_method="none")
    assert client.client_secret is None
    pkce = {"code_challenge": s256_challenge(VERIFIER), "code_challenge_method": "S256"}
    base = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
    }

    code = (await get_code(browser, client, **pkce))["code"]
    wrong = await browser.http.post(
        "/token", data={**base, "code": code, "code_verifier": "x" * 43}
    )
    assert wrong.json()["error"] == "invalid_grant"

    code = (await get_code(browser, client, **pkce))["code"]
    missing = await browser.http.post("/token", data={**base, "code": code})
    assert missing.json()["error"] == "invalid_grant"

    code = (await get_code(browser, client, **pkce))["code"]
    ok = await browser.http.post("/token", data={**base, "code": code, "code_verifier": VERIFIER})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["id_token"]
    # A public client gets a refresh token only with offline_access (it asked for it here).
    assert body["refresh_token"]

    no_pkce = await browser.authorize(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid",
        state="s",
    )
    assert "error=invalid_request" in no_pkce.headers["location"]


async def test_client_secret_post(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, token_endpoint_auth_method="client_secret_post")
    code = (await get_code(browser, client))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    # The registered method is client_secret_post: Basic is refused, with a Basic challenge.
    as_basic = await browser.http.post(
        "/token",
        data={k: v for k, v in form.items() if k not in ("client_id", "client_secret")},
        headers=basic(client.client_id, client.client_secret),
    )
    assert as_basic.status_code == 401
    assert as_basic.json()["error"] == "invalid_client"
    assert as_basic.headers["www-authenticate"].startswith("Basic")
    response = await browser.http.post("/token", data=form)
    # The code was not consumed by a request whose client failed authentication.
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers_and_form",
    [
        ({"Authorization": "Basic !!!"}, {}),
        ({"Authorization": "Bearer abc"}, {}),
        ({}, {"client_id": "nobody", "client_secret": "x"}),
        ({}, {}),
    ],
)
async def test_bad_client_authentication(op, browser: OPBrowser, headers_and_form) -> None:  # type: ignore[no-untyped-def]
    headers, form = headers_and_form
    response = await browser.http.post(
        "/token", data={"grant_type": "client_credentials", **form}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "Traceback" not in response.text


async def test_wrong_secret(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    response = await browser.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, "wrong"),
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


def assertion_claims(client_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def test_client_secret_jwt(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(
        op,
        token_endpoint_auth_method="client_secret_jwt",
        grant_types=["authorization_code", "implicit", "client_credentials"],
    )
    assertion = sign_hmac_jwt(assertion_claims(client.client_id), client.client_secret)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    ok = await browser.http.post("/token", data=form)
    assert ok.status_code == 200, ok.text
    replay = await browser.http.post("/token", data=form)
    assert replay.status_code == 401
    forged = sign_hmac_jwt(assertion_claims(client.client_id), "x" * 64)
    bad = await browser.http.post("/token", data={**form, "client_assertion": forged})
    assert bad.status_code == 401


async def test_private_key_jwt(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="rp-key-1")
    client = await register(
        op,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.export_public(as_dict=True)]},
    )
    from jwcrypto import jwt as jwcrypto_jwt

    def assertion(**overrides: object) -> str:
        token = jwcrypto_jwt.JWT(
            header={"alg": "ES256", "kid": "rp-key-1"},
            claims=assertion_claims(client.client_id, **overrides),
        )
        token.make_signed_token(key)
        return token.serialize()

    code = (await get_code(browser, client))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    for overrides in (
        {"aud": "https://elsewhere.example/token"},
        {"exp": int(time.time()) - 120},
        {"iss": "other"},
        {"jti": None},
    ):
        refused = await browser.http.post(
            "/token", data={**form, "client_assertion": assertion(**overrides)}
        )
        assert refused.status_code == 401, overrides
    ok = await browser.http.post(
        "/token", data={**form, "client_assertion": assertion(aud=TEST_ISSUER)}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["id_token"]


async def test_refresh_rotation_and_reuse_detection(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    front = await get_code(browser, client)
    auth = basic(client.client_id, client.client_secret)
    first = (
        await browser.http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": front["code"],
                "redirect_uri": client.redirect_uri,
            },
            headers=auth,
        )
    ).json()
    original = await verify_id_token(browser.http, first["id_token"], client.client_id)

    refreshed = await browser.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": "openid",
        },
        headers=auth,
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "openid"
    claims = await verify_id_token(browser.http, second["id_token"], client.client_id)
    assert claims["sub"] == original["sub"]
    assert claims["auth_time"] == original["auth_time"]
    assert "nonce" not in claims
    assert claims["at_hash"] == half_hash(second["access_token"])

    widened = await browser.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": second["refresh_token"],
            "scope": "openid phone",
        },
        headers=auth,
    )
    assert widened.json()["error"] == "invalid_scope"

    # Reusing the rotated-out token revokes the whole family, including the newest token.
    reuse = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=auth,
    )
    assert reuse.json()["error"] == "invalid_grant"
    newest = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        headers=auth,
    )
    assert newest.json()["error"] == "invalid_grant"
    assert (await op.storage.tokens.get(secret_hash(second["access_token"]))).revoked_at is not None


async def test_refresh_token_of_another_client(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    other = await register(op)
    code = (await get_code(browser, client))["code"]
    tokens = (
        await browser.http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uri,
            },
            headers=basic(client.client_id, client.client_secret),
        )
    ).json()
    stolen = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(other.client_id, other.client_secret),
    )
    assert stolen.json()["error"] == "invalid_grant"


async def test_client_credentials(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(
        op,
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
        scope="api:read api:write",
    )
    auth = basic(client.client_id, client.client_secret)
    ok = await browser.http.post(
        "/token", data={"grant_type": "client_credentials", "scope": "api:read"}, headers=auth
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["scope"] == "api:read"
    assert "id_token" not in body
    assert "refresh_token" not in body
    denied = await browser.http.post(
        "/token", data={"grant_type": "client_credentials", "scope": "admin"}, headers=auth
    )
    assert denied.json()["error"] == "invalid_scope"
    code_client = await register(op)
    unauthorized = await browser.http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=basic(code_client.client_id, code_client.client_secret),
    )
    assert unauthorized.json()["error"] == "unauthorized_client"


async def test_token_endpoint_http_hygiene(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    auth = basic(client.client_id, client.client_secret)
    get = await browser.http.get("/token")
    assert get.status_code == 405
    as_json = await browser.http.post(
        "/token", json={"grant_type": "client_credentials"}, headers=auth
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"
    repeated = await browser.http.post(
        "/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"


async def test_discovery_lists_the_token_endpoint(http) -> None:  # type: ignore[no-untyped-def]
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["token_endpoint"] == TOKEN_URL
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    }
    assert "refresh_token" in doc["grant_types_supported"]
