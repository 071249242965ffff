"""Helpers for the observability tests: an app behind a chosen peer address, a login."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, open_test_provider, parse_forms, response_params
from idgate.web.app import create_app

PASSWORD = "observability-password-9f3a"
RP_CALLBACK = "https://rp.example/cb"


@dataclasses.dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str


@asynccontextmanager
async def opened(database_url: str, **settings: Any) -> AsyncIterator[Provider]:
    provider = await open_test_provider(database_url, **settings)
    try:
        await provider.accounts.add("alice", PASSWORD, {"email": "alice@example.com"})
        yield provider
    finally:
        await provider.close()


def client_from(app: Any, peer: str) -> httpx.AsyncClient:
    """An httpx client whose requests reach `app` from the address `peer`."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(peer, 40000)),
        base_url=TEST_ISSUER,
        follow_redirects=False,
    )


@asynccontextmanager
async def app_client(
    provider: Provider, peer: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_from(create_app(provider), peer) as http:
        yield http


async def register(provider: Provider) -> Client:
    created = await provider.registration.register_trusted(
        {
            "redirect_uris": [RP_CALLBACK],
            "response_types": ["code"],
            "grant_types": ["authorization_code", "refresh_token"],
            "first_party": True,
        }
    )
    assert created.client_secret is not None
    return Client(created.client.client_id, created.client_secret)


async def log_in(
    http: httpx.AsyncClient,
    client: Client,
    *,
    username: str = "alice",
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
    scope: str = "openid",
) -> httpx.Response:
    """Authorize and submit the login form; the answer to the login POST."""
    started = await http.get(
        "/authorize",
        params={
            "client_id": client.client_id,
            "redirect_uri": RP_CALLBACK,
            "response_type": "code",
            "scope": scope,
            "state": "st",
        },
        headers=headers,
    )
    assert started.status_code in (302, 303), started.text
    page = await http.get(started.headers["location"], headers=headers)
    (form, *_) = parse_forms(page.text)
    return await http.post(
        form.action,
        data={**form.fields, "username": username, "password": password},
        headers=headers,
    )


def code_of(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), response.text
    return response_params(response.headers["location"])["code"]
