"""Helpers for the UserInfo and pairwise-subject flow tests."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from flows_support import OPBrowser, RegisteredClient  # type: ignore[import-not-found]

from idgate.testing import response_params


def basic(client: RegisteredClient) -> dict[str, str]:
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def code_flow(
    browser: OPBrowser, client: RegisteredClient, *, scope: str = "openid", **extra: str
) -> dict[str, Any]:
    """Sign in (consenting when asked) and redeem the code: the token response."""
    front = await browser.sign_in(
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        response_type="code",
        scope=scope,
        state="s",
        nonce="n",
        **extra,
    )
    response = await browser.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": front["code"],
            "redirect_uri": client.redirect_uri,
        },
        headers=basic(client),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def userinfo_ok(http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """A successful plain-JSON UserInfo answer, with the headers every one must have."""
    response = await http.get("/userinfo", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"
    body: dict[str, Any] = response.json()
    return body


async def sign_in(browser: OPBrowser, username: str = "alice", **params: str) -> dict[str, str]:
    """`OPBrowser.sign_in` for any registered redirect_uri (not only the default RP's host):
    authorize, log in, approve consent when asked; the parameters sent to the redirect_uri."""
    response = await browser.authorize(**params)
    if response.headers.get("location", "").startswith("/interaction/"):
        response = await browser.follow(response)
        if 'name="password"' in response.text:
            response = await browser.login(response, username)
        if response.status_code == 200 and 'name="decision"' in response.text:
            response = await browser.submit(response, button="approve")
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(params["redirect_uri"]), location
    return response_params(location)
