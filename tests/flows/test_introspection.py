"""Introspection (RFC 7662) and revocation (RFC 7009) over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from flows_support import OPBrowser, register  # type: ignore[import-not-found]

from idgate.testing import TEST_ISSUER

pytestmark = pytest.mark.anyio


def basic(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def tokens_for(browser: OPBrowser, client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    params = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope="openid email offline_access",
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


async def introspect(http: httpx.AsyncClient, client, token: str, **extra: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await http.post("/introspect", data={"token": token, **extra}, headers=basic(client))


async def revoke(http: httpx.AsyncClient, client, token: str, **extra: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await http.post("/revoke", data={"token": token, **extra}, headers=basic(client))


async def test_introspection(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    c1 = await register(op)
    c2 = await register(op)
    rs = await register(op, resource_server=True)
    tokens = await tokens_for(browser, c1)

    own = await introspect(browser.http, c1, tokens["access_token"])
    assert own.status_code == 200
    assert own.headers["cache-control"] == "no-store"
    body = own.json()
    assert body["active"] is True
    assert body["client_id"] == c1.client_id
    assert set(body["scope"].split()) == {"openid", "email", "offline_access"}
    assert body["token_type"] == "Bearer"
    assert body["iss"] == TEST_ISSUER
    assert body["sub"]
    assert body["exp"] > body["iat"]

    refresh = (await introspect(browser.http, c1, tokens["refresh_token"])).json()
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"

    # Another client sees nothing; a resource server sees it.
    assert (await introspect(browser.http, c2, tokens["access_token"])).json() == {"active": False}
    assert (await introspect(browser.http, rs, tokens["access_token"])).json()["active"] is True

    assert (await introspect(browser.http, c1, "unknown")).json() == {"active": False}


async def test_introspection_needs_client_authentication(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    c1 = await register(op)
    public = await register(op, token_endpoint_auth_method="none")
    tokens = await tokens_for(browser, c1)
    anonymous = await browser.http.post("/introspect", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    as_public = await browser.http.post(
        "/introspect", data={"token": tokens["access_token"], "client_id": public.client_id}
    )
    assert as_public.status_code == 401
    missing = await browser.http.post("/introspect", data={}, headers=basic(c1))
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


async def test_expired_and_rotated_tokens_are_inactive(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    c1 = await register(op)
    tokens = await tokens_for(browser, c1)
    rotated = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(c1),
    )
    assert rotated.status_code == 200
    assert (await introspect(browser.http, c1, tokens["refresh_token"])).json() == {"active": False}
    assert (await introspect(browser.http, c1, rotated.json()["refresh_token"])).json()["active"]

    from idgate.storage.sql.db import sql

    # Gray-box: age every token.
    await op.storage.db.run(sql("UPDATE tokens SET expires_at = :at"), {"at": int(time.time()) - 1})
    assert (await introspect(browser.http, c1, tokens["access_token"])).json() == {"active": False}


async def test_revocation(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    c1 = await register(op)
    c2 = await register(op)
    tokens = await tokens_for(browser, c1)

    # Another client's token: 200, and it stays active (RFC 7009 §2.1).
    foreign = await revoke(browser.http, c2, tokens["access_token"])
    assert foreign.status_code == 200
    assert (await introspect(browser.http, c1, tokens["access_token"])).json()["active"]

    # A wrong hint is only a hint.
    own = await revoke(browser.http, c1, tokens["access_token"], token_type_hint="refresh_token")
    assert own.status_code == 200
    assert own.headers["cache-control"] == "no-store"
    assert (await introspect(browser.http, c1, tokens["access_token"])).json() == {"active": False}
    # The refresh token was not touched by revoking an access token.
    assert (await introspect(browser.http, c1, tokens["refresh_token"])).json()["active"]

    assert (await revoke(browser.http, c1, "unknown-token")).status_code == 200

    anonymous = await browser.http.post("/revoke", data={"token": tokens["refresh_token"]})
    assert anonymous.status_code == 401


async def test_revoking_a_refresh_token_revokes_its_family(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    c1 = await register(op)
    first = await tokens_for(browser, c1)
    second = (
        await browser.http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            headers=basic(c1),
        )
    ).json()
    assert (await revoke(browser.http, c1, second["refresh_token"])).status_code == 200
    for token in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert (await introspect(browser.http, c1, token)).json() == {"active": False}
    again = await browser.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        headers=basic(c1),
    )
    assert again.json()["error"] == "invalid_grant"


async def test_public_client_revokes_its_own_token(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    from idgate.protocol.pkce import s256_challenge

    public = await register(op, token_endpoint_auth_method="none")
    verifier = "v" * 43
    params = await browser.sign_in(
        client_id=public.client_id,
        redirect_uri=public.redirect_uri,
        response_type="code",
        scope="openid offline_access",
        code_challenge=s256_challenge(verifier),
        code_challenge_method="S256",
        prompt="consent",
    )
    tokens = (
        await browser.http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": public.redirect_uri,
                "client_id": public.client_id,
                "code_verifier": verifier,
            },
        )
    ).json()
    revoked = await browser.http.post(
        "/revoke", data={"token": tokens["refresh_token"], "client_id": public.client_id}
    )
    assert revoked.status_code == 200
    refreshed = await browser.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public.client_id,
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_discovery_lists_introspection_and_revocation(http) -> None:  # type: ignore[no-untyped-def]
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["introspection_endpoint"] == f"{TEST_ISSUER}/introspect"
    assert doc["revocation_endpoint"] == f"{TEST_ISSUER}/revoke"
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in doc["revocation_endpoint_auth_methods_supported"]


async def test_introspection_gives_the_pairwise_sub(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    from flows_support import verify_id_token  # type: ignore[import-not-found]

    pairwise = await register(op, subject_type="pairwise")
    tokens = await tokens_for(browser, pairwise)
    claims = await verify_id_token(browser.http, tokens["id_token"], pairwise.client_id)
    body = (await introspect(browser.http, pairwise, tokens["access_token"])).json()
    assert body["sub"] == claims["sub"]
    account = await op.storage.accounts.by_username("alice")
    assert body["sub"] != account.subject
