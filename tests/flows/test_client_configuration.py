"""The client configuration endpoint: read, update, delete (RFC 7592 §2; SECURITY.md DCR-10)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from flows_support import PASSWORD, RP, OPBrowser  # type: ignore[import-not-found]

from idgate.crypto.random import secret_hash
from idgate.provider import Provider
from idgate.testing import TEST_ISSUER, asgi_client, open_test_provider
from idgate.web.app import create_app

pytestmark = pytest.mark.anyio

CLIENT = {
    "redirect_uris": [f"{RP}/cb"],
    "response_types": ["code"],
    "grant_types": ["authorization_code", "refresh_token"],
    "client_name": "Managed RP",
    "contacts": ["ops@rp.example"],
}


@pytest.fixture
async def managed_op(database_url: str) -> AsyncIterator[tuple[Provider, httpx.AsyncClient]]:
    provider = await open_test_provider(database_url, registration="open")
    await provider.accounts.add("alice", PASSWORD)
    try:
        async with asgi_client(create_app(provider)) as http:
            yield provider, http
    finally:
        await provider.close()


async def _register(http: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    response = await http.post("/register", json={**CLIENT, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _path(body: dict[str, Any]) -> str:
    uri: str = body["registration_client_uri"]
    assert uri.startswith(TEST_ISSUER)
    return uri.removeprefix(TEST_ISSUER)


async def test_create_read_update_delete(managed_op) -> None:  # type: ignore[no-untyped-def]
    provider, http = managed_op
    created = await _register(http)
    token = created["registration_access_token"]
    assert len(token) >= 43
    assert created["registration_client_uri"] == (f"{TEST_ISSUER}/register/{created['client_id']}")
    # Only the hash of the registration access token is stored.
    stored = await provider.storage.registration_access_tokens.hash_for(created["client_id"])
    assert stored == secret_hash(token)

    read = await http.get(_path(created), headers=_auth(token))
    assert read.status_code == 200, read.text
    assert read.headers["cache-control"] == "no-store"
    shown = read.json()
    assert shown["client_id"] == created["client_id"]
    assert shown["client_name"] == "Managed RP"
    assert shown["contacts"] == ["ops@rp.example"]
    assert shown["registration_access_token"] == token
    assert "client_secret" not in shown  # shown once, at registration

    update = {
        **CLIENT,
        "client_id": created["client_id"],
        "client_secret": created["client_secret"],
        "client_name": "Renamed RP",
        "redirect_uris": [f"{RP}/cb2"],
        "first_party": True,  # a client cannot grant itself this, not even by update
    }
    updated = await http.put(_path(created), json=update, headers=_auth(token))
    assert updated.status_code == 200, updated.text
    assert updated.json()["client_name"] == "Renamed RP"
    assert updated.json()["redirect_uris"] == [f"{RP}/cb2"]
    # Omitted members are gone: the update replaces the whole document (RFC 7592 §2.2).
    no_contacts = {k: v for k, v in update.items() if k != "contacts"}
    replaced = await http.put(_path(created), json=no_contacts, headers=_auth(token))
    assert "contacts" not in replaced.json()
    client = await provider.clients.get(created["client_id"])
    assert client is not None
    assert client.metadata.client_name == "Renamed RP"
    assert client.metadata.first_party is False
    # The old redirect_uri no longer works, the new one does.
    browser = OPBrowser(http)
    old = await browser.authorize(
        client_id=created["client_id"], redirect_uri=f"{RP}/cb", response_type="code"
    )
    assert old.status_code == 400
    assert "location" not in old.headers

    deleted = await http.delete(_path(created), headers=_auth(token))
    assert deleted.status_code == 204
    assert await provider.clients.get(created["client_id"]) is None
    again = await http.get(_path(created), headers=_auth(token))
    assert again.status_code == 401


async def test_a_deleted_client_is_dead_everywhere(managed_op) -> None:  # type: ignore[no-untyped-def]
    _provider, http = managed_op
    created = await _register(http)
    client_id, secret = created["client_id"], created["client_secret"]
    browser = OPBrowser(http)
    params = await browser.sign_in(
        client_id=client_id,
        redirect_uri=f"{RP}/cb",
        response_type="code",
        scope="openid offline_access",
        prompt="consent",
    )
    tokens = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": f"{RP}/cb",
        },
        auth=(client_id, secret),
    )
    assert tokens.status_code == 200, tokens.text
    access, refresh = tokens.json()["access_token"], tokens.json()["refresh_token"]
    assert (await http.get("/userinfo", headers=_auth(access))).status_code == 200

    assert (
        await http.delete(_path(created), headers=_auth(created["registration_access_token"]))
    ).status_code == 204

    page = await browser.authorize(
        client_id=client_id, redirect_uri=f"{RP}/cb", response_type="code"
    )
    assert page.status_code == 400
    assert "location" not in page.headers
    assert (await http.get("/userinfo", headers=_auth(access))).status_code == 401
    refreshed = await http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(client_id, secret),
    )
    assert refreshed.status_code == 401
    assert refreshed.json()["error"] == "invalid_client"


async def test_wrong_or_missing_tokens_reveal_nothing(managed_op) -> None:  # type: ignore[no-untyped-def]
    _provider, http = managed_op
    one = await _register(http)
    two = await _register(http)
    cases = [
        (one, {}),
        (one, _auth("not-the-token")),
        (one, _auth(two["registration_access_token"])),  # C2's token on C1
        (
            {"registration_client_uri": f"{TEST_ISSUER}/register/nope"},
            _auth(one["registration_access_token"]),
        ),
        ({"registration_client_uri": f"{TEST_ISSUER}/register/{'x' * 300}"}, _auth("t")),
    ]
    for target, headers in cases:
        for method in ("GET", "PUT", "DELETE"):
            kwargs: dict[str, Any] = {"headers": headers}
            if method == "PUT":
                kwargs["json"] = {**CLIENT, "client_id": one["client_id"]}
            response = await http.request(method, _path(target), **kwargs)
            assert response.status_code == 401, (method, response.text)
            assert response.json()["error"] == "invalid_token"
            assert response.headers["www-authenticate"].startswith("Bearer")
    # Nothing changed, nothing was deleted.
    read = await http.get(_path(one), headers=_auth(one["registration_access_token"]))
    assert read.json()["client_name"] == "Managed RP"


async def test_update_rules(managed_op) -> None:  # type: ignore[no-untyped-def]
    _provider, http = managed_op
    created = await _register(http)
    path, headers = _path(created), _auth(created["registration_access_token"])
    base = {**CLIENT, "client_id": created["client_id"]}

    async def put(doc: dict[str, Any]) -> httpx.Response:
        return await http.put(path, json=doc, headers=headers)

    # client_id must be present and equal (RFC 7592 §2.2): it can never be changed.
    missing = await put(CLIENT)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_client_metadata"
    other = await put({**base, "client_id": "another"})
    assert other.status_code == 400
    wrong_secret = await put({**base, "client_secret": "guess"})
    assert wrong_secret.status_code == 400
    bad_uri = await put({**base, "redirect_uris": ["https://rp.example/cb#x"]})
    assert bad_uri.status_code == 400
    assert bad_uri.json()["error"] == "invalid_redirect_uri"
    # Server-assigned members are ignored, not applied.
    ignored = await put({**base, "client_id_issued_at": 1, "registration_access_token": "mine"})
    assert ignored.status_code == 200
    assert ignored.json()["client_id_issued_at"] == created["client_id_issued_at"]
    assert ignored.json()["registration_access_token"] == created["registration_access_token"]
    # A public client cannot turn confidential by update: no secret was ever issued to it.
    public = await _register(http, token_endpoint_auth_method="none")
    confidential = await http.put(
        _path(public),
        json={**CLIENT, "client_id": public["client_id"]},
        headers=_auth(public["registration_access_token"]),
    )
    assert confidential.status_code == 400
    assert confidential.json()["error"] == "invalid_client_metadata"
    not_json = await http.put(
        path, content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


async def test_configuration_endpoint_off_with_registration(http) -> None:  # type: ignore[no-untyped-def]
    response = await http.get("/register/abc", headers=_auth("t"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
