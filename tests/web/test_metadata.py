"""Discovery, JWKS, health and the generic HTTP answers, in-process over httpx."""

from __future__ import annotations

import httpx
import pytest
from jwcrypto import jwk as independent_jwk  # an independent JOSE implementation

from idgate.testing import TEST_ISSUER, asgi_client
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


@pytest.fixture
async def client(provider):  # type: ignore[no-untyped-def]
    async with asgi_client(create_app(provider)) as http:
        yield http


async def test_discovery_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["issuer"] == TEST_ISSUER
    assert doc["jwks_uri"] == f"{TEST_ISSUER}/jwks"
    assert doc["subject_types_supported"] == ["public", "pairwise"]
    assert doc["userinfo_endpoint"] == f"{TEST_ISSUER}/userinfo"
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "response_types_supported" in doc


async def test_jwks_publishes_public_keys_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/jwks")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys, "a signing key is made on first start"
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key)
        assert key["use"] == "sig"
        # kid is the RFC 7638 thumbprint, computed here by another library.
        parsed = independent_jwk.JWK(**key)
        assert not parsed.has_private
        assert key["kid"] == parsed.thumbprint()


async def test_jwks_follows_rotation(provider, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    before = {k["kid"] for k in (await client.get("/jwks")).json()["keys"]}
    result = await provider.keys.rotate("RS256")
    after = {k["kid"] for k in (await client.get("/jwks")).json()["keys"]}
    # The retired key stays published; the new current and the next key appear.
    assert result.retired in before
    assert {result.retired, result.activated, result.next} <= after


async def test_unknown_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "not_found"


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/.well-known/openid-configuration")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert "GET" in response.headers["allow"]


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


@pytest.mark.postgres
async def test_readiness_turns_red_when_the_database_goes_away(
    postgres_template: str, postgres_server_url: str
) -> None:
    """A real fault: the database is dropped under a running provider."""
    import uuid

    from idgate.testing import open_test_provider, postgres_database_url, run_admin_sql

    name = f"idgate_gone_{uuid.uuid4().hex[:10]}"
    await run_admin_sql(
        postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'
    )
    provider = await open_test_provider(postgres_database_url(postgres_server_url, name))
    try:
        async with asgi_client(create_app(provider)) as client:
            assert (await client.get("/readyz")).status_code == 200
            await run_admin_sql(postgres_server_url, f'DROP DATABASE "{name}" WITH (FORCE)')
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.headers["retry-after"]
            assert response.json()["status"] == "unavailable"
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await provider.close()
        await run_admin_sql(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/openid-configuration")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.postgres
async def test_authorization_pages_say_when_the_database_is_down(
    postgres_template: str, postgres_server_url: str
) -> None:
    import uuid

    from idgate.testing import open_test_provider, postgres_database_url, run_admin_sql

    name = f"idgate_down_{uuid.uuid4().hex[:10]}"
    await run_admin_sql(
        postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'
    )
    provider = await open_test_provider(postgres_database_url(postgres_server_url, name))
    try:
        async with asgi_client(create_app(provider)) as client:
            await run_admin_sql(postgres_server_url, f'DROP DATABASE "{name}" WITH (FORCE)')
            page = await client.get("/authorize?client_id=x&redirect_uri=https://rp.example/cb")
            assert page.status_code == 503
            assert page.headers["retry-after"]
            assert page.headers["content-type"].startswith("text/html")
            assert "unavailable" in page.text
            token = await client.post(
                "/token", data={"grant_type": "client_credentials"}, auth=("some-client", "secret")
            )
            assert token.status_code == 503
            assert token.json()["error"] == "temporarily_unavailable"
            assert token.headers["retry-after"]
    finally:
        await provider.close()
        await run_admin_sql(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
