"""CORS for browser-based clients on the endpoints they call, and nowhere else."""

from __future__ import annotations

import httpx
import pytest

from idgate.testing import asgi_client
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio
ORIGIN = {"Origin": "https://spa.example"}


@pytest.fixture
async def client(provider):  # type: ignore[no-untyped-def]
    async with asgi_client(create_app(provider)) as http:
        yield http


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/jwks", "/token", "/revoke"]
)
async def test_preflight_and_responses_allow_any_origin(
    client: httpx.AsyncClient, path: str
) -> None:
    preflight = await client.options(
        path,
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    response = await (
        client.get(path, headers=ORIGIN)
        if "." in path or path == "/jwks"
        else client.post(path, headers=ORIGIN, data={})
    )
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/authorize", "/introspect", "/register", "/interaction/x"])
async def test_no_cors_where_cookies_or_servers_are_involved(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.options(
        path, headers={**ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers
