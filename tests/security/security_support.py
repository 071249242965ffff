"""The security suite's harness: an in-process OP, a scripted browser, and the global
invariants of SECURITY.md §2, checked on every response the suite sees.

Every test here talks to the real app through httpx's ASGI transport, over real storage
(SQLite and PostgreSQL through the `provider` fixture). The `http` client carries an event hook
that asserts G1, G2, G4, G5, G6 and G7 on each answer, so a test about one attack also
guards the invariants on every answer it provokes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from idgate.provider import Provider
from idgate.testing import (
    TEST_ISSUER,
    asgi_client,
    open_test_provider,
    parse_forms,
    response_params,
)
from idgate.web.app import create_app

PASSWORD = "correct horse battery staple"
RP = "https://rp.example"
SINK = "https://sink.example"
ALL_TYPES = [
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]

# G2: what must never show up in a body.
INTERNALS = re.compile(
    r'Traceback|File ".*", line \d+|site-packages|sqlalchemy|psycopg|asyncpg|sqlite3\.'
    r"|jinja2\.exceptions|KeyError|TypeError"
)
# G7: RFC 6749 §5.2's charset for error and error_description.
ERROR_CHARS = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
JSON_PATHS = ("/token", "/introspect", "/revoke", "/register", "/jwks", "/.well-known/")
ARTIFACTS = ("code", "access_token", "refresh_token", "id_token", "client_secret")


def check_invariants(response: httpx.Response) -> None:
    """SECURITY.md §2 on one answer (the body must have been read)."""
    status = response.status_code
    path = response.request.url.path
    body = response.text
    # G1: no 5xx on bad input; a 503 always says when to come back.
    assert status < 500 or (status == 503 and "retry-after" in response.headers), (
        f"{status} on {path}: {body[:500]}"
    )
    # G2: no internals in any body.
    assert not INTERNALS.search(body), f"internals leaked on {path}: {body[:500]}"
    content_type = response.headers.get("content-type", "")
    # G4: APIs answer JSON, never HTML.
    api = path in ("/token", "/register") or (path.startswith(JSON_PATHS) and status >= 400)
    if api and body:
        assert content_type.startswith("application/json"), (path, status, content_type)
    if content_type.startswith("application/json") and body:
        document = json.loads(body)
        if isinstance(document, dict) and "error" in document:
            # G7: error codes and descriptions in the spec's charset, no raw input echoed.
            for name in ("error", "error_description"):
                if name in document:
                    assert ERROR_CHARS.fullmatch(document[name]), (name, document[name])
        if isinstance(document, dict) and any(name in document for name in ARTIFACTS):
            assert "no-store" in response.headers.get("cache-control", ""), path  # G5
    location = response.headers.get("location", "")
    if any(f"{name}=" in location for name in ARTIFACTS):
        assert "no-store" in response.headers.get("cache-control", ""), location  # G5
    if content_type.startswith("text/html"):
        # G6 on every page but the check_session_iframe.
        if path != "/check_session":
            assert response.headers["x-frame-options"] == "DENY", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" in response.headers  # the test issuer is https
        if 'name="code"' in body or 'name="id_token"' in body:
            assert "no-store" in response.headers.get("cache-control", "")  # G5 on form_post


async def _checked(response: httpx.Response) -> None:
    await response.aread()
    check_invariants(response)


@dataclasses.dataclass
class RegisteredClient:
    client_id: str
    client_secret: str | None
    redirect_uri: str

    @property
    def basic(self) -> tuple[str, str]:
        assert self.client_secret is not None
        return (self.client_id, self.client_secret)


class Browser:
    """A browser with a cookie jar that walks the OP's pages by hand (no auto-redirects)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

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

    async def login_page(self, **params: str) -> httpx.Response:
        page = await self.follow(await self.authorize(**params))
        assert 'name="password"' in page.text, page.text
        return page

    async def sign_in(
        self, username: str = "alice", password: str = PASSWORD, **params: str
    ) -> httpx.Response:
        """Authorize, log in, approve consent when asked: the OP's last answer."""
        response = await self.authorize(**params)
        if response.headers.get("location", "").startswith("/interaction/"):
            response = await self.follow(response)
            if 'name="password"' in response.text:
                response = await self.submit(response, {"username": username, "password": password})
            if response.status_code == 200 and 'name="decision"' in response.text:
                response = await self.submit(response, button="approve")
        return response

    async def callback(self, username: str = "alice", **params: str) -> dict[str, str]:
        return callback(await self.sign_in(username, **params))


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


def is_page(response: httpx.Response, status: int = 400) -> bool:
    """SECURITY.md's PAGE outcome: an HTML error page, no Location."""
    return (
        response.status_code == status
        and response.headers.get("content-type", "").startswith("text/html")
        and "location" not in response.headers
    )


def redirect_error(response: httpx.Response) -> dict[str, str]:
    """The parameters of REDIRECT(err) to the RP (query, fragment or form_post)."""
    params = callback(response)
    assert "error" in params, params
    assert params.get("iss") == TEST_ISSUER  # G8
    assert not {"code", "access_token", "id_token"} & params.keys()
    return params


def pkce_pair(verifier: str = "v" * 43) -> tuple[str, str]:
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def code_request(client: RegisteredClient, **extra: str) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "scope": "openid",
        **extra,
    }


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


async def register(provider: Provider, **metadata: Any) -> RegisteredClient:
    doc = {
        "redirect_uris": [f"{RP}/cb", f"{RP}/cb2", f"{RP}/cbq?a=1"],
        "response_types": [*ALL_TYPES, "none"],
        "grant_types": ["authorization_code", "implicit", "refresh_token"],
        "client_name": "Test RP",
        **metadata,
    }
    created = await provider.registration.register_trusted(doc)
    return RegisteredClient(
        created.client.client_id, created.client_secret, next(iter(doc["redirect_uris"]), "")
    )


async def exchange(
    http: httpx.AsyncClient, client: RegisteredClient, code: str, **extra: str
) -> httpx.Response:
    return await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            **extra,
        },
        auth=client.basic if client.client_secret else None,
    )


@pytest.fixture
async def op(provider: Provider) -> Provider:
    await provider.accounts.add("alice", PASSWORD, {"name": "Alice", "email": "a@example.com"})
    await provider.accounts.add("bob", PASSWORD, {"name": "Bob"})
    return provider


@pytest.fixture
async def http(op: Provider) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(op)) as client:
        client.event_hooks["response"].append(_checked)
        yield client


@pytest.fixture
async def second_http(op: Provider) -> AsyncIterator[httpx.AsyncClient]:
    """Another user agent (its own cookie jar) on the same OP."""
    async with asgi_client(create_app(op)) as client:
        client.event_hooks["response"].append(_checked)
        yield client


@pytest.fixture
async def open_http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The OP with open Dynamic Client Registration (`registration = "open"`)."""
    # Attack tests send hundreds of documents from one IP: the limit (DCR-11) stays on, raised.
    provider = await open_test_provider(
        database_url, registration="open", registration_rate_limit=10_000
    )
    try:
        async with asgi_client(create_app(provider)) as client:
            client.event_hooks["response"].append(_checked)
            yield client
    finally:
        await provider.close()


@pytest.fixture
def browser(http: httpx.AsyncClient) -> Browser:
    return Browser(http)


@pytest.fixture
async def c1(op: Provider) -> RegisteredClient:
    return await register(op, client_name="C1")


@pytest.fixture
async def c2(op: Provider) -> RegisteredClient:
    return await register(op, client_name="C2")


@pytest.fixture
async def p1(op: Provider) -> RegisteredClient:
    return await register(
        op,
        client_name="P1",
        token_endpoint_auth_method="none",
        response_types=["code"],
        grant_types=["authorization_code", "refresh_token"],
    )
