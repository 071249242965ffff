"""Dynamic Client Registration, create only (RFC 7591 §3; OIDC Registration 1.0 §3)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from flows_support import PASSWORD, RP, OPBrowser, verify_id_token  # type: ignore[import-not-found]

from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio


async def _serve(
    database_url: str, policy: str
) -> AsyncIterator[tuple[Provider, httpx.AsyncClient]]:
    provider = await open_test_provider(database_url, registration=policy)
    await provider.accounts.add("alice", PASSWORD)
    try:
        async with asgi_client(create_app(provider)) as http:
            yield provider, http
    finally:
        await provider.close()


@pytest.fixture
async def open_op(database_url: str) -> AsyncIterator[tuple[Provider, httpx.AsyncClient]]:
    async for pair in _serve(database_url, "open"):
        yield pair


@pytest.fixture
async def token_op(database_url: str) -> AsyncIterator[tuple[Provider, httpx.AsyncClient]]:
    async for pair in _serve(database_url, "token"):
        yield pair


HYBRID_CLIENT = {
    "redirect_uris": [f"{RP}/cb"],
    "response_types": ["code id_token"],
    "grant_types": ["authorization_code", "implicit"],
    "client_name": "Registered RP",
    "id_token_signed_response_alg": "RS256",
    "post_logout_redirect_uris": [f"{RP}/bye"],
}


async def test_register_and_use_the_client(open_op) -> None:  # type: ignore[no-untyped-def]
    _provider, http = open_op
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["registration_endpoint"] == f"{TEST_ISSUER}/register"
    response = await http.post("/register", json={**HYBRID_CLIENT, "unknown_field": 1})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_id"]
    assert len(body["client_secret"]) >= 43
    assert body["client_secret_expires_at"] == 0
    assert isinstance(body["client_id_issued_at"], int)
    assert body["redirect_uris"] == [f"{RP}/cb"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert "unknown_field" not in body

    # The registered client can run the hybrid flow right away.
    browser = OPBrowser(http)
    params = await browser.sign_in(
        client_id=body["client_id"],
        redirect_uri=f"{RP}/cb",
        response_type="code id_token",
        scope="openid",
        nonce="n",
    )
    claims = await verify_id_token(http, params["id_token"], body["client_id"])
    assert claims["nonce"] == "n"


async def test_a_client_cannot_make_itself_first_party(open_op) -> None:  # type: ignore[no-untyped-def]
    provider, http = open_op
    response = await http.post(
        "/register", json={**HYBRID_CLIENT, "first_party": True, "client_id": "chosen"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["client_id"] != "chosen"
    stored = await provider.clients.get(body["client_id"])
    assert stored.metadata.first_party is False


async def test_public_client_gets_no_secret(open_op) -> None:  # type: ignore[no-untyped-def]
    _provider, http = open_op
    response = await http.post(
        "/register", json={"redirect_uris": [f"{RP}/cb"], "token_endpoint_auth_method": "none"}
    )
    assert response.status_code == 201
    assert "client_secret" not in response.json()


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"redirect_uris": ["https://rp.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["not a uri"]}, "invalid_redirect_uri"),
        ({"response_types": ["code"]}, "invalid_redirect_uri"),
        (
            {"redirect_uris": ["http://rp.example/cb"], "response_types": ["id_token"]},
            "invalid_redirect_uri",
        ),
        ({"redirect_uris": [f"{RP}/cb"], "response_types": ["token"]}, "invalid_client_metadata"),
        (
            {
                "redirect_uris": [f"{RP}/cb"],
                "response_types": ["code id_token"],
                "grant_types": ["authorization_code"],
            },
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": [f"{RP}/cb"], "token_endpoint_auth_method": "magic"},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": [f"{RP}/cb"], "id_token_signed_response_alg": "none"},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": [f"{RP}/cb"], "id_token_signed_response_alg": "ES256"},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": [f"{RP}/cb"], "userinfo_signed_response_alg": "ES256"},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": [f"{RP}/cb"], "token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
        ),
        ({"redirect_uris": "https://rp.example/cb"}, "invalid_client_metadata"),
    ],
)
async def test_invalid_metadata(open_op, document, error) -> None:  # type: ignore[no-untyped-def]
    _provider, http = open_op
    response = await http.post("/register", json=document)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.headers["content-type"] == "application/json"


async def test_bad_bodies(open_op) -> None:  # type: ignore[no-untyped-def]
    _provider, http = open_op
    not_json = await http.post(
        "/register", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.json()["error"] == "invalid_client_metadata"
    array = await http.post("/register", json=[1])
    assert array.json()["error"] == "invalid_client_metadata"
    form = await http.post("/register", data={"redirect_uris": "x"})
    assert form.status_code == 400
    huge = await http.post("/register", json={**HYBRID_CLIENT, "padding": "x" * 100_000})
    assert huge.status_code == 400


async def test_token_policy_needs_an_initial_access_token(token_op) -> None:  # type: ignore[no-untyped-def]
    provider, http = token_op
    anonymous = await http.post("/register", json=HYBRID_CLIENT)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    wrong = await http.post(
        "/register", json=HYBRID_CLIENT, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    token = await provider.registration.issue_initial_access_token()
    ok = await http.post(
        "/register", json=HYBRID_CLIENT, headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.status_code == 201


async def test_registration_off(http) -> None:  # type: ignore[no-untyped-def]
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert "registration_endpoint" not in doc
    response = await http.post("/register", json=HYBRID_CLIENT)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
