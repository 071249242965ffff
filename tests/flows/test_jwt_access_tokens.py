"""JWT access tokens (RFC 9068) over HTTP, on SQLite and PostgreSQL.

Tokens are checked with an independent library (jwcrypto) against the OP's published JWKS,
the way a resource server would; then introspected, revoked and used at UserInfo.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from flows_support import (  # type: ignore[import-not-found]
    PASSWORD,
    OPBrowser,
    RegisteredClient,
    register,
    verify_id_token,
)
from jwcrypto import jwk, jwt

from idgate.clock import FrozenClock
from idgate.protocol.id_token import half_hash
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio


def basic(client: RegisteredClient) -> dict[str, str]:
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def verify_access_token(
    http: httpx.AsyncClient, token: str, *, audience: str = TEST_ISSUER
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT access token, verified as RFC 9068 §4 asks."""
    keys = jwk.JWKSet.from_json((await http.get("/jwks")).text)
    verified = jwt.JWT(
        jwt=token,
        key=keys,
        algs=["RS256"],
        check_claims={"iss": TEST_ISSUER, "aud": audience, "exp": None, "iat": None},
        expected_type="JWS",
    )
    header: dict[str, Any] = json.loads(verified.header)
    claims: dict[str, Any] = json.loads(verified.claims)
    return header, claims


async def code_tokens(
    browser: OPBrowser, client: RegisteredClient, scope: str = "openid email offline_access"
) -> dict[str, str]:
    params = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope=scope,
        prompt="consent",
    )
    response = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uri,
        },
        headers=basic(client),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def refresh(http: httpx.AsyncClient, client: RegisteredClient, token: str) -> httpx.Response:
    return await http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=basic(client),
    )


async def introspect(http: httpx.AsyncClient, client: RegisteredClient, token: str) -> Any:
    response = await http.post("/introspect", data={"token": token}, headers=basic(client))
    assert response.status_code == 200, response.text
    return response.json()


async def userinfo(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


async def test_code_flow_gives_a_signed_at_jwt(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt")
    tokens = await code_tokens(browser, client)
    header, claims = await verify_access_token(browser.http, tokens["access_token"])

    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    keyring = await op.keys.keyring()
    assert header["kid"] == keyring.signing_key("RS256").kid
    id_claims = await verify_id_token(browser.http, tokens["id_token"], client.client_id)
    assert claims["sub"] == id_claims["sub"]
    assert claims["client_id"] == client.client_id
    assert set(claims["scope"].split()) == {"openid", "email", "offline_access"}
    assert claims["exp"] - claims["iat"] == op.settings.access_token_ttl == tokens["expires_in"]
    assert claims["auth_time"] == id_claims["auth_time"]
    assert claims["amr"] == ["pwd"]
    assert len(claims["jti"]) >= 20
    # The ID Token binds the JWT itself (Core §3.1.3.6): at_hash over the whole string.
    assert id_claims["at_hash"] == half_hash(tokens["access_token"], "RS256")
    assert tokens["token_type"] == "Bearer"
    # A JWT access token is neither an ID Token nor a refresh token.
    assert "nonce" not in claims
    assert "refresh_token" in tokens
    assert tokens["refresh_token"].count(".") == 0


async def test_opaque_stays_the_default(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op)
    tokens = await code_tokens(browser, client)
    assert "." not in tokens["access_token"]
    assert len(tokens["access_token"]) == 43
    body = await introspect(browser.http, client, tokens["access_token"])
    assert body["active"] is True
    assert body["aud"] == client.client_id


async def test_jwt_access_token_at_userinfo_introspection_and_revocation(
    op, browser: OPBrowser
) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt")
    other = await register(op)
    rs = await register(op, resource_server=True)
    tokens = await code_tokens(browser, client)
    access = tokens["access_token"]
    _, claims = await verify_access_token(browser.http, access)

    info = await userinfo(browser.http, access)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["email"] == "alice@example.com"

    own = await introspect(browser.http, client, access)
    assert own["active"] is True
    assert own["token_type"] == "Bearer"
    assert own["aud"] == claims["aud"] == TEST_ISSUER
    assert own["sub"] == claims["sub"]
    assert own["client_id"] == client.client_id
    assert (own["exp"], own["iat"]) == (claims["exp"], claims["iat"])
    assert (await introspect(browser.http, rs, access))["active"] is True
    assert await introspect(browser.http, other, access) == {"active": False}

    # Another client cannot revoke it; its own client can (RFC 7009 §2.1).
    foreign = await browser.http.post("/revoke", data={"token": access}, headers=basic(other))
    assert foreign.status_code == 200
    assert (await introspect(browser.http, client, access))["active"] is True
    revoked = await browser.http.post("/revoke", data={"token": access}, headers=basic(client))
    assert revoked.status_code == 200
    assert await introspect(browser.http, client, access) == {"active": False}
    assert await introspect(browser.http, rs, access) == {"active": False}
    after = await userinfo(browser.http, access)
    assert after.status_code == 401
    assert 'error="invalid_token"' in after.headers["www-authenticate"]
    # The JWT still verifies: a resource server that only checks signatures would accept it,
    # which is why RFC 9068 resource servers that care about revocation introspect.
    await verify_access_token(browser.http, access)
    # The refresh token is untouched by revoking an access token.
    assert (await introspect(browser.http, client, tokens["refresh_token"]))["active"] is True


async def test_a_jwt_we_signed_but_never_issued_is_not_a_token(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    """Only the hash of an issued JWT makes it a token: re-signed claims are worthless."""
    from idgate.crypto.jwt import sign_jwt, unverified_claims

    client = await register(op, access_token_format="jwt")
    tokens = await code_tokens(browser, client)
    claims = dict(unverified_claims(tokens["access_token"]))
    claims["scope"] = "openid email profile"
    key = (await op.keys.keyring()).signing_key("RS256")
    forged = sign_jwt(claims, key, typ="at+jwt")
    await verify_access_token(browser.http, forged)
    assert await introspect(browser.http, client, forged) == {"active": False}
    assert (await userinfo(browser.http, forged)).status_code == 401
    # A tampered payload with the original signature: not ours either.
    head, _, sig = tokens["access_token"].split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{head}.{payload}.{sig}"
    with pytest.raises(jwt.JWTMissingKey):  # jwcrypto: no key of the JWKS verifies it
        await verify_access_token(browser.http, tampered)
    assert await introspect(browser.http, client, tampered) == {"active": False}


async def test_refresh_gives_jwts_and_family_revocation_takes_them(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt")
    first = await code_tokens(browser, client)
    rotated = await refresh(browser.http, client, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    _, first_claims = await verify_access_token(browser.http, first["access_token"])
    _, claims = await verify_access_token(browser.http, second["access_token"])
    assert claims["jti"] != first_claims["jti"]
    assert claims["sub"] == first_claims["sub"]
    # Core §12.2: the refresh keeps the original authentication.
    assert claims["auth_time"] == first_claims["auth_time"]
    assert (await userinfo(browser.http, second["access_token"])).status_code == 200

    revoked = await browser.http.post(
        "/revoke", data={"token": second["refresh_token"]}, headers=basic(client)
    )
    assert revoked.status_code == 200
    for token in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert await introspect(browser.http, client, token) == {"active": False}
    assert (await userinfo(browser.http, second["access_token"])).status_code == 401


async def test_refresh_token_reuse_revokes_the_jwt_family(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt")
    first = await code_tokens(browser, client)
    second = (await refresh(browser.http, client, first["refresh_token"])).json()
    replay = await refresh(browser.http, client, first["refresh_token"])
    assert replay.json()["error"] == "invalid_grant"
    assert await introspect(browser.http, client, second["access_token"]) == {"active": False}


async def test_implicit_and_hybrid_access_tokens_are_jwts(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt")
    for response_type in ("id_token token", "code id_token token"):
        params = await browser.sign_in(
            client_id=client.client_id,
            redirect_uri=client.redirect_uri,
            response_type=response_type,
            scope="openid email",
            nonce="n-0S6_WzA2Mj",
            prompt="consent",
        )
        access = params["access_token"]
        header, claims = await verify_access_token(browser.http, access)
        assert header["typ"] == "at+jwt"
        assert claims["client_id"] == client.client_id
        assert int(params["expires_in"]) == claims["exp"] - claims["iat"]
        id_claims = await verify_id_token(browser.http, params["id_token"], client.client_id)
        assert id_claims["at_hash"] == half_hash(access, "RS256")
        assert claims["sub"] == id_claims["sub"]
        assert (await userinfo(browser.http, access)).json()["email"] == "alice@example.com"


async def test_client_credentials_jwt_names_the_client(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(
        op,
        access_token_format="jwt",
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
        scope="api:read",
    )
    response = await browser.http.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic(client)
    )
    assert response.status_code == 200, response.text
    _, claims = await verify_access_token(browser.http, response.json()["access_token"])
    # RFC 9068 §2.2: no resource owner, so `sub` identifies the client.
    assert claims["sub"] == client.client_id
    assert claims["scope"] == "api:read"
    assert "auth_time" not in claims
    body = await introspect(browser.http, client, response.json()["access_token"])
    assert body["active"] is True
    assert body["aud"] == TEST_ISSUER


async def test_pairwise_client_jwt_has_the_pairwise_sub(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt", subject_type="pairwise")
    tokens = await code_tokens(browser, client)
    _, claims = await verify_access_token(browser.http, tokens["access_token"])
    id_claims = await verify_id_token(browser.http, tokens["id_token"], client.client_id)
    assert claims["sub"] == id_claims["sub"]
    account = await op.storage.accounts.by_username("alice")
    assert claims["sub"] != account.subject


async def test_configured_audience(database_url: str) -> None:
    provider = await open_test_provider(database_url, access_token_audience="https://api.example")
    try:
        await provider.accounts.add("alice", PASSWORD, {"email": "alice@example.com"})
        client = await register(provider, access_token_format="jwt")
        async with asgi_client(create_app(provider)) as http:
            tokens = await code_tokens(OPBrowser(http), client)
            _, claims = await verify_access_token(
                http, tokens["access_token"], audience="https://api.example"
            )
            assert claims["aud"] == "https://api.example"
            body = await introspect(http, client, tokens["access_token"])
            assert body["aud"] == "https://api.example"
    finally:
        await provider.close()


async def test_refresh_retry_within_grace_gets_a_fresh_jwt(database_url: str) -> None:
    """A JWT cannot be derived again like an opaque successor: the retry gets a new one of
    the same family, and the rotated refresh token is the same."""
    clock = FrozenClock(1_900_000_000)
    provider = await open_test_provider(
        database_url, clock=clock, refresh_grace_period=10, secret_key="s" * 40
    )
    try:
        await provider.accounts.add("alice", PASSWORD)
        client = await register(provider, access_token_format="jwt", first_party=True)
        async with asgi_client(create_app(provider)) as http:
            first = await code_tokens(OPBrowser(http), client, scope="openid offline_access")
            second = (await refresh(http, client, first["refresh_token"])).json()
            clock.advance(5)
            retried_response = await refresh(http, client, first["refresh_token"])
            assert retried_response.status_code == 200, retried_response.text
            retried = retried_response.json()
            assert retried["refresh_token"] == second["refresh_token"]
            assert retried["access_token"] != second["access_token"]
            await verify_access_token(http, retried["access_token"])
            for token in (second["access_token"], retried["access_token"]):
                assert (await introspect(http, client, token))["active"] is True
            # Both belong to the family: revoking the refresh token takes them along.
            await http.post(
                "/revoke", data={"token": retried["refresh_token"]}, headers=basic(client)
            )
            for token in (second["access_token"], retried["access_token"]):
                assert await introspect(http, client, token) == {"active": False}
            clock.advance(10)
            late = await refresh(http, client, first["refresh_token"])
            assert late.json()["error"] == "invalid_grant"
    finally:
        await provider.close()


async def test_key_rotation_keeps_earlier_jwts_verifiable(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, access_token_format="jwt")
    before = await code_tokens(browser, client)
    old_header, _ = await verify_access_token(browser.http, before["access_token"])
    rotation = await op.keys.rotate("RS256")
    assert rotation.retired == old_header["kid"]
    after = await code_tokens(browser, client)
    new_header, _ = await verify_access_token(browser.http, after["access_token"])
    assert new_header["kid"] == rotation.activated != old_header["kid"]
    # The retired key stays in the JWKS, so the earlier token still verifies and is live.
    await verify_access_token(browser.http, before["access_token"])
    assert (await introspect(browser.http, client, before["access_token"]))["active"] is True


async def test_dynamic_registration_accepts_the_format(database_url: str) -> None:
    provider = await open_test_provider(database_url, registration="open")
    try:
        async with asgi_client(create_app(provider)) as http:
            doc = {"redirect_uris": ["https://rp.example/cb"], "access_token_format": "jwt"}
            created = await http.post("/register", json=doc)
            assert created.status_code == 201, created.text
            assert created.json()["access_token_format"] == "jwt"
            bad = await http.post("/register", json={**doc, "access_token_format": "paseto"})
            assert bad.status_code == 400
            assert bad.json()["error"] == "invalid_client_metadata"
    finally:
        await provider.close()
