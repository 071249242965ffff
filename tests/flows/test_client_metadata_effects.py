"""Each client metadata member idgate accepts changes what it does (Registration 1.0 §2)."""

from __future__ import annotations

import time
import uuid

import pytest
from flows_support import OPBrowser, callback, register, verify_id_token  # type: ignore[import-not-found]

from idgate.crypto.jwt import sign_hmac_jwt
from idgate.testing import TEST_ISSUER

pytestmark = pytest.mark.anyio

TOKEN_URL = f"{TEST_ISSUER}/token"


def _id_token_request(client_id: str, redirect_uri: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "id_token",
        "scope": "openid",
        "nonce": "n",
        **extra,
    }


async def test_default_max_age_forces_login_unless_max_age_is_sent(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    strict = await register(op, first_party=True, default_max_age=0)
    relaxed = await register(op, first_party=True)
    await browser.sign_in(**_id_token_request(relaxed.client_id, relaxed.redirect_uri))

    # A session exists: the client without default_max_age gets its answer silently ...
    silent = await browser.authorize(**_id_token_request(relaxed.client_id, relaxed.redirect_uri))
    assert "id_token=" in silent.headers["location"]
    # ... the one registered with default_max_age=0 makes the End-User sign in again ...
    again = await browser.authorize(**_id_token_request(strict.client_id, strict.redirect_uri))
    assert again.headers["location"].startswith("/interaction/")
    assert 'name="password"' in (await browser.follow(again)).text
    # ... unless the request's own max_age overrides the default (Registration 1.0 §2).
    override = await browser.authorize(
        **_id_token_request(strict.client_id, strict.redirect_uri, max_age="3600")
    )
    assert "id_token=" in override.headers["location"]


async def test_require_auth_time_puts_auth_time_in_every_id_token(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(op, first_party=True, require_auth_time=True)
    params = await browser.sign_in(
        **_id_token_request(client.client_id, client.redirect_uri, response_type="code id_token")
    )
    front = await verify_id_token(browser.http, params["id_token"], client.client_id)
    tokens = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uri,
        },
        auth=(client.client_id, client.client_secret),
    )
    back = await verify_id_token(browser.http, tokens.json()["id_token"], client.client_id)
    assert isinstance(front["auth_time"], int)
    assert back["auth_time"] == front["auth_time"]


async def test_token_endpoint_auth_signing_alg_is_the_only_alg_accepted(
    op, browser: OPBrowser
) -> None:  # type: ignore[no-untyped-def]
    client = await register(
        op,
        token_endpoint_auth_method="client_secret_jwt",
        token_endpoint_auth_signing_alg="HS512",
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
    )

    def assertion(alg: str) -> str:
        now = int(time.time())
        claims = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": TOKEN_URL,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 60,
        }
        return sign_hmac_jwt(claims, client.client_secret, alg)

    def form(alg: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(alg),
        }

    refused = await browser.http.post("/token", data=form("HS256"))
    assert refused.status_code == 401
    accepted = await browser.http.post("/token", data=form("HS512"))
    assert accepted.status_code == 200, accepted.text


async def test_consent_page_shows_the_client_links(op, browser: OPBrowser) -> None:  # type: ignore[no-untyped-def]
    client = await register(
        op,
        client_name="Linked RP",
        client_uri="https://rp.example/about",
        policy_uri="https://rp.example/privacy",
        tos_uri="https://rp.example/terms",
        logo_uri="https://rp.example/logo.png",
    )
    response = await browser.authorize(
        **_id_token_request(client.client_id, client.redirect_uri, prompt="consent")
    )
    page = await browser.login(await browser.follow(response), "alice")
    assert page.status_code == 200
    for link in ("about", "privacy", "terms"):
        assert f'href="https://rp.example/{link}"' in page.text
    assert 'src="https://rp.example/logo.png"' in page.text
    assert "img-src 'self' https://rp.example" in page.headers["content-security-policy"]
    params = callback(await browser.submit(page, button="approve"))
    assert params["id_token"]
