"""A real idgate in-process, the RP library in front of it, and a scripted browser between them.

`Tamper` is an httpx transport that sits between the RP and the real OP and alters chosen
answers (JSON bodies by path): how the tests make the OP's responses lie. `attacker_key` signs
forged tokens; `Tamper.add_key` slips its public half into the OP's JWK Set, so that a forged
token fails on its claims and not merely on an unknown key.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import pytest

from idgate.client import ClientCredentials, RelyingParty
from idgate.client._browser import Browser
from idgate.clock import Clock
from idgate.crypto.jwt import sign_jwt, unverified_claims, unverified_header
from idgate.crypto.keys import SigningKey, generate_signing_key
from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client
from idgate.web.app import create_app

PASSWORD = "correct horse battery staple"
RP = "https://rp.example"
REDIRECT_URI = f"{RP}/cb"
ALL_RESPONSE_TYPES = [
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]

JsonEdit = Callable[[dict[str, Any]], dict[str, Any]]


class Tamper(httpx.AsyncBaseTransport):
    """Passes requests to the real OP; rewrites the JSON answers of the paths in `edits`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.edits: dict[str, JsonEdit] = {}

    def edit(self, path: str, change: JsonEdit) -> None:
        self.edits[path] = change

    def add_key(self, key: SigningKey) -> None:
        self.edit("/jwks", lambda jwks: {"keys": [*jwks["keys"], dict(key.public_jwk)]})

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        change = self.edits.get(request.url.path)
        if change is None:
            return response
        await response.aread()
        body = change(json.loads(response.content))
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-type", "content-encoding")
        }
        return httpx.Response(response.status_code, headers=headers, json=body, request=request)


def resign(token: str, key: SigningKey, **changes: Any) -> str:
    """The claims of `token` with `changes` (None deletes a claim), signed by `key`."""
    claims = dict(unverified_claims(token))
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    typ = unverified_header(token).get("typ")
    return sign_jwt(claims, key, typ=typ if isinstance(typ, str) else None)


@pytest.fixture(scope="session")
def attacker_key() -> SigningKey:
    return generate_signing_key("RS256")


@dataclasses.dataclass
class OP:
    """The OP under test, the browser's HTTP client, and a tamperable transport for RPs."""

    provider: Provider
    browser_http: httpx.AsyncClient
    tamper: Tamper
    rp_http: httpx.AsyncClient

    async def register(
        self, *, private_key: SigningKey | None = None, **metadata: Any
    ) -> ClientCredentials:
        doc = {
            "redirect_uris": [REDIRECT_URI],
            "response_types": ALL_RESPONSE_TYPES,
            "grant_types": ["authorization_code", "implicit", "refresh_token"],
            "client_name": "Library test RP",
            **metadata,
        }
        created = await self.provider.registration.register_trusted(doc)
        return ClientCredentials(
            client_id=created.client.client_id,
            client_secret=created.client_secret,
            token_endpoint_auth_method=created.client.metadata.token_endpoint_auth_method,  # type: ignore[arg-type]
            id_token_signed_response_alg=created.client.metadata.id_token_signed_response_alg,
            userinfo_signed_response_alg=created.client.metadata.userinfo_signed_response_alg,
            private_key=private_key,
        )

    def rp(
        self, client: ClientCredentials, *, clock: Clock | None = None, **kw: Any
    ) -> RelyingParty:
        return RelyingParty(TEST_ISSUER, client, http=self.rp_http, clock=clock, **kw)

    def browser(self) -> Browser:
        return Browser(self.browser_http)


async def open_op(provider: Provider) -> AsyncIterator[OP]:
    await provider.accounts.add(
        "alice",
        PASSWORD,
        {"email": "alice@example.com", "email_verified": True, "name": "Alice"},
    )
    await provider.accounts.add("bob", PASSWORD, {"name": "Bob"})
    app = create_app(provider)
    tamper = Tamper(httpx.ASGITransport(app=app))
    async with (
        asgi_client(app) as browser_http,
        httpx.AsyncClient(transport=tamper, base_url=TEST_ISSUER) as rp_http,
    ):
        yield OP(provider, browser_http, tamper, rp_http)


async def sign_in(
    op: OP,
    rp: RelyingParty,
    *,
    response_type: str = "code id_token",
    username: str = "alice",
    **request: Any,
) -> tuple[Any, Any]:
    """Authorization request → the OP's pages → (session, AuthorizationResponse)."""
    auth = await rp.authorization_request(
        redirect_uri=REDIRECT_URI, response_type=response_type, **request
    )
    response = await op.browser().sign_in(
        auth.url, REDIRECT_URI, username=username, password=PASSWORD
    )
    return auth.session, response


def replace_params(response: Any, **changes: str | None) -> Any:
    params: dict[str, str] = dict(response.parameters)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return dataclasses.replace(response, parameters=params)


def claims_of(token: str) -> Mapping[str, Any]:
    return unverified_claims(token)
