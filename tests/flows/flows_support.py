"""An in-process OP and a scripted browser that walks its real pages."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from jwcrypto import jwk, jwt

from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client, parse_forms, response_params
from idgate.web.app import create_app

PASSWORD = "correct horse battery staple"
RP = "https://rp.example"


@dataclasses.dataclass
class RegisteredClient:
    client_id: str
    client_secret: str | None
    redirect_uri: str


class OPBrowser:
    """A browser with a cookie jar, following the OP's pages by hand (no auto-redirects)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.seen: list[str] = []  # the pages the last sign_in went through

    async def authorize(self, method: str = "GET", **params: str) -> httpx.Response:
        if method == "GET":
            return await self.http.get("/authorize", params=params)
        return await self.http.post("/authorize", data=params)

    async def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code in (302, 303), response.text
        location = response.headers["location"]
        assert location.startswith("/"), location
        return await self.http.get(location)

    async def submit(
        self, page: httpx.Response, fields: dict[str, str] | None = None, *, button: str = ""
    ) -> httpx.Response:
        forms = parse_forms(page.text)
        form = next(f for f in forms if not button or button in f.buttons.get("decision", []))
        data = {**form.fields, **(fields or {})}
        if button:
            data["decision"] = button
        return await self.http.post(form.action, data=data)

    async def login(self, page: httpx.Response, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return await self.submit(page, {"username": username, "password": password})

    async def sign_in(self, username: str = "alice", **params: str) -> dict[str, str]:
        """Authorize, log in, approve consent when asked; the response parameters."""
        self.seen = []
        response = await self.authorize(**params)
        if response.headers.get("location", "").startswith("/interaction/"):
            response = await self.follow(response)
            if 'name="password"' in response.text:
                self.seen.append("login")
                response = await self.login(response, username)
            if response.status_code == 200 and 'name="decision"' in response.text:
                self.seen.append("consent")
                response = await self.submit(response, button="approve")
        return callback(response)


def callback(response: httpx.Response) -> dict[str, str]:
    """Parameters the RP receives: from a redirect's Location or a form_post page."""
    if response.status_code in (302, 303):
        location = response.headers["location"]
        assert location.startswith(RP), location
        return response_params(location)
    assert response.status_code == 200, response.text
    (form,) = parse_forms(response.text)
    assert form.action.startswith(RP), response.text
    return form.fields


@pytest.fixture
async def op(provider: Provider) -> AsyncIterator[Provider]:
    await provider.accounts.add(
        "alice",
        PASSWORD,
        {"email": "alice@example.com", "email_verified": True, "name": "Alice", "locale": "en"},
    )
    await provider.accounts.add("bob", PASSWORD, {"name": "Bob"})
    return provider


@pytest.fixture
async def http(op: Provider) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(op)) as client:
        yield client


@pytest.fixture
def browser(http: httpx.AsyncClient) -> OPBrowser:
    return OPBrowser(http)


async def register(provider: Provider, **metadata: Any) -> RegisteredClient:
    doc = {
        "redirect_uris": [f"{RP}/cb", f"{RP}/cb2", f"{RP}/cbq?a=1"],
        "response_types": [
            "code",
            "id_token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token",
            "none",
        ],
        "grant_types": ["authorization_code", "implicit", "refresh_token"],
        "client_name": "Test RP",
        **metadata,
    }
    created = await provider.registration.register_trusted(doc)
    return RegisteredClient(created.client.client_id, created.client_secret, f"{RP}/cb")


async def verify_id_token(http: httpx.AsyncClient, token: str, client_id: str) -> dict[str, Any]:
    """Check an ID Token with an independent library (jwcrypto) against the OP's JWKS."""
    keys = jwk.JWKSet.from_json((await http.get("/jwks")).text)
    verified = jwt.JWT(
        jwt=token,
        key=keys,
        algs=["RS256", "PS256", "ES256", "EdDSA"],
        check_claims={"iss": TEST_ISSUER, "aud": client_id, "exp": None, "iat": None},
    )
    import json

    claims: dict[str, Any] = json.loads(verified.claims)
    return claims


def authorize_url(**params: str) -> str:
    return "/authorize?" + urlencode(params)
